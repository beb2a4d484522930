"""The strict, minimal writer of tasks.json.

Strict: nothing task-master-ai 0.43.1 could not read is written (check_writable). Minimal: after
`Document.freeze()` (TaskStore.edit does it), a unit whose JSON did not change is written back exactly as it
was read, and a changed one keeps its key order, its id type (`"1"` stays `"1"`), the form of the
dependencies it already had (a bare sibling id stays bare) and the keys the reader set aside (such as
`parentId: "undefined"`). Tags the command did not touch, the untagged form and unknown top-level keys are
kept; `build_document() == doc.raw` means there is nothing to write.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import TaskFileError
from .model import DEFAULT_TAG, PRIORITIES, STATUSES, Document, Subtask, TagData, Task

_MISSING = object()


def check_writable(doc: Document, path: object = "tasks.json") -> None:
    """Refuse to write what task-master-ai 0.43.1 could not read."""
    for tag in doc.tags.values():
        ids: set[int] = set()
        for t in tag.tasks:
            where = f"tag '{tag.name}': task {t.id}"
            if t.id in ids:
                raise TaskFileError(path, f"tag '{tag.name}': duplicate task id {t.id}")
            ids.add(t.id)
            if not t.title.strip():
                raise TaskFileError(path, f"{where}: title must not be empty")
            if t.status not in STATUSES or t.priority not in PRIORITIES:
                raise TaskFileError(path, f"{where}: bad status {t.status!r} or priority {t.priority!r}")
            for s in t.subtasks:
                if s.status not in STATUSES:
                    raise TaskFileError(path, f"{where}: subtask {s.uid}: bad status {s.status!r}")


def _same_form_deps(raw: Any, base: Any, cur: list[Any]) -> list[Any]:
    """`cur` with every dependency that was already there written as it was read."""
    if not (isinstance(raw, list) and isinstance(base, list) and len(raw) == len(base)):
        return cur
    as_read = {str(b): r for r, b in zip(raw, base, strict=True)}
    return [as_read.get(str(d), d) for d in cur]


def _merge(
    raw: dict[str, Any],
    base: dict[str, Any],
    cur: dict[str, Any],
    special: dict[str, Callable[[], Any]],
) -> dict[str, Any]:
    """`raw` with the fields that changed between `base` and `cur` replaced, in raw's key order."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        now = cur.get(key, _MISSING)
        if now is _MISSING:
            if key not in base:  # set aside by the reader: keep it
                out[key] = value
            continue  # removed
        if base.get(key, _MISSING) == now:
            out[key] = value
        elif key in special:
            out[key] = special[key]()
        elif key == "id" and isinstance(value, str):
            out[key] = str(now)
        elif key == "dependencies":
            out[key] = _same_form_deps(value, base.get(key), now)
        else:
            out[key] = now
    for key, now in cur.items():
        if (
            key not in raw and base.get(key, _MISSING) != now
        ):  # new, or a default the reader filled in changed
            out[key] = special[key]() if key in special else now
    return out


def subtask_json(s: Subtask) -> dict[str, Any]:
    cur = s.to_json()
    if s.raw is None or s.base is None or s.base_parent != s.parent_id:
        return cur  # new, or under another parent now: its bare sibling ids would name other subtasks
    if cur == s.base:
        return s.raw
    return _merge(s.raw, s.base, cur, {})


def task_json(t: Task) -> dict[str, Any]:
    cur = t.to_json()
    if t.raw is None or t.base is None:
        return {**cur, "subtasks": [subtask_json(s) for s in t.subtasks]}
    if cur == t.base:
        return t.raw
    return _merge(t.raw, t.base, cur, {"subtasks": lambda: [subtask_json(s) for s in t.subtasks]})


def tasks_changed(tag: TagData) -> bool:
    """Did the tag's tasks change since Document.freeze()? (Always True for a tag not read from a file.)"""
    raw_tasks = tag.raw.get("tasks") if tag.raw is not None else None
    if not isinstance(raw_tasks, list) or len(raw_tasks) != len(tag.tasks):
        return True
    return any(
        t.raw is not r or t.base is None or t.to_json() != t.base
        for t, r in zip(tag.tasks, raw_tasks, strict=True)
    )


def tag_json(tag: TagData) -> dict[str, Any]:
    tasks = [task_json(t) for t in tag.tasks]
    if tag.raw is None:
        return {"tasks": tasks, "metadata": tag.metadata, **tag.extra}
    raw_tasks = tag.raw.get("tasks")
    unchanged = isinstance(raw_tasks, list) and len(raw_tasks) == len(tasks)
    unchanged = unchanged and all(a is b for a, b in zip(tasks, raw_tasks or [], strict=False))
    meta_same = tag.base_metadata is not None and tag.metadata == tag.base_metadata
    if unchanged and meta_same and all(tag.raw.get(k, _MISSING) == v for k, v in tag.extra.items()):
        return tag.raw
    out: dict[str, Any] = {}
    for key in tag.raw:
        if key == "tasks":
            out[key] = tasks
        elif key == "metadata":
            out[key] = tag.metadata
        elif key in tag.extra:
            out[key] = tag.extra[key]
    out.setdefault("tasks", tasks)
    if tag.metadata or tag.raw.get("metadata") is not None:
        out.setdefault("metadata", tag.metadata)
    for key, value in tag.extra.items():
        out.setdefault(key, value)
    return out


def build_document(doc: Document) -> dict[str, Any]:
    """The JSON object to write: untagged when it was read so and still holds only 'master'."""
    if not doc.tagged and list(doc.tags) == [DEFAULT_TAG] and not doc.extra:
        return tag_json(doc.tags[DEFAULT_TAG])
    out: dict[str, Any] = {name: tag_json(tag) for name, tag in doc.tags.items()}
    for key, value in doc.extra.items():
        out.setdefault(key, value)
    return out


def dump_document(doc: Document, path: object = "tasks.json") -> str:
    """2-space JSON, no trailing newline (as task-master writes it)."""
    check_writable(doc, path)
    return json.dumps(build_document(doc), indent=2, ensure_ascii=False)
