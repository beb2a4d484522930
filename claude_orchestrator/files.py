"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The text goes to a temporary file beside the target (same directory, so the rename stays on one file
system), is fsynced unless the caller says it does not matter, and is renamed over the target with
``os.replace``. An existing file keeps its permission bits; a new one gets the umask default, as with
``open()``. There is no locking here: a caller that shares a file with other writers (TaskStore and
tasks.json) holds its own lock around the write.
"""

from __future__ import annotations

import json
import os
import secrets
from contextlib import suppress
from pathlib import Path
from typing import Any


def write_text(path: Path | str, text: str, *, fsync: bool = True) -> None:
    """Replace ``path`` with ``text`` (UTF-8) atomically; the parent folder is created if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        with suppress(FileNotFoundError):
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(
    path: Path | str, data: Any, *, indent: int | None = 2, sort_keys: bool = False, fsync: bool = True
) -> None:
    """Replace ``path`` with ``data`` as JSON (non-ASCII kept as is, a final newline) atomically."""
    text = json.dumps(data, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n"
    write_text(path, text, fsync=fsync)


def create_text(path: Path | str, text: str) -> bool:
    """Write ``path`` atomically unless it already exists; True when written."""
    path = Path(path)
    if path.exists():
        return False
    write_text(path, text)
    return True
