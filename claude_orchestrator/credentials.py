"""Which credential reaches Claude: one rule for the model client, `check`, the demo and Claude Code workers.

The first that applies wins:

1. ``ANTHROPIC_API_KEY``;
2. ``ANTHROPIC_AUTH_TOKEN`` (a bearer token, e.g. for a gateway);
3. Amazon Bedrock, when ``CLAUDE_CODE_USE_BEDROCK`` is on (AWS credentials as the AWS SDK finds them);
4. Google Vertex AI, when ``CLAUDE_CODE_USE_VERTEX`` is on (Google application-default credentials).

A flag is on when it reads ``1``, ``true`` or ``yes`` (any case). A template placeholder such as
``your_api_key_here`` (:func:`claude_orchestrator.config.is_placeholder`) counts as unset. Claude Code
workers can also run on a subscription login (``claude login``, or ``CLAUDE_CODE_OAUTH_TOKEN``):
:func:`claude_code_logged_in`. This module reports which variable decides, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .config import is_placeholder
from .process import is_secret_name

API_KEY_VAR = "ANTHROPIC_API_KEY"
AUTH_TOKEN_VAR = "ANTHROPIC_AUTH_TOKEN"
KEY_VARS = (API_KEY_VAR, AUTH_TOKEN_VAR)
BEDROCK_VAR = "CLAUDE_CODE_USE_BEDROCK"
VERTEX_VAR = "CLAUDE_CODE_USE_VERTEX"
OAUTH_TOKEN_VAR = "CLAUDE_CODE_OAUTH_TOKEN"  # Claude Code's subscription token (`claude setup-token`)
TRUTHY = ("1", "true", "yes")

_KINDS = {API_KEY_VAR: "api_key", AUTH_TOKEN_VAR: "auth_token", BEDROCK_VAR: "bedrock", VERTEX_VAR: "vertex"}
_PROVIDERS = {BEDROCK_VAR: "Amazon Bedrock", VERTEX_VAR: "Google Vertex AI"}
# What the Claude Code CLI needs besides ANTHROPIC_* and CLAUDE_CODE_*: the provider's own credentials.
_PROVIDER_PREFIXES = {BEDROCK_VAR: ("AWS_",), VERTEX_VAR: ("GOOGLE_", "GCLOUD_", "CLOUDSDK_", "GCP_")}


def flag_on(value: str | None) -> bool:
    """True for ``1``, ``true`` and ``yes`` in any case (surrounding blanks ignored)."""
    return (value or "").strip().lower() in TRUTHY


def usable(value: str | None) -> bool:
    """A value that is set and is not a template placeholder."""
    return bool(value) and not is_placeholder(value or "")


@dataclass(frozen=True)
class Credentials:
    """Which credential source applies; `source` names a variable, never its value."""

    source: str | None  # ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, CLAUDE_CODE_USE_BEDROCK or _VERTEX
    base_url: str | None

    @property
    def available(self) -> bool:
        return self.source is not None

    @property
    def kind(self) -> str | None:
        """api_key, auth_token, bedrock, vertex, or None."""
        return _KINDS.get(self.source or "")

    def describe(self) -> str:
        """One line for people: which source, never a value."""
        if self.source is None:
            return "no Anthropic credentials"
        if self.source in _PROVIDERS:
            return f"{_PROVIDERS[self.source]} ({self.source} is on)"
        return f"{self.source} is set"


def detect_credentials(env: Mapping[str, str] | None = None) -> Credentials:
    """The credential source the rule picks in `env` (default os.environ)."""
    env = os.environ if env is None else env
    source = next((v for v in KEY_VARS if usable(env.get(v))), None)
    if source is None:
        source = next((v for v in (BEDROCK_VAR, VERTEX_VAR) if flag_on(env.get(v))), None)
    return Credentials(source=source, base_url=env.get("ANTHROPIC_BASE_URL") or None)


def claude_code_logged_in(env: Mapping[str, str] | None = None) -> bool:
    """True when Claude Code has a subscription login (its credentials file, account record or token)."""
    env = os.environ if env is None else env
    if usable(env.get(OAUTH_TOKEN_VAR)):
        return True
    home = Path(env.get("HOME") or Path.home())
    custom = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else None
    config_dir = custom or home / ".claude"
    if (config_dir / ".credentials.json").is_file():
        return True
    account = (custom or home) / ".claude.json"  # CLAUDE_CONFIG_DIR holds it too, when set
    try:
        return account.is_file() and '"oauthAccount"' in account.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def claude_code_env(env: Mapping[str, str]) -> dict[str, str]:
    """Overrides for the environment of a Claude Code CLI whose full environment would be `env` (the SDK
    merges overrides over os.environ, so a variable is removed by blanking it).

    The CLI keeps what it needs for the source :func:`detect_credentials` picks in `env` (ANTHROPIC_*,
    CLAUDE_CODE_*, and the provider's AWS_* or Google variables); every other secret-looking variable
    (:func:`claude_orchestrator.process.is_secret_name`) is blanked, so the commands the CLI runs never see
    it. Placeholder keys are blanked, and the provider flags say exactly what the rule decided."""
    creds = detect_credentials(env)
    keep = ("ANTHROPIC_", "CLAUDE_CODE_", *_PROVIDER_PREFIXES.get(creds.source or "", ()))
    out: dict[str, str] = {}
    for name, value in env.items():
        if name == "ANTHROPIC_BASE_URL":
            out[name] = value
        elif name in (*KEY_VARS, OAUTH_TOKEN_VAR):
            out[name] = value if usable(value) else ""  # a placeholder must never be sent as a credential
        elif is_secret_name(name) and not name.startswith(keep):
            out[name] = ""
    for flag in _PROVIDERS:
        if flag == creds.source:
            out[flag] = "1"
        elif flag in env:
            out[flag] = ""  # a key won, or a value the rule does not read as on: the CLI must agree
    return out
