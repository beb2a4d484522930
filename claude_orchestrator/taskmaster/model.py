"""Task Master data model: a tolerant reader and a strict writer for tasks.json.

Reads what task-master-ai (old JS code and new TS core) writes: tagged or untagged files, int or numeric-string
ids, dependencies as int, numeric string or "P.S", unknown keys at every level (kept verbatim and written
back), ``parentId: "undefined"`` and either tag metadata shape. Writes what task-master-ai 0.43.1 reads:
int ids, non-empty title and description, a priority, one of the 7 statuses, 2-space JSON, tagged format.
"""

from __future__ import annotations

import copy
import gc
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import NotFoundError, TaskFileError
from ..files import BadJSON, loads_json
from .ids import split_id

STATUSES = ("pending", "in-progress", "done", "review", "deferred", "cancelled", "blocked")
PRIORITIES = ("low", "medium", "high", "critical")
PRIORITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}
# statuses the reader maps to one of the 7 (the old JS code treats "completed" like "done")
STATUS_ALIASES = {"completed": "done"}
DEFAULT_TAG = "master"

_INT_RE = re.compile(r"^\s*\d+\s*$")
_SUB_RE = re.compile(r"^\s*(\d+)\s*\.\s*(\d+)\s*$")

_TASK_KEYS = ("id", "title", "description", "status", "priority", "dependencies", "details", "testStrategy")
_SUB_KEYS = (*_TASK_KEYS, "parentId")

Dep = int | str


@dataclass(slots=True)
class Subtask:
    id: int
    parent_id: int
    title: str
    description: str = ""
    status: str = "pending"
    dependencies: list[Dep] = field(default_factory=list)
    details: str = ""
    test_strategy: str = ""
    priority: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # the object read from the file, and this unit's to_json() when an edit began (see writer.py)
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    base: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    base_parent: int | None = field(default=None, repr=False, compare=False)  # a bare dep's meaning

    @property
    def uid(self) -> str:
        return f"{self.parent_id}.{self.id}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "status": self.status,
            "dependencies": list(self.dependencies),
            "details": self.details,
            "testStrategy": self.test_strategy,
        }
        if self.priority is not None:
            out["priority"] = self.priority
        out.update(self.extra)
        return out


@dataclass(slots=True)
class Task:
    id: int
    title: str
    description: str
    status: str = "pending"
    priority: str = "medium"
    dependencies: list[Dep] = field(default_factory=list)
    details: str = ""
    test_strategy: str = ""
    subtasks: list[Subtask] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    base: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def uid(self) -> str:
        return str(self.id)

    def subtask(self, sub_id: int) -> Subtask | None:
        for s in self.subtasks:
            if s.id == sub_id:
                return s
        return None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "description": self.description or self.title,
            "status": self.status,
            "priority": self.priority,
            "dependencies": list(self.dependencies),
            "details": self.details,
            "testStrategy": self.test_strategy,
            "subtasks": [s.to_json() for s in self.subtasks],
        }
        out.update(self.extra)
        return out


@dataclass(slots=True)
class TagData:
    name: str
    tasks: list[Task] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    base_metadata: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def task(self, task_id: int) -> Task | None:
        for t in self.tasks:
            if t.id == task_id:
                return t
        return None

    def find(self, id_str: str | int) -> Task | Subtask:
        """The task "N" or subtask "P.S"; NotFoundError names the id and the tag."""
        text = str(id_str).strip()
        parsed = split_id(text)
        if parsed is None:
            raise NotFoundError(f"'{text}' is not a task id (expected N or P.S)")
        task_id, sub_id = parsed
        if sub_id is not None:
            parent = self.task(task_id)
            sub = parent.subtask(sub_id) if parent else None
            if sub is None:
                raise NotFoundError(f"subtask {text} not found in tag '{self.name}'")
            return sub
        task = self.task(task_id)
        if task is None:
            raise NotFoundError(f"task {text} not found in tag '{self.name}'")
        return task

    def next_id(self) -> int:
        return max((t.id for t in self.tasks), default=0) + 1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tasks": [t.to_json() for t in self.tasks], "metadata": self.metadata}
        out.update(self.extra)
        return out


@dataclass(slots=True)
class Document:
    """A whole tasks.json: its tags in file order, plus unknown top-level entries."""

    tags: dict[str, TagData] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    tagged: bool = True
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def freeze(self) -> None:
        """Remember every unit's JSON as it is now, so the writer changes only what changes after this."""
        for tag in self.tags.values():
            tag.base_metadata = copy.deepcopy(tag.metadata)
            for t in tag.tasks:
                t.base = t.to_json()
                for s in t.subtasks:
                    s.base, s.base_parent = s.to_json(), s.parent_id

    def tag(self, name: str) -> TagData:
        """The named tag, or a new empty one (not added to the document)."""
        return self.tags.get(name) or TagData(name=name)


# ---------------------------------------------------------------- reading


_STATUS_SET = frozenset(STATUSES)
_PRIORITY_SET = frozenset(PRIORITIES)
_SUB_KEY_SET = frozenset(_SUB_KEYS)
_TASK_KEY_SET = frozenset((*_TASK_KEYS, "subtasks"))


class _Reader:
    """Fast paths for well-formed values; the `where` text is only built when something is wrong."""

    def __init__(self, path: object) -> None:
        self.path = path

    def fail(self, where: Any, problem: str) -> TaskFileError:
        return TaskFileError(self.path, f"{where() if callable(where) else where}: {problem}")

    def int_id(self, value: Any, where: Any) -> int:
        if type(value) is int and value >= 0:
            return value
        if isinstance(value, float) and value.is_integer() and value >= 0:
            return int(value)
        if isinstance(value, str) and _INT_RE.match(value):
            return int(value)
        raise self.fail(where, f"id {value!r} is not a number")

    def text(self, obj: dict[str, Any], key: str, where: Any) -> str:
        value = obj.get(key)
        if type(value) is str:
            return value
        if value is None:
            return ""
        raise self.fail(where, f"{key} must be a string, not {type(value).__name__}")

    def status(self, obj: dict[str, Any], where: Any) -> str:
        value = obj.get("status")
        if type(value) is str and value in _STATUS_SET:
            return str(value)
        if not value:
            return "pending"
        if isinstance(value, str):
            value = STATUS_ALIASES.get(value.strip(), value.strip())
            if value in _STATUS_SET:
                return value
        raise self.fail(where, f"unknown status {value!r} (expected one of {', '.join(STATUSES)})")

    def priority(self, obj: dict[str, Any], where: Any, default: str | None) -> str | None:
        value = obj.get("priority")
        if type(value) is str and value in _PRIORITY_SET:
            return str(value)
        if value is None or value == "":
            return default
        raise self.fail(where, f"unknown priority {value!r} (expected one of {', '.join(PRIORITIES)})")

    def raw_deps(self, obj: dict[str, Any], where: Any) -> list[Any]:
        deps = obj.get("dependencies")
        if not deps:
            if deps is None or deps == []:
                return []
            raise self.fail(where, "dependencies must be a list")
        if type(deps) is not list:
            raise self.fail(where, "dependencies must be a list")
        for d in deps:
            if type(d) is int or (
                isinstance(d, str) and ((d.isascii() and d.isdigit()) or _INT_RE.match(d) or _SUB_RE.match(d))
            ):
                continue
            raise self.fail(where, f"dependency {d!r} is not a task id (N or P.S)")
        return list(deps)

    def subtask(self, obj: Any, parent: int, where: Any) -> Subtask:
        if type(obj) is not dict:
            raise self.fail(where, "a subtask must be an object")
        sid = self.int_id(obj.get("id"), where)

        def here() -> str:
            return f"{where() if callable(where) else where} (subtask {parent}.{sid})"

        extra = {k: v for k, v in obj.items() if k not in _SUB_KEY_SET}
        pid = obj.get("parentId")
        if pid is not None and pid != "undefined":
            extra["parentId"] = pid
        return Subtask(
            sid,
            parent,
            self.text(obj, "title", here),
            self.text(obj, "description", here),
            self.status(obj, here),
            self.raw_deps(obj, here),  # resolved once all ids are known
            self.text(obj, "details", here),
            self.text(obj, "testStrategy", here),
            self.priority(obj, here, None),
            extra,
            raw=obj,
        )

    def task(self, obj: Any, tag: str, index: int) -> Task:
        if type(obj) is not dict:
            raise self.fail(f"tag '{tag}': task #{index + 1}", "a task must be an object")
        tid = self.int_id(obj.get("id"), f"tag '{tag}': task #{index + 1}")

        def where() -> str:
            return f"tag '{tag}': task {tid}"

        subs_raw = obj.get("subtasks") or []
        if type(subs_raw) is not list:
            raise self.fail(where, "subtasks must be a list")
        subs = [self.subtask(s, tid, where) for s in subs_raw]
        if len(subs) > 1 and len({s.id for s in subs}) != len(subs):
            seen: set[int] = set()
            for s in subs:
                if s.id in seen:
                    raise self.fail(where, f"duplicate subtask id {tid}.{s.id}")
                seen.add(s.id)
        deps = [_norm_task_dep(d) for d in self.raw_deps(obj, where)]
        return Task(
            tid,
            self.text(obj, "title", where),
            self.text(obj, "description", where),
            self.status(obj, where),
            self.priority(obj, where, "medium") or "medium",
            deps,
            self.text(obj, "details", where),
            self.text(obj, "testStrategy", where),
            subs,
            {k: v for k, v in obj.items() if k not in _TASK_KEY_SET},
            raw=obj,
        )

    def tag(self, name: str, obj: dict[str, Any]) -> TagData:
        tasks_raw = obj.get("tasks")
        if not isinstance(tasks_raw, list):
            raise self.fail(f"tag '{name}'", f"tasks must be a list, not {type(tasks_raw).__name__}")
        meta = obj.get("metadata")
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise self.fail(f"tag '{name}'", "metadata must be an object")
        tasks = [self.task(t, name, i) for i, t in enumerate(tasks_raw)]
        ids: set[int] = set()
        for t in tasks:
            if t.id in ids:
                raise self.fail(f"tag '{name}'", f"duplicate task id {t.id}")
            ids.add(t.id)
        for t in tasks:
            sibs = {x.id for x in t.subtasks}
            for s in t.subtasks:
                if s.dependencies:
                    s.dependencies = [_norm_sub_dep(d, t.id, sibs, ids) for d in s.dependencies]
        extra = {k: v for k, v in obj.items() if k not in ("tasks", "metadata")}
        return TagData(name=name, tasks=tasks, metadata=dict(meta), extra=extra, raw=obj)


def _norm_task_dep(d: Any) -> Dep:
    if isinstance(d, int):
        return d
    m = _SUB_RE.match(d)
    return f"{m.group(1)}.{m.group(2)}" if m else int(d)


def _norm_sub_dep(d: Any, parent: int, siblings: set[int], task_ids: set[int]) -> Dep:
    """A bare id in a subtask's deps means a sibling (as `next` reads it), or a top-level task when no
    such sibling exists but that task does."""
    if isinstance(d, str) and _SUB_RE.match(d):
        return _norm_task_dep(d)
    n = int(d)
    if n not in siblings and n in task_ids:
        return n
    return f"{parent}.{n}"


def is_tagged(data: dict[str, Any]) -> bool:
    return any(isinstance(v, dict) and "tasks" in v for v in data.values())


def parse_document(data: Any, path: object = "tasks.json") -> Document:
    """Build a Document from decoded JSON; any problem raises TaskFileError naming the file."""
    r = _Reader(path)
    if not isinstance(data, dict):
        raise TaskFileError(path, f"expected a JSON object at the top level, not {type(data).__name__}")
    if is_tagged(data):
        doc = Document(tagged=True, raw=data)
        for key, value in data.items():
            if isinstance(value, dict) and "tasks" in value:
                doc.tags[key] = r.tag(key, value)
            else:
                doc.extra[key] = value
        return doc
    if "tasks" in data:
        doc = Document(tagged=False, raw=data)
        rest = {k: v for k, v in data.items() if k not in ("tasks", "metadata")}
        tag = r.tag(DEFAULT_TAG, {"tasks": data["tasks"], "metadata": data.get("metadata")})
        tag.extra, tag.raw = rest, data
        doc.tags[DEFAULT_TAG] = tag
        return doc
    if not data:
        return Document()
    raise TaskFileError(path, 'no tasks found: expected {"<tag>": {"tasks": [...]}} or {"tasks": [...]}')


def loads_document(text: str, path: object = "tasks.json") -> Document:
    if not text.strip():
        return Document()
    enabled = gc.isenabled()
    gc.disable()  # many small objects, no cycles: collection passes only cost time here
    try:
        try:
            data = loads_json(text)
        except json.JSONDecodeError as e:
            raise TaskFileError(
                path, f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}"
            ) from None
        except BadJSON as e:
            raise TaskFileError(path, f"unusable JSON: {e}") from None
        return parse_document(data, path)
    finally:
        if enabled:
            gc.enable()
