"""Names, paths and small files of the workspace: safe names, sensitive and ignored paths, the run's JSON
record, the repository's exclude file, listings and truncation for messages."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .. import files

MAX_LISTED = 5


def sanitize(name: str) -> str:
    """A name safe as one path component and one ref component."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "_"
    s = s.replace("..", "_")
    return s[:-5] + "_lock" if s.endswith(".lock") else s


def is_sensitive(path: str, patterns: Sequence[str]) -> bool:
    """True when the file name (or the whole path) matches a sensitive pattern, case-insensitively."""
    p = path.lower()
    name = p.rsplit("/", 1)[-1]
    for pat in patterns:
        pat = pat.lower()
        if fnmatch.fnmatchcase(name, pat) or ("/" in pat and fnmatch.fnmatchcase(p, pat)):
            return True
    return False


def under(path: str, prefixes: Iterable[str]) -> bool:
    """True when `path` equals a prefix or lies below one ending in '/'."""
    return any(path == pre.rstrip("/") or (pre.endswith("/") and path.startswith(pre)) for pre in prefixes)


def inside(path: Path, root: Path) -> str | None:
    """`path` relative to `root` with a trailing '/', or None when it lies outside."""
    try:
        rel = path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None
    return rel.rstrip("/") + "/" if rel not in ("", ".") else None


def listing(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:MAX_LISTED])
    return shown + (f" (+{len(paths) - MAX_LISTED} more)" if len(paths) > MAX_LISTED else "")


def truncate(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= max_bytes:
        return text
    cut = data[:max_bytes].decode("utf-8", "ignore")
    return cut + f"\n[diff truncated: {max_bytes} of {len(data)} bytes shown]\n"


def add_exclude(common_dir: Path, pattern: str) -> None:
    """Add `pattern` to .git/info/exclude once (the user's .gitignore is left alone)."""
    f = common_dir / "info" / "exclude"
    text = f.read_text(encoding="utf-8") if f.is_file() else ""
    if pattern in text.splitlines():
        return
    f.parent.mkdir(parents=True, exist_ok=True)
    sep = "" if not text or text.endswith("\n") else "\n"
    f.write_text(f"{text}{sep}# claude-orchestrator task worktrees\n{pattern}\n", encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`, or {} when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace a metadata file atomically (keys sorted)."""
    files.write_json(path, data, sort_keys=True, fsync=False)
