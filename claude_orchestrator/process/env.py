"""The environment of every command we start: the caller's minus every name that looks like a secret."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
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


_marks = threading.local()


@contextlib.contextmanager
def marked(extra: Mapping[str, str]) -> Iterator[None]:
    """Every environment `scrubbed_env` makes in this thread carries `extra` too, while the block runs (a Ray
    node's attempts share one process: each marks its own commands so they can be found and killed)."""
    old = getattr(_marks, "env", {})
    _marks.env = {**old, **extra}
    try:
        yield
    finally:
        _marks.env = old


def scrubbed_env(
    base: Mapping[str, str] | None = None,
    *,
    extra: Mapping[str, str] | None = None,
    path_prepend: Sequence[Path | str] = (),
) -> dict[str, str]:
    """`base` (default os.environ) minus secret-looking names, plus `extra` (trusted settings of ours),
    with `path_prepend` in front of PATH, and this thread's marks (`marked`)."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not is_secret_name(k)}
    env.update(getattr(_marks, "env", {}))
    if extra:
        env.update(extra)
    if path_prepend:
        env["PATH"] = os.pathsep.join([*(str(p) for p in path_prepend), env.get("PATH", "")])
    return env
