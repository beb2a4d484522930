"""The environment of every command we start: the caller's minus every name that looks like a secret."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

# A name is secret-looking when it holds one of these words (case-insensitive) ...
_SECRET_WORDS = re.compile(
    r"API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SESSION_?KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL"
    r"|WEBHOOK|COOKIE|CONNECTION_?STRING|DATABASE_URL|_PWD$|(^|_)(AUTH|DSN|PAT|KEY)(_|$)",
    re.IGNORECASE,
)
# ... or starts with the prefix of a model or cloud provider whose variables carry credentials.
_SECRET_PREFIXES = ("ANTHROPIC_", "OPENAI_", "AWS_", "AZURE_", "GOOGLE_", "GCP_", "CLOUDSDK_", "SLACK_")
# Names that match the above but that commands legitimately need and that hold no secret.
ALLOWED_ENV = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION", "SSH_AUTH_SOCK", "TOKENIZERS_PARALLELISM"})


def is_secret_name(name: str) -> bool:
    """True when an environment variable of this name must not reach a command we start."""
    if name in ALLOWED_ENV:
        return False
    return name.upper().startswith(_SECRET_PREFIXES) or bool(_SECRET_WORDS.search(name))


def scrubbed_env(
    base: Mapping[str, str] | None = None,
    *,
    extra: Mapping[str, str] | None = None,
    path_prepend: Sequence[Path | str] = (),
) -> dict[str, str]:
    """`base` (default os.environ) minus secret-looking names, plus `extra` (trusted settings of ours),
    with `path_prepend` in front of PATH."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not is_secret_name(k)}
    if extra:
        env.update(extra)
    if path_prepend:
        env["PATH"] = os.pathsep.join([*(str(p) for p in path_prepend), env.get("PATH", "")])
    return env
