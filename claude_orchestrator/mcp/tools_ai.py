"""Tools that ask the manager model: parse_prd, expand_task, expand_all, analyze_project_complexity,
add_task with a prompt, update_task and update. The same library calls as `task-master parse-prd` etc.;
credentials come from the environment or the project's .env, as for the command line."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..errors import InputError, NotFoundError
from ..taskmaster.model import Task
from ..taskmaster.ops import append_note
from .spec import FILE, REQUIRED, Call, Param, ToolSpec


@contextlib.contextmanager
def manager_session(c: Call) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The manager for this project, and the telemetry dict filled in when the block ends."""
    from ..config import load_config, load_dotenv
    from ..llm import LLM, Ledger
    from ..manager import Manager

    root = c.store.root
    load_dotenv(root / ".env")
    cfg = load_config(None, start=root)
    ledger = Ledger()
    llm = LLM.from_config(cfg, ledger=ledger)
    telemetry: dict[str, Any] = {"commandName": c.tool}
    try:
        yield Manager(llm=llm, cfg=cfg, project_root=root), telemetry
    finally:
        llm.close()
        u = ledger.usage()
        telemetry.update(
            inputTokens=u.total_input,
            outputTokens=u.output_tokens,
            totalCost=round(ledger.cost_usd(), 6),
            currency="USD",
        )


def parse_prd(c: Call) -> dict[str, Any]:
    from ..manager import service
    from ..taskmaster.store import TaskStore

    output = c.path("output")
    store = TaskStore(c.store.root, output) if output else c.store
    num = c.integer("numTasks", minimum=1)
    force = c.flag("force")
    with manager_session(c) as (manager, telemetry):
        tasks = service.parse_prd(
            manager,
            store,
            c.path("input"),
            num_tasks=num,
            append=c.flag("append") and not force,
            force=force,
            research=c.flag("research"),
            tag=c.explicit_tag,
        )
    return {
        "message": f"Successfully parsed PRD and generated tasks in {store.tasks_path}",
        "outputPath": str(store.tasks_path),
        "taskIds": [t.id for t in tasks],
        "telemetryData": telemetry,
    }


def _task_id(text: str) -> int:
    if not text.strip().isdigit():
        raise InputError(f"'{text}' is not a task id (subtasks cannot be expanded)")
    return int(text)


def _expand_options(c: Call) -> dict[str, Any]:
    """The arguments expand_task and expand_all both pass to the manager service."""
    return {
        "num": c.integer("num", minimum=1),
        "force": c.flag("force"),
        "research": c.flag("research"),
        "context": c.text("prompt") or "",
        "tag": c.explicit_tag,
    }


def expand_task(c: Call) -> dict[str, Any]:
    from ..manager import service

    tid = _task_id(c.need("id"))
    task = c.load().task(tid)
    if task is None:
        raise NotFoundError(f"task {tid} not found in tag '{c.load().name}'")
    if task.subtasks and not c.flag("force"):
        return {
            "message": f"Task {tid} already has subtasks. Expansion skipped (pass force to replace them).",
            "task": task.to_json(),
            "subtasksAdded": 0,
            "hasExistingSubtasks": True,
        }
    with manager_session(c) as (manager, telemetry):
        new = service.expand(manager, c.store, tid, **_expand_options(c))
    return {
        "task": new.to_json(),
        "subtasksAdded": len(new.subtasks),
        "hasExistingSubtasks": bool(task.subtasks),
        "telemetryData": telemetry,
    }


def expand_all(c: Call) -> dict[str, Any]:
    from ..manager import service

    with manager_session(c) as (manager, telemetry):
        done = service.expand_all(manager, c.store, **_expand_options(c))
    n = len(done)
    return {
        "message": f"Expand all operation completed. Expanded: {n}, Failed: 0, Skipped: 0",
        "details": {"expandedCount": n, "failedCount": 0, "skippedCount": 0, "tasksToExpand": n},
        "expandedTaskIds": [t.id for t in done],
        "telemetryData": telemetry,
    }


def analyze_project_complexity(c: Call) -> dict[str, Any]:
    from ..manager import service

    ids = [_task_id(i) for i in (c.text("ids") or "").split(",") if i.strip()]
    lo, hi = c.integer("from", minimum=1), c.integer("to", minimum=1)
    if lo is not None or hi is not None:
        ids = [t.id for t in c.load().tasks if (lo is None or t.id >= lo) and (hi is None or t.id <= hi)]
    with manager_session(c) as (manager, telemetry):
        path, report = service.analyze_complexity(
            manager,
            c.store,
            threshold=c.integer("threshold", minimum=1) or 5,
            research=c.flag("research"),
            ids=ids or None,
            tag=c.explicit_tag,
            output=c.path("output"),
        )
    scores = [float(i.get("complexityScore", 0)) for i in report["complexityAnalysis"]]
    return {
        "message": f"Task complexity analysis complete. Report saved to {path}",
        "reportPath": str(path),
        "reportSummary": {
            "taskCount": len(scores),
            "highComplexityTasks": sum(1 for s in scores if s >= 8),
            "mediumComplexityTasks": sum(1 for s in scores if 5 <= s < 8),
            "lowComplexityTasks": sum(1 for s in scores if s < 5),
        },
        "fullReport": report,
        "telemetryData": telemetry,
    }


def add_task_by_prompt(c: Call, prompt: str) -> dict[str, Any]:
    from ..manager import service
    from ..taskmaster.ops import check_priority

    priority = c.text("priority")
    deps = [_task_id(d) for d in (c.text("dependencies") or "").split(",") if d.strip()]
    with manager_session(c) as (manager, telemetry):
        tasks = service.add_tasks(
            manager,
            c.store,
            prompt,
            decompose=False,
            research=c.flag("research"),
            tag=c.explicit_tag,
            priority=check_priority(priority.lower()) if priority else None,
            dependencies=deps,
        )
    tid = tasks[0].id
    return {"taskId": tid, "message": f"Successfully added new task #{tid}", "telemetryData": telemetry}


def _rewrite(c: Call, ids: list[int], prompt: str) -> tuple[list[Task], dict[str, Any]]:
    from ..manager.update import update_tasks

    with manager_session(c) as (manager, telemetry):
        tasks = update_tasks(manager, c.store, ids, prompt, research=c.flag("research"), tag=c.explicit_tag)
    return tasks, telemetry


def update_task(c: Call) -> dict[str, Any]:
    text = c.need("id")
    if "." in text:
        raise InputError(f"{text} is a subtask: use update_subtask for subtasks")
    tid, prompt, meta = _task_id(text), c.text("prompt"), c.metadata()
    if prompt is None and meta is None:
        raise InputError("update_task needs `prompt` (the new information) or `metadata`")
    path = str(c.store.tasks_path)
    if c.flag("append") or prompt is None:
        with c.store.edit(c.explicit_tag) as data:
            task = data.find(text)
            assert isinstance(task, Task)
            if prompt is not None:
                task.details = append_note(task.details, prompt)
            if meta is not None:
                task.extra["metadata"] = {**(task.extra.get("metadata") or {}), **meta}
            row = task.to_json()
        message = f"Successfully appended to task {tid}"
        return {"message": message, "taskId": tid, "tasksPath": path, "updated": True, "updatedTask": row}
    tasks, telemetry = _rewrite(c, [tid], prompt)
    return {
        "message": f"Successfully updated task with ID {tid} based on the prompt",
        "taskId": tid,
        "tasksPath": path,
        "updated": True,
        "updatedTask": tasks[0].to_json(),
        "telemetryData": telemetry,
    }


def update(c: Call) -> dict[str, Any]:
    start = _task_id(c.need("from"))
    prompt = c.need("prompt")
    ids = [t.id for t in c.load().tasks if t.id >= start and t.status not in ("done", "cancelled")]
    if not ids:
        raise InputError(f"no unfinished tasks with id {start} or above")
    tasks, telemetry = _rewrite(c, ids, prompt)
    return {
        "message": f"Successfully updated {len(tasks)} tasks.",
        "tasksPath": str(c.store.tasks_path),
        "updatedCount": len(tasks),
        "updatedTaskIds": [t.id for t in tasks],
        "telemetryData": telemetry,
    }


_RESEARCH = Param("research", bool, None, "Ask the manager to research more carefully (higher effort).")
_OUTPUT = Param(
    "output", str, None, "Report path (default: .taskmaster/reports/task-complexity-report.json)."
)

TOOLS = [
    ToolSpec(
        "parse_prd",
        "Parse a Product Requirements Document into tasks (the manager model plans them). A tag that "
        "already has tasks needs append or force.",
        parse_prd,
        (
            Param("input", str, None, "PRD path (default: .taskmaster/docs/prd.txt or PRD.md)."),
            Param("output", str, None, "tasks.json path (default: .taskmaster/tasks/tasks.json)."),
            Param("numTasks", str, None, "About how many top-level tasks to plan."),
            Param("force", bool, None, "Replace the tag's existing tasks."),
            _RESEARCH,
            Param("append", bool, None, "Add to the existing tasks."),
        ),
        title="Parse PRD",
        destructive=True,
    ),
    ToolSpec(
        "expand_task",
        "Expand a task into subtasks for detailed implementation",
        expand_task,
        (
            Param("id", str, REQUIRED, "Id of the task to expand."),
            Param("num", str, None, "Number of subtasks to generate."),
            _RESEARCH,
            Param("prompt", str, None, "Additional context for the subtasks."),
            FILE,
            Param("force", bool, None, "Replace existing subtasks."),
        ),
        title="Expand Task",
        destructive=True,
    ),
    ToolSpec(
        "expand_all",
        "Expand all pending tasks into subtasks based on complexity or defaults",
        expand_all,
        (
            Param("num", str, None, "Subtasks per task (default: the complexity report or config)."),
            _RESEARCH,
            Param("prompt", str, None, "Additional context for every expansion."),
            Param("force", bool, None, "Also re-expand tasks that have subtasks."),
            FILE,
        ),
        title="Expand All Tasks",
        destructive=True,
    ),
    ToolSpec(
        "analyze_project_complexity",
        "Analyze task complexity and generate expansion recommendations.",
        analyze_project_complexity,
        (
            Param("threshold", int, None, "Score (1-10) from which expansion is recommended (default 5)."),
            _RESEARCH,
            _OUTPUT,
            FILE,
            Param("ids", str, None, "Only these task ids, comma-separated."),
            Param("from", int, None, "First task id of a range."),
            Param("to", int, None, "Last task id of a range."),
        ),
        title="Analyze Project Complexity",
        destructive=True,
    ),
    ToolSpec(
        "update_task",
        "Update one task with new information: the manager rewrites it, or with append the text is added "
        "to its details verbatim (timestamped). Subtasks: use update_subtask.",
        update_task,
        (
            Param("id", str, REQUIRED, "Id of the task, e.g. '15'."),
            Param("prompt", str, None, "New information or context."),
            _RESEARCH,
            Param("append", bool, None, "Append the prompt to the details instead of rewriting."),
            Param(
                "metadata",
                str,
                None,
                "JSON object merged into metadata (needs TASK_MASTER_ALLOW_METADATA_UPDATES=true).",
            ),
            FILE,
        ),
        title="Update Task",
        destructive=True,
    ),
    ToolSpec(
        "update",
        "Update every unfinished task with id >= from with new context (the manager rewrites their text; "
        "ids, status, dependencies and subtasks are kept).",
        update,
        (
            Param("from", str, REQUIRED, "First task id to update."),
            Param("prompt", str, REQUIRED, "The new context or change of direction."),
            _RESEARCH,
            FILE,
        ),
        title="Update Tasks",
        destructive=True,
    ),
]
