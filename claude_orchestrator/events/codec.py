"""How an event's data fields go to and from JSON: their order, which are written even when None, and a
tolerant reader per field. A value of the declared type is kept as written, so a line read back writes the
same bytes; anything else is converted, or gives the field's default."""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any, Final, Union, get_args, get_origin, get_type_hints

KEEP_NULL: Final = {"keep_null": True}  # field metadata: written even when None
COMMON: Final = frozenset({"run_id", "task_id", "ts", "extra", "_wire"})  # not data fields
_NONE = type(None)


@dataclass(frozen=True)
class FieldCodec:
    """One event class's data fields."""

    names: tuple[str, ...]  # in declaration order, which is the order they are written in
    keep_null: frozenset[str]
    sequences: frozenset[str]  # Sequence[str] fields: stored as tuples
    read: dict[str, Callable[[Any], Any]]


_CODECS: dict[type, FieldCodec] = {}


def codec_of(cls: type) -> FieldCodec:
    c = _CODECS.get(cls)
    if c is None:
        hints = get_type_hints(cls)
        data = [f for f in fields(cls) if f.name not in COMMON]
        c = _CODECS[cls] = FieldCodec(
            names=tuple(f.name for f in data),
            keep_null=frozenset(f.name for f in data if f.metadata.get("keep_null")),
            sequences=frozenset(f.name for f in data if any(map(_is_seq, _members(hints[f.name])))),
            read={f.name: _reader(hints[f.name], f.default) for f in data},
        )
    return c


def _members(hint: Any) -> tuple[Any, ...]:
    return get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)


def _is_seq(t: Any) -> bool:
    return get_origin(t) is Sequence


def _matches(v: Any, t: Any) -> bool:
    if t is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if _is_seq(t):
        return isinstance(v, (list, tuple))
    return t is Any or isinstance(v, t)


def _convert(v: Any, t: Any) -> Any:
    if _is_seq(t):
        return tuple(
            x if isinstance(x, str) else str(x) for x in (v if isinstance(v, (list, tuple)) else [v])
        )
    if t is int:
        return int(float(v))
    return t(v)  # float, str, bool


def _reader(hint: Any, default: Any) -> Callable[[Any], Any]:
    members = _members(hint)
    kinds = [t for t in members if t is not _NONE]
    nullable = _NONE in members
    fallback = None if default is MISSING else default

    def read(v: Any) -> Any:
        if v is None:
            return None if nullable else fallback
        for t in kinds:
            if _matches(v, t):
                return _convert(v, t) if _is_seq(t) else v
        try:
            return _convert(v, kinds[0])
        except (TypeError, ValueError, OverflowError):
            return fallback

    return read
