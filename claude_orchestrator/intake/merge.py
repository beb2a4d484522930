"""Merge a batch into a tag, idempotently: an item is matched to the task it created before by
`metadata.source` (type, origin, id); titles, bodies and dependencies follow the source, new items become
new tasks, nothing is duplicated, and the status of work already done is never reset."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ..errors import SourceError
from ..taskmaster.graph import TaskGraph
from ..taskmaster.model import Subtask, TagData, Task
from .items import SourceBatch, SourceItem

Key = tuple[str, str, str]


@dataclass
class MergeReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # imported before, no longer in the source (kept)
    notices: list[str] = field(default_factory=list)
    task_ids: dict[str, str] = field(default_factory=dict)  # item key -> task id ("3" or "3.2")

    def summary(self) -> str:
        parts = [
            f"{len(self.created)} new",
            f"{len(self.updated)} updated",
            f"{len(self.unchanged)} unchanged",
        ]
        if self.stale:
            parts.append(f"{len(self.stale)} no longer in the source (kept)")
        return ", ".join(parts)


def source_key(extra: dict[str, Any]) -> Key | None:
    md = extra.get("metadata")
    src = md.get("source") if isinstance(md, dict) else None
    if isinstance(src, dict) and all(isinstance(src.get(k), str) for k in ("type", "origin", "id")):
        return (src["type"], src["origin"], src["id"])
    return None


def _status(item: SourceItem, current: str | None) -> str:
    if current is None:
        return "done" if item.done else "pending"
    if item.done and current not in ("done", "cancelled"):
        return "done"  # finished upstream
    return current  # local progress (done, in-progress, review...) is never reset


def _source_meta(batch: SourceBatch, item: SourceItem) -> dict[str, Any]:
    src: dict[str, Any] = {"type": batch.kind, "origin": batch.origin, "id": item.key}
    if item.path and item.path != batch.origin:
        src["path"] = item.path
    src.update(item.meta)
    return src


def _apply_fields(obj: Task | Subtask, item: SourceItem, src: dict[str, Any]) -> None:
    obj.title = item.title
    obj.description = item.description or item.title
    obj.details = item.details
    if item.test_strategy:
        obj.test_strategy = item.test_strategy
    if item.priority:
        obj.priority = item.priority
    md = obj.extra.get("metadata")
    md = dict(md) if isinstance(md, dict) else {}
    md["source"] = src
    obj.extra["metadata"] = md
    for name, value in (("acceptanceCriteria", item.acceptance), ("relevantFiles", item.files)):
        if value:
            obj.extra[name] = list(value)
        else:
            obj.extra.pop(name, None)


class _Merger:
    def __init__(self, tag: TagData, batch: SourceBatch) -> None:
        self.tag, self.batch, self.report = tag, batch, MergeReport()
        self.mine: dict[str, Task] = {}  # this origin's tasks by item key
        for t in tag.tasks:
            k = source_key(t.extra)
            if k and k[0] == batch.kind and k[1] == batch.origin:
                self.mine[k[2]] = t
        self.keys: dict[str, Task] = {}  # item key -> task, for this batch and earlier imports of it
        self.subs: dict[str, Subtask] = {}  # child key -> subtask
        self.own_ids = {t.id for t in self.mine.values()}

    def run(self) -> MergeReport:
        before = {t.id: copy.deepcopy(t.to_json()) for t in self.mine.values()}
        placed: list[tuple[SourceItem, Task]] = []
        for item in self.batch.items:
            task = self.mine.get(item.key)
            if task is None:
                task = Task(self.tag.next_id(), item.title, item.description or item.title)
                task.status = _status(item, None)
                self.tag.tasks.append(task)
                self.report.created.append(task.uid)
            self.keys[item.key] = task
            self.report.task_ids[item.key] = task.uid
            placed.append((item, task))
        for key, task in self.mine.items():
            self.keys.setdefault(key, task)
        self.own_ids |= {t.id for _, t in placed}
        for item, task in placed:
            _apply_fields(task, item, _source_meta(self.batch, item))
            task.status = _status(item, task.status) if task.uid not in self.report.created else task.status
            self._children(item, task)
        for item, task in placed:  # every task and subtask exists now: dependencies can name any of them
            task.dependencies = self._deps(item, task)
            self._child_deps(item, task)
        for _, task in placed:
            if task.uid in self.report.created:
                continue
            changed = before.get(task.id) != task.to_json()
            (self.report.updated if changed else self.report.unchanged).append(task.uid)
        seen = {i.key for i in self.batch.items}
        self.report.stale = [t.uid for k, t in self.mine.items() if k not in seen]
        self.report.notices = [*self.batch.notices, *self.report.notices]
        return self.report

    def _target(self, item: SourceItem, dep: str) -> Task | Subtask | None:
        target: Task | Subtask | None = self.keys.get(dep) or self.subs.get(dep)
        if target is None:
            if self.batch.strict_deps:
                raise SourceError(
                    item.path or self.batch.origin,
                    f"depends on {dep!r}, which is not in {self.batch.origin}",
                    item.line,
                )
            self.report.notices.append(f"{item.key}: dependency {dep} is not imported; left out")
        return target

    def _deps(self, item: SourceItem, task: Task) -> list[int | str]:
        kept = [d for d in task.dependencies if int(str(d).split(".")[0]) not in self.own_ids]
        ours: list[int | str] = []
        for dep in item.depends_on:
            target = self._target(item, dep)
            if (
                target is None
                or target is task
                or (isinstance(target, Subtask) and target.parent_id == task.id)
            ):
                continue
            ref: int | str = target.id if isinstance(target, Task) else target.uid
            if ref not in ours:
                ours.append(ref)
        return [*kept, *sorted(ours, key=lambda d: tuple(int(x) for x in str(d).split(".")))]

    def _children(self, item: SourceItem, task: Task) -> None:
        existing: dict[str, Subtask] = {}
        for s in task.subtasks:
            k = source_key(s.extra)
            if k and k[0] == self.batch.kind and k[1] == self.batch.origin:
                existing[k[2]] = s
        for child in item.children:
            sub = existing.get(child.key)
            if sub is None:
                sid = max((s.id for s in task.subtasks), default=0) + 1
                sub = Subtask(sid, task.id, child.title, status=_status(child, None))
                task.subtasks.append(sub)
            else:
                sub.status = _status(child, sub.status)
            _apply_fields(sub, child, _source_meta(self.batch, child))
            self.subs[child.key] = sub
            self.report.task_ids[child.key] = sub.uid

    def _child_deps(self, item: SourceItem, task: Task) -> None:
        for child in item.children:
            sub = self.subs[child.key]
            deps = [d for d in sub.dependencies if not _is_ours(d, task, self.own_ids)]
            for dep in child.depends_on:
                target = None if dep == item.key else self._target(child, dep)
                if target is None or target is sub or target is task:
                    continue
                deps.append(target.id if isinstance(target, Task) else target.uid)
            sub.dependencies = list(dict.fromkeys(deps))


def _is_ours(dep: int | str, task: Task, own: set[int]) -> bool:
    """A dependency an import of this origin wrote (and rewrites): on its tasks, or a sibling."""
    return int(str(dep).split(".")[0]) in own or str(dep).startswith(f"{task.id}.")


def merge_batch(tag: TagData, batch: SourceBatch) -> MergeReport:
    """Apply `batch` to `tag` in place; a cycle or an unknown dependency raises before anything is saved."""
    report = _Merger(tag, batch).run()
    TaskGraph(tag).check()
    return report
