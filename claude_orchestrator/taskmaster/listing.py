"""What `task-master list` shows, as task-master-ai's new core computes it: the status filter, `blocks` over
the shown set, `--ready` and `--blocking`, and each task's JSON shape (with its user `metadata` and the
complexity report's fields)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .graph import dep_key
from .model import Subtask, TagData, Task

ACTIONABLE = ("pending", "in-progress", "review")
COMPLETE = ("done", "cancelled")
# the optional task fields the new core's TaskEntity keeps (in its order); other extra keys are not listed
ENTITY_OPTIONAL = (
    "createdAt",
    "updatedAt",
    "effort",
    "actualEffort",
    "tags",
    "assignee",
    "complexity",
    "recommendedSubtasks",
    "expansionPrompt",
    "complexityReasoning",
    "metadata",
)


@dataclass
class Shown:
    tasks: list[Task]
    blocks: dict[str, list[str]]


def blocks_over(tasks: list[Task]) -> dict[str, list[str]]:
    """Task id -> ids of the given tasks that depend on it (deps on tasks not given count for nothing)."""
    out: dict[str, list[str]] = {t.uid: [] for t in tasks}
    for t in tasks:
        for d in t.dependencies:
            if (key := dep_key(d)) in out:
                out[key].append(t.uid)
    return out


def _ready(tag: TagData, tasks: list[Task]) -> list[Task]:
    """Actionable tasks whose every dependency is complete (a "P.S" dependency: that subtask is done)."""
    complete = {t.uid for t in tasks if t.status in COMPLETE}
    complete |= {s.uid for t in tag.tasks for s in t.subtasks if s.status in COMPLETE}
    return [
        t for t in tasks if t.status in ACTIONABLE and all(dep_key(d) in complete for d in t.dependencies)
    ]


def shown_tasks(
    tag: TagData, statuses: list[str] | None = None, ready: bool = False, blocking: bool = False
) -> Shown:
    """The status filter comes first unless --ready/--blocking need every task to decide, then it comes last."""
    deferred = ready or blocking
    tasks = [t for t in tag.tasks if not statuses or deferred or t.status in statuses]
    blocks = blocks_over(tasks)
    if ready:
        tasks = _ready(tag, tasks)
    if blocking:
        tasks = [t for t in tasks if blocks.get(t.uid)]
    if statuses and deferred:
        tasks = [t for t in tasks if t.status in statuses]
    return Shown(tasks, blocks)


def subtask_json(task: Task, s: Subtask) -> dict[str, Any]:
    out = s.to_json()
    out["id"] = str(s.id)
    out["dependencies"] = [dep_key(d) for d in s.dependencies]
    out["parentId"] = str(task.id)
    return out


def task_json(
    task: Task, blocks: list[str], with_subtasks: bool, complexity: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A task as the new core's `list --json` shows it: string ids and deps, the entity's fields (user
    `metadata` included), the complexity report's fields, then `blocks`."""
    out: dict[str, Any] = {
        "id": str(task.id),
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "priority": task.priority,
        "dependencies": [dep_key(d) for d in task.dependencies],
        "details": task.details,
        "testStrategy": task.test_strategy,
        "subtasks": [subtask_json(task, s) for s in task.subtasks] if with_subtasks else [],
    }
    merged = {**task.extra, **{k: v for k, v in (complexity or {}).items() if v is not None}}
    for key in ENTITY_OPTIONAL:
        if merged.get(key) is not None:
            out[key] = merged[key]
    out["blocks"] = blocks
    return out


def list_json(
    tag: TagData,
    statuses: list[str] | None = None,
    with_subtasks: bool = False,
    *,
    ready: bool = False,
    blocking: bool = False,
    complexity: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    shown = shown_tasks(tag, statuses, ready, blocking)
    report = complexity or {}
    return {
        "tasks": [
            task_json(t, shown.blocks.get(t.uid, []), with_subtasks, report.get(t.uid)) for t in shown.tasks
        ],
        "metadata": {
            "total": len(tag.tasks),
            "filtered": len(shown.tasks),
            "tag": tag.name,
            "storageType": "file",
            "allTags": False,
        },
    }


def list_all_tags_json(
    tags: list[TagData],
    statuses: list[str] | None = None,
    with_subtasks: bool = False,
    *,
    ready: bool = False,
    blocking: bool = False,
) -> dict[str, Any]:
    """--all-tags: blocks and --ready within each tag, then --blocking and the status filter; `tagName`."""
    rows: list[dict[str, Any]] = []
    for tag in tags:
        blocks = blocks_over(tag.tasks)
        tasks = _ready(tag, tag.tasks) if ready else tag.tasks
        for t in tasks:
            if blocking and not blocks.get(t.uid):
                continue
            if statuses and t.status not in statuses:
                continue
            rows.append({**task_json(t, blocks.get(t.uid, []), with_subtasks), "tagName": tag.name})
    return {
        "tasks": rows,
        "metadata": {
            "total": sum(len(t.tasks) for t in tags),
            "filtered": len(rows),
            "tag": "all",
            "storageType": "file",
            "allTags": True,
        },
    }
