"""Task ids: "N" names a task, "P.S" a subtask. The one ordering and the one parser for the CLIs and the library."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..errors import InputError

_ID_RE = re.compile(r"^\s*(\d+)\s*(?:\.\s*(\d+)\s*)?$")

IdKey = tuple[tuple[int, int, str], ...]


def id_key(uid: str) -> IdKey:
    """Sort key: "3" < "3.1" < "3.10" < "10"; a part that is not a number sorts after numbers, by its text."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in str(uid).split("."))


def split_id(text: str | int) -> tuple[int, int | None] | None:
    """ "3" -> (3, None), "3.1" -> (3, 1) (blanks around the parts allowed); None when it is not an id."""
    m = _ID_RE.match(str(text))
    if m is None:
        return None
    return int(m.group(1)), (int(m.group(2)) if m.group(2) is not None else None)


def parse_ids(text: str | Sequence[str] | None) -> list[str]:
    """ "1, 2.1" or ["1", "2.1"] -> ["1", "2.1"]: comma-separated ids, blanks dropped, not checked."""
    if text is None:
        return []
    parts = text.split(",") if isinstance(text, str) else [p for x in text for p in str(x).split(",")]
    return [p.strip() for p in parts if p.strip()]


def parse_task_ids(text: str | Sequence[str] | None) -> list[int]:
    """ "1,2, 3" -> [1, 2, 3]: top-level task ids only; anything else is bad input (InputError)."""
    out = []
    for part in parse_ids(text):
        if not part.isdigit():
            raise InputError(f"'{part}' is not a task id")
        out.append(int(part))
    return out
