"""Changes to one tag's tasks, as task-master's non-AI commands make them. Pure functions on TagData;
the caller saves through TaskStore.edit()."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import DependencyError, InputError, NotFoundError
from .graph import TaskGraph, dep_key
from .ids import id_key, parse_ids
from .model import PRIORITIES, STATUSES, Dep, Subtask, TagData, Task


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise InputError(f"invalid status '{status}' (expected one of {', '.join(STATUSES)})")
    return status


def check_priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise InputError(f"invalid priority '{priority}' (expected one of {', '.join(PRIORITIES)})")
    return priority


def parent_status_from_subtasks(task: Task) -> str:
    """How task-master's set-status recomputes a parent after a subtask changes."""
    subs = [s.status or "pending" for s in task.subtasks]
    if not subs:
        return task.status
    if all(s == "done" for s in subs):
        return "done"
    if any(s in ("in-progress", "done") for s in subs):
        return "in-progress"
    if all(s == "pending" for s in subs):
        return "pending"
    return task.status


def set_status(tag_data: TagData, ids: Sequence[str], status: str) -> list[str]:
    """Set each task/subtask's status; a subtask's parent follows its subtasks. Returns the ids changed.
    Every id is checked before anything changes."""
    check_status(status)
    units = [tag_data.find(i) for i in parse_ids(ids)]
    before: dict[str, tuple[Task | Subtask, str]] = {}
    for unit in units:
        before.setdefault(unit.uid, (unit, unit.status))
        unit.status = status
        if isinstance(unit, Subtask):
            parent = tag_data.task(unit.parent_id)
            assert parent is not None
            before.setdefault(parent.uid, (parent, parent.status))
            parent.status = parent_status_from_subtasks(parent)
    changed = [uid for uid, (unit, old) in before.items() if unit.status != old]
    asked = {u.uid for u in units}
    return [u for u in changed if u in asked] + [u for u in changed if u not in asked]


def _resolve_dep(tag_data: TagData, ref: str | int, owner: str) -> Dep:
    """A dependency reference as stored: int for a task, "P.S" for a subtask (which must exist)."""
    text = str(ref).strip()
    try:
        unit = tag_data.find(text)
    except NotFoundError as e:
        raise DependencyError(f"{owner} cannot depend on {text}: {e}", problems=[str(e)]) from None
    if unit.uid == owner:
        raise DependencyError(f"{owner} cannot depend on itself", problems=[f"{owner} depends on itself"])
    return unit.id if isinstance(unit, Task) else unit.uid


def _sorted_deps(deps: Iterable[Dep]) -> list[Dep]:
    return sorted(deps, key=lambda d: id_key(dep_key(d)))


def add_task(
    tag_data: TagData,
    title: str,
    description: str,
    details: str = "",
    test_strategy: str = "",
    priority: str = "medium",
    dependencies: Sequence[str | int] = (),
    status: str = "pending",
) -> Task:
    if not title.strip() or not description.strip():
        raise InputError("a task needs a non-empty --title and --description")
    new_id = tag_data.next_id()
    deps = [_resolve_dep(tag_data, d, str(new_id)) for d in parse_ids([str(d) for d in dependencies])]
    task = Task(
        id=new_id,
        title=title.strip(),
        description=description.strip(),
        status=check_status(status),
        priority=check_priority(priority),
        dependencies=_sorted_deps(dict.fromkeys(deps)),
        details=details,
        test_strategy=test_strategy,
    )
    tag_data.tasks.append(task)
    return task


def add_subtask(
    tag_data: TagData,
    parent_id: str | int,
    title: str,
    description: str = "",
    details: str = "",
    dependencies: Sequence[str | int] = (),
    status: str = "pending",
    test_strategy: str = "",
) -> Subtask:
    parent = tag_data.find(str(parent_id))
    if not isinstance(parent, Task):
        raise InputError(f"{parent_id} is a subtask; subtasks cannot have subtasks")
    if not title.strip():
        raise InputError("a subtask needs a non-empty --title")
    sid = max((s.id for s in parent.subtasks), default=0) + 1
    uid = f"{parent.id}.{sid}"
    deps = [_resolve_dep(tag_data, d, uid) for d in parse_ids([str(d) for d in dependencies])]
    sub = Subtask(
        id=sid,
        parent_id=parent.id,
        title=title.strip(),
        description=description,
        status=check_status(status),
        dependencies=_sorted_deps(dict.fromkeys(deps)),
        details=details,
        test_strategy=test_strategy,
        extra={"parentTaskId": parent.id},
    )
    parent.subtasks.append(sub)
    return sub


def remove_task(tag_data: TagData, ids: Sequence[str]) -> list[str]:
    """Remove tasks and subtasks, and every dependency on them. Returns the ids removed."""
    units = [tag_data.find(i) for i in parse_ids(ids)]
    gone: set[str] = set()
    for unit in units:
        if isinstance(unit, Task):
            gone.add(unit.uid)
            gone.update(s.uid for s in unit.subtasks)
            tag_data.tasks = [t for t in tag_data.tasks if t.id != unit.id]
        else:
            parent = tag_data.task(unit.parent_id)
            if parent is not None:
                parent.subtasks = [s for s in parent.subtasks if s.id != unit.id]
            gone.add(unit.uid)
    for t in tag_data.tasks:
        t.dependencies = [d for d in t.dependencies if dep_key(d) not in gone]
        for s in t.subtasks:
            s.dependencies = [d for d in s.dependencies if dep_key(d) not in gone]
    return sorted({u.uid for u in units}, key=id_key)


def clear_subtasks(tag_data: TagData, ids: Sequence[str] | None = None) -> list[str]:
    """Remove every subtask of the given tasks (all tasks when ``ids`` is None), and dependencies on them."""
    units = [tag_data.find(i) for i in parse_ids(ids)] if ids is not None else list(tag_data.tasks)
    tasks: list[Task] = []
    for u in units:
        if not isinstance(u, Task):
            raise InputError(f"{u.uid} is a subtask; clear-subtasks takes task ids")
        tasks.append(u)
    gone = [s.uid for t in tasks for s in t.subtasks]
    if gone:
        remove_task(tag_data, gone)
    return gone


def add_dependency(tag_data: TagData, unit_id: str, depends_on: str) -> bool:
    """Make ``unit_id`` depend on ``depends_on``. Refuses unknown ids, self-dependencies and cycles.
    Returns False when the dependency was already there."""
    unit = tag_data.find(unit_id)
    dep = _resolve_dep(tag_data, depends_on, unit.uid)
    key = dep_key(dep)
    if any(dep_key(d) == key for d in unit.dependencies):
        return False
    if isinstance(unit, Subtask) and key == str(unit.parent_id):
        raise DependencyError(f"subtask {unit.uid} cannot depend on its own parent task {key}")
    parent = tag_data.task(unit.parent_id) if isinstance(unit, Subtask) else None
    if parent is not None and isinstance(dep, int) and parent.subtask(dep) is not None:
        raise DependencyError(
            f"subtask {unit.uid} cannot depend on task {dep}: in tasks.json a bare {dep} in a subtask's "
            f"dependencies names its sibling {parent.id}.{dep}"
        )
    import networkx as nx

    g = TaskGraph(tag_data).schedule_digraph()
    if nx.has_path(g, unit.uid, key):
        path = nx.shortest_path(g, unit.uid, key)
        cycle = [*path, unit.uid]
        raise DependencyError(
            f"{unit.uid} cannot depend on {key}: that would make a cycle: {' -> '.join(cycle)}", cycle=cycle
        )
    unit.dependencies = _sorted_deps([*unit.dependencies, dep])
    return True


def remove_dependency(tag_data: TagData, unit_id: str, depends_on: str) -> bool:
    """Drop the dependency; False when ``unit_id`` did not depend on it."""
    unit = tag_data.find(unit_id)
    target = str(depends_on).strip()
    before = len(unit.dependencies)
    unit.dependencies = [d for d in unit.dependencies if dep_key(d) != target]
    return len(unit.dependencies) != before


def append_note(details: str, text: str) -> str:
    """task-master's timestamped block, appended to a task's or subtask's details."""
    from datetime import datetime, timezone

    stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    block = f"<info added on {stamp}>\n{text.strip()}\n</info added on {stamp}>"
    return (details + "\n" if details else "") + block
