"""Manager operations on a task database: parse a PRD, add, expand, analyze complexity.

The model is asked before the database is locked (a model call can take minutes); the answer is applied
under the lock, re-checked against what is there then. On any failure nothing is written."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError, NotFoundError
from ..files import write_text
from ..taskmaster import reports
from ..taskmaster.model import TagData, Task, parse_document
from ..taskmaster.store import TaskStore
from .core import Manager

PRD_NAMES = ("PRD.md", "prd.md", "PRD.txt", "prd.txt")


def find_prd(store: TaskStore, given: Path | None) -> Path:
    """The PRD given, else task-master's default locations (.taskmaster/docs/, scripts/, the root)."""
    if given is not None:
        if not given.is_file():
            raise InputError(f"{given}: no such PRD file")
        return given
    for folder in (store.root / ".taskmaster" / "docs", store.root / "scripts", store.root):
        for name in PRD_NAMES:
            if (folder / name).is_file():
                return folder / name
    raise InputError(
        "no PRD given and none found in .taskmaster/docs/ (PRD.md, prd.md, PRD.txt, prd.txt); pass a file"
    )


def _to_tasks(entries: list[dict[str, Any]]) -> list[Task]:
    return parse_document({"master": {"tasks": entries}}, "manager answer").tags["master"].tasks


def _shift(entries: list[dict[str, Any]], planned_next: int, actual_next: int) -> list[dict[str, Any]]:
    """Renumber entries planned from `planned_next` to start at `actual_next` (someone wrote meanwhile)."""
    delta = actual_next - planned_next
    if delta == 0:
        return entries
    new_ids = {e["id"] for e in entries}
    out = []
    for e in entries:
        e = dict(e)
        e["id"] += delta
        e["dependencies"] = sorted(d + delta if d in new_ids else d for d in e["dependencies"])
        out.append(e)
    return out


def _default_priority(store: TaskStore) -> str:
    glob = store.config().get("global")
    p = glob.get("defaultPriority") if isinstance(glob, dict) else None
    return p if p in ("low", "medium", "high", "critical") else "medium"


def parse_prd(
    manager: Manager,
    store: TaskStore,
    prd: Path | None = None,
    *,
    num_tasks: int | None = None,
    append: bool = False,
    force: bool = False,
    research: bool = False,
    tag: str | None = None,
) -> list[Task]:
    path = find_prd(store, prd)
    before = store.load(tag)
    if before.tasks and not (append or force):
        raise InputError(
            f"tag '{before.name}' already has {len(before.tasks)} tasks; use --append to add to them "
            "or --force to replace them"
        )
    keep = append and bool(before.tasks)
    next_id = before.next_id() if keep else 1
    existing = [t.to_json() for t in before.tasks] if keep else None
    entries = manager.plan_prd(
        path.read_text(encoding="utf-8", errors="replace"),
        prd_path=str(path),
        num_tasks=num_tasks,
        next_id=next_id,
        existing=existing,
        research=research,
        default_priority=_default_priority(store),
    )
    with store.edit(tag) as data:
        if data.tasks and not (append or force):
            raise InputError(f"tag '{data.name}' was filled meanwhile; nothing written")
        if append:
            entries = _shift(entries, next_id, data.next_id())
            data.tasks.extend(_to_tasks(entries))
        else:
            data.tasks[:] = _to_tasks(entries)
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        data.metadata.setdefault("created", now)
        data.metadata.setdefault("description", f"Tasks for {data.name} context")
        added = [data.task(e["id"]) for e in entries]
    return [t for t in added if t is not None]


def add_tasks(
    manager: Manager,
    store: TaskStore,
    request: str,
    *,
    decompose: bool = True,
    research: bool = False,
    tag: str | None = None,
    priority: str | None = None,
    dependencies: list[int] | None = None,
) -> list[Task]:
    """The manager decides between one task and a few dependent ones; --priority/--dependencies apply to
    the first new task (the root of what was added)."""
    if not request.strip():
        raise InputError("the request is empty")
    before = store.load(tag)
    known = {t.id for t in before.tasks}
    for d in dependencies or []:
        if d not in known:
            raise NotFoundError(f"dependency {d} is not a task in tag '{before.name}'")
    listing = [{"id": t.id, "title": t.title, "status": t.status} for t in before.tasks]
    next_id = before.next_id()
    entries = manager.plan_addition(
        request,
        listing,
        next_id=next_id,
        decompose=decompose,
        research=research,
        default_priority=priority or _default_priority(store),
    )
    if entries:
        if priority:
            entries[0]["priority"] = priority
        if dependencies:
            entries[0]["dependencies"] = sorted(set(entries[0]["dependencies"]) | set(dependencies))
    with store.edit(tag) as data:
        entries = _shift(entries, next_id, data.next_id())
        current = {t.id for t in data.tasks}
        for e in entries:
            missing = [
                d for d in e["dependencies"] if d not in current and d not in {x["id"] for x in entries}
            ]
            if missing:
                raise InputError(f"task {missing[0]} was removed meanwhile; nothing written")
        data.tasks.extend(_to_tasks(entries))
        added = [data.task(e["id"]) for e in entries]
    return [t for t in added if t is not None]


# ---- complexity report ------------------------------------------------------------------------------


def report_path(store: TaskStore, tag: str) -> Path:
    return reports.report_path(store.root, tag)


def read_report(store: TaskStore, tag: str, path: Path | None = None) -> dict[str, Any] | None:
    return reports.read_report(path or report_path(store, tag))


def analyze_complexity(
    manager: Manager,
    store: TaskStore,
    *,
    threshold: float = 5,
    research: bool = False,
    ids: list[int] | None = None,
    tag: str | None = None,
    output: Path | None = None,
) -> tuple[Path, dict[str, Any]]:
    data = store.load(tag)
    tasks = [t for t in data.tasks if t.status in ("pending", "blocked", "in-progress")]
    if ids:
        tasks = [t for t in tasks if t.id in set(ids)]
    if not tasks:
        raise InputError(f"no pending, blocked or in-progress tasks to analyze in tag '{data.name}'")
    answer = manager.analyze_complexity([t.to_json() for t in tasks], research=research)
    project = store.config().get("global", {}).get("projectName") or store.root.name
    report = {
        "meta": {
            "generatedAt": datetime.now(timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "tasksAnalyzed": len(tasks),
            "totalTasks": len(data.tasks),
            "analysisCount": len(answer.complexityAnalysis),
            "thresholdScore": threshold,
            "projectName": project,
            "usedResearch": research,
        },
        "complexityAnalysis": [
            item.model_dump() for item in sorted(answer.complexityAnalysis, key=lambda i: i.taskId)
        ],
    }
    path = output or report_path(store, data.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(report, indent=2))
    return path, report


# ---- expand -----------------------------------------------------------------------------------------


def _default_subtasks(store: TaskStore) -> int:
    glob = store.config().get("global")
    n = glob.get("defaultSubtasks") if isinstance(glob, dict) else None
    return n if isinstance(n, int) and n > 0 else 5


def expand(
    manager: Manager,
    store: TaskStore,
    task_id: int,
    *,
    num: int | None = None,
    force: bool = False,
    research: bool = False,
    context: str = "",
    tag: str | None = None,
    report: Path | None = None,
) -> Task:
    data = store.load(tag)
    task = data.task(task_id)
    if task is None:
        raise NotFoundError(f"task {task_id} not found in tag '{data.name}'")
    if task.status in ("done", "cancelled"):
        raise InputError(f"task {task_id} is {task.status}; it will not be expanded")
    found = read_report(store, data.name, report) or {}
    item = next(
        (
            i
            for i in found.get("complexityAnalysis", [])
            if isinstance(i, dict) and i.get("taskId") == task_id
        ),
        None,
    )
    count = num or (int(item["recommendedSubtasks"]) if item and item.get("recommendedSubtasks") else 0)
    count = count or _default_subtasks(store)
    subs = manager.plan_subtasks(
        task.to_json(),
        num=count,
        force=force,
        research=research,
        expansion_prompt=str(item.get("expansionPrompt", "")) if item else "",
        context=context,
    )
    with store.edit(tag) as live:
        target = live.task(task_id)
        if target is None:
            raise NotFoundError(f"task {task_id} was removed meanwhile; nothing written")
        kept = [] if force else list(target.subtasks)
        if {s.id for s in kept} & {s["id"] for s in subs}:
            raise InputError(f"subtasks of task {task_id} changed meanwhile; nothing written")
        (fresh,) = _to_tasks([{**target.to_json(), "subtasks": [s.to_json() for s in kept] + subs}])
        target.subtasks = kept + fresh.subtasks[len(kept) :]  # the task itself is kept as it was written
    return target


def expand_all(manager: Manager, store: TaskStore, **kwargs: Any) -> list[Task]:
    tag = kwargs.get("tag")
    data: TagData = store.load(tag)
    force = bool(kwargs.get("force"))
    targets = [t.id for t in data.tasks if t.status == "pending" and (force or not t.subtasks)]
    return [expand(manager, store, tid, **kwargs) for tid in targets]
