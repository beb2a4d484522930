"""What this machine offers: the Claude Code CLI, credentials (presence only, never values), git."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .config import is_placeholder

CREDENTIAL_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


def find_claude_cli() -> Path | None:
    """The Claude Code CLI bundled with claude-agent-sdk, else `claude` on PATH."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "_bundled" / "claude"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return bundled
    found = shutil.which("claude")
    return Path(found) if found else None


def claude_cli_version(cli: Path, timeout: float = 20) -> str | None:
    try:
        out = subprocess.run(
            [str(cli), "--version"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@dataclass(frozen=True)
class Credentials:
    """Which credential source is configured; `source` names a variable, never its value."""

    source: str | None
    base_url: str | None

    @property
    def available(self) -> bool:
        return self.source is not None


def detect_credentials(env: dict[str, str] | None = None) -> Credentials:
    env = dict(os.environ) if env is None else env
    source = None
    for var in CREDENTIAL_VARS:
        value = env.get(var, "")
        if value and not is_placeholder(value):
            source = var
            break
    if source is None and env.get("CLAUDE_CODE_USE_BEDROCK") == "1":
        source = "CLAUDE_CODE_USE_BEDROCK"
    if source is None and env.get("CLAUDE_CODE_USE_VERTEX") == "1":
        source = "CLAUDE_CODE_USE_VERTEX"
    base_url = env.get("ANTHROPIC_BASE_URL") or None
    return Credentials(source=source, base_url=base_url)


def claude_code_logged_in(env: dict[str, str] | None = None) -> bool:
    """True when Claude Code has a subscription login (its credentials file or account record)."""
    env = dict(os.environ) if env is None else env
    home = Path(env.get("HOME") or Path.home())
    config_dir = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else home / ".claude"
    if (config_dir / ".credentials.json").is_file():
        return True
    account = home / ".claude.json"
    try:
        return account.is_file() and '"oauthAccount"' in account.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def git_toplevel(path: Path) -> Path | None:
    if shutil.which("git") is None:
        return None
    out = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    return Path(out.stdout.strip()) if out.returncode == 0 else None
