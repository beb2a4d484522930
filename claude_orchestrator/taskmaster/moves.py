"""Moving tasks and subtasks (Task Master's move_task, add_subtask with taskId, remove_subtask with
convert). Pure functions on TagData; the caller saves under the lock. Every dependency on a moved unit
follows it to its new id, so the graph stays valid; an id that is taken is refused, never duplicated."""

from __future__ import annotations

from ..errors import DependencyError, InputError, NotFoundError
from .graph import dep_key
from .ids import parse_ids, split_id
from .model import Dep, Document, Subtask, TagData, Task


def _retarget(data: TagData, old: str, new: Dep) -> None:
    """Every dependency on unit `old` now points at `new`."""
    for t in data.tasks:
        t.dependencies = [new if dep_key(d) == old else d for d in t.dependencies]
        for s in t.subtasks:
            s.dependencies = [new if dep_key(d) == old else d for d in s.dependencies]


def _task(data: TagData, text: str) -> Task:
    unit = data.find(text)
    if not isinstance(unit, Task):
        raise InputError(f"{text} is a subtask, not a task")
    return unit


def _split(uid: str) -> tuple[int, int]:
    parsed = split_id(uid)
    if parsed is None or parsed[1] is None:
        raise InputError(f"'{uid}' is not a subtask id (expected P.S)")
    return parsed[0], parsed[1]


def _as_subtask(task: Task, parent: Task, sid: int) -> Subtask:
    if task.subtasks:
        raise InputError(f"task {task.id} has subtasks of its own; a subtask cannot have subtasks")
    if parent.subtask(sid) is not None:
        raise InputError(f"subtask {parent.id}.{sid} already exists; choose a free id")
    deps = [d for d in task.dependencies if dep_key(d) != str(parent.id)]
    return Subtask(
        sid, parent.id, task.title, task.description, task.status, deps, task.details, task.test_strategy,
        task.priority, {**task.extra, "parentTaskId": parent.id},
    )  # fmt: skip


def _as_task(sub: Subtask, new_id: int, priority: str) -> Task:
    extra = {k: v for k, v in sub.extra.items() if k not in ("parentTaskId", "parentId")}
    return Task(
        new_id, sub.title, sub.description or sub.title, sub.status, sub.priority or priority,
        list(sub.dependencies), sub.details, sub.test_strategy, [], extra,
    )  # fmt: skip


def task_into_parent(data: TagData, task_id: str, parent_id: str, sid: int | None = None) -> Subtask:
    """Turn task `task_id` into a subtask of `parent_id` (add_subtask with taskId)."""
    task, parent = _task(data, task_id), _task(data, parent_id)
    if task.id == parent.id:
        raise InputError(f"task {task.id} cannot become a subtask of itself")
    if any(dep_key(d) == str(task.id) for d in parent.dependencies):
        raise DependencyError(f"task {parent.id} depends on task {task.id}; it cannot become its subtask")
    sub = _as_subtask(task, parent, sid or max((s.id for s in parent.subtasks), default=0) + 1)
    data.tasks.remove(task)
    parent.subtasks.append(sub)
    parent.subtasks.sort(key=lambda s: s.id)
    _retarget(data, str(task.id), sub.uid)
    return sub


def subtask_to_new_task(data: TagData, uid: str, new_id: int | None = None) -> Task:
    """Turn subtask `uid` into a task (remove_subtask with convert; it depends on its old parent)."""
    pid, _ = _split(uid)
    sub = data.find(uid)
    parent = _task(data, str(pid))
    assert isinstance(sub, Subtask)
    tid = new_id if new_id is not None else data.next_id()
    if data.task(tid) is not None:
        raise InputError(f"task {tid} already exists; choose a free id")
    task = _as_task(sub, tid, parent.priority)
    if new_id is None and all(dep_key(d) != str(pid) for d in task.dependencies):
        task.dependencies.append(pid)
    parent.subtasks.remove(sub)
    data.tasks.append(task)
    _retarget(data, uid, tid)
    return task


def _move_subtask(data: TagData, src: str, dst: str) -> Subtask:
    (sp, _), (dp, ds) = _split(src), _split(dst)
    sub = data.find(src)
    assert isinstance(sub, Subtask)
    source, target = _task(data, str(sp)), _task(data, str(dp))
    if sp == dp:  # reorder within the parent: place it after `dst` (or last)
        source.subtasks.remove(sub)
        idx = next((i for i, s in enumerate(source.subtasks) if s.id == ds), len(source.subtasks) - 1)
        source.subtasks.insert(idx + 1, sub)
        return sub
    if target.subtask(ds) is not None:
        raise InputError(f"subtask {dst} already exists; choose a free id")
    source.subtasks.remove(sub)
    sub.id, sub.parent_id = ds, dp
    if "parentTaskId" in sub.extra:
        sub.extra["parentTaskId"] = dp
    target.subtasks.append(sub)
    target.subtasks.sort(key=lambda s: s.id)
    _retarget(data, src, sub.uid)
    return sub


def _renumber_task(data: TagData, src: str, dst: str) -> Task:
    task = _task(data, src)
    if not dst.strip().isdigit():
        raise InputError(f"'{dst}' is not a task id")
    new_id = int(dst)
    if data.task(new_id) is not None:
        raise InputError(f"task {new_id} already exists; use a different destination id")
    old = task.id
    for s in task.subtasks:
        _retarget(data, f"{old}.{s.id}", f"{new_id}.{s.id}")
        s.parent_id = new_id
    _retarget(data, str(old), new_id)
    task.id = new_id
    data.tasks.remove(task)
    data.tasks.append(task)
    return task


def move(data: TagData, src: str, dst: str) -> Task | Subtask:
    """One move within a tag: task to a free task id, task to a free subtask slot, subtask to another
    parent (or a new position), subtask to a free task id."""
    s_sub, d_sub = "." in src, "." in dst
    if s_sub and d_sub:
        return _move_subtask(data, src, dst)
    if s_sub:
        return subtask_to_new_task(data, src, int(dst) if dst.strip().isdigit() else _bad(dst))
    if d_sub:
        pid, sid = _split(dst)
        return task_into_parent(data, src, str(pid), sid)
    return _renumber_task(data, src, dst)


def _bad(dst: str) -> int:
    raise InputError(f"'{dst}' is not a task id")


def move_many(data: TagData, sources: str, targets: str) -> list[Task | Subtask]:
    src, dst = parse_ids(sources), parse_ids(targets)
    if len(src) != len(dst):
        raise InputError(
            f"{len(src)} source id(s) but {len(dst)} destination id(s): give one destination each"
        )
    return [move(data, a, b) for a, b in zip(src, dst, strict=True)]


def move_across(
    doc: Document, ids: str, from_tag: str, to_tag: str, *, with_deps: bool, ignore_deps: bool
) -> list[int]:
    """Move top-level tasks (with their subtasks) to another tag. A dependency between a moved task and one
    that stays is a conflict: with_deps moves the dependencies along, ignore_deps drops those links."""
    if from_tag == to_tag:
        raise InputError(f'source and target tags are the same ("{from_tag}"); use `to` to move within a tag')
    if from_tag not in doc.tags:
        raise NotFoundError(f"tag '{from_tag}' does not exist")
    source = doc.tags[from_tag]
    target = doc.tags.setdefault(to_tag, TagData(name=to_tag))
    moving = {_task(source, i).id for i in parse_ids(ids)}
    if with_deps:
        todo = list(moving)
        while todo:
            t = source.task(todo.pop())
            for d in t.dependencies if t else []:
                dep = int(dep_key(d).split(".")[0])
                if dep not in moving:
                    moving.add(dep)
                    todo.append(dep)
    conflicts = [
        (t.id, dep_key(d))
        for t in source.tasks
        for d in t.dependencies
        if (t.id in moving) != (int(dep_key(d).split(".")[0]) in moving)
    ]
    if conflicts and not ignore_deps:
        shown = ", ".join(f"{a} -> {b}" for a, b in conflicts[:10])
        raise DependencyError(
            f"cannot move: {len(conflicts)} cross-tag dependency conflict(s) ({shown}); pass withDependencies "
            "to move them along or ignoreDependencies to drop those links"
        )
    for tid, link in conflicts:
        owner = source.task(tid)
        assert owner is not None
        owner.dependencies = [d for d in owner.dependencies if dep_key(d) != link]
    taken = sorted(i for i in moving if target.task(i) is not None)
    if taken:
        raise InputError(f"task(s) {', '.join(map(str, taken))} already exist in tag '{to_tag}'")
    moved = [t for t in source.tasks if t.id in moving]
    source.tasks = [t for t in source.tasks if t.id not in moving]
    target.tasks.extend(moved)
    return sorted(moving)
