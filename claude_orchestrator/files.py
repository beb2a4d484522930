"""Atomic file writes: a reader sees the old file or the new one, never half of one; and JSON input read
without surprises (`loads_json`).

The text goes to a temporary file beside the target (same directory, so the rename stays on one file
system), is fsynced unless the caller says it does not matter, and is renamed over the target with
``os.replace``. An existing file keeps its permission bits; a new one gets the umask default, as with
``open()``. There is no locking here: a caller that shares a file with other writers (TaskStore and
tasks.json) holds its own lock around the write.
"""

from __future__ import annotations

import json
import os
import re
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


class BadJSON(ValueError):
    """JSON text that decodes but cannot be used: nested too deeply, or holding a lone surrogate."""


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in `text`, written as an escape (a printable ``\\ud800``), or None."""
    m = _SURROGATE.search(text)
    return None if m is None else f"\\u{ord(m.group()):04x}"


def loads_json(text: str) -> Any:
    """json.loads, refusing what would fail later with a traceback: nesting deeper than Python decodes
    (BadJSON, not RecursionError) and lone surrogates, which are not Unicode text and can be neither
    written nor printed (BadJSON naming where). Malformed text raises json.JSONDecodeError as usual."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise BadJSON("nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text):  # a lone surrogate can only come from a \\uD8xx-\\uDFxx escape
        found = _find_surrogate(data)
        if found is not None:
            where, escape = found
            raise BadJSON(f"{where} holds a lone surrogate ({escape}), which is not Unicode text")
    return data


def _find_surrogate(data: Any) -> tuple[str, str] | None:
    """(where, the escape) of the first string or key holding a lone surrogate; iterative (any depth)."""
    todo: list[tuple[str, Any]] = [("the top level", data)]
    while todo:
        where, item = todo.pop()
        if isinstance(item, str):
            bad = lone_surrogate(item)
            if bad:
                return where, bad
        elif isinstance(item, dict):
            for k, v in item.items():
                key = json.dumps(k)  # ASCII: printable even when k holds a surrogate
                bad = lone_surrogate(k)
                if bad:
                    return f"the key {key}", bad
                todo.append((f"the value of {key}", v))
        elif isinstance(item, list):
            todo.extend((where, v) for v in item)
    return None
