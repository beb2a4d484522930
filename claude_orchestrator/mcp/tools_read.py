"""Read-only tools: get_tasks (paginated), next_task, get_task, complexity_report, validate_dependencies.
Their `data` is what task-master-ai 0.43.1's MCP server answers for the same file."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ..errors import InputError, NotFoundError
from ..taskmaster.graph import TaskGraph, dep_key
from ..taskmaster.ids import parse_ids
from ..taskmaster.model import STATUSES, Subtask, TagData, Task
from .spec import FILE, REQUIRED, Call, Param, ToolSpec

# get_tasks pages its answer so that it stays well under Claude Code's 25k-token limit for tool output
PAGE_CHARS = 48_000
NO_NEXT = "No eligible next task found. All tasks are either completed or have unsatisfied dependencies"
NEXT_STEPS = {  # Task Master's words, so that an agent used to them reads the same advice
    "subtask": "Subtasks can be updated with timestamped details as you implement them. This is useful for "
    "tracking progress, marking milestones and insights (of successful or successive falures in attempting to "
    "implement the subtask). Research can be used when updating the subtask to collect up-to-date information, "
    "and can be helpful to solve a repeating problem the agent is unable to solve. It is a good idea to "
    "get-task the parent task to collect the overall context of the task, and to get-task the subtask to "
    "collect the specific details of the subtask.",
    "task": "Tasks can be updated to reflect a change in the direction of the task, or to reformulate the task "
    "per your prompt. Research can be used when updating the task to collect up-to-date information. It is best "
    "to update subtasks as you work on them, and to update the task for more high-level changes that may affect "
    "pending subtasks or the general direction of the task.",
}


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def _statuses(text: str | None) -> list[str] | None:
    if not text or text.strip().lower() == "all":
        return None
    wanted = [s.lower() for s in parse_ids(text)]
    for s in wanted:
        if s not in STATUSES:
            raise InputError(f"unknown status '{s}' (expected one of {', '.join(STATUSES)})")
    return wanted


def list_form(task: Task, with_subtasks: bool) -> dict[str, Any]:
    """A task as get_tasks shows it: string ids and dependencies, subtasks with their parent's id."""
    out = task.to_json()
    out["id"] = str(task.id)
    out["dependencies"] = [dep_key(d) for d in task.dependencies]
    subs = []
    if with_subtasks:
        for s in task.subtasks:
            row = s.to_json()
            row["id"] = str(s.id)
            row["dependencies"] = [dep_key(d) for d in s.dependencies]
            row["parentId"] = str(task.id)
            subs.append(row)
    out["subtasks"] = subs
    return out


def _stats(total: int, tasks: list[Task], with_subtasks: bool) -> dict[str, Any]:
    c = Counter(t.status for t in tasks)
    subs = Counter(s.status for t in tasks for s in t.subtasks) if with_subtasks else Counter()
    n_subs = sum(subs.values())
    return {
        "total": total,
        "completed": c["done"],
        "inProgress": c["in-progress"],
        "pending": c["pending"],
        "blocked": c["blocked"],
        "deferred": c["deferred"],
        "cancelled": c["cancelled"],
        "review": c["review"],
        "completionPercentage": _number(c["done"] / total * 100 if total else 0),
        "subtasks": {
            "total": n_subs,
            "completed": subs["done"],
            "inProgress": subs["in-progress"],
            "pending": subs["pending"],
            "blocked": subs["blocked"],
            "deferred": subs["deferred"],
            "cancelled": subs["cancelled"],
            "completionPercentage": _number(subs["done"] / n_subs * 100 if n_subs else 0),
        },
    }


def paginate(
    rows: list[dict[str, Any]], offset: int, limit: int | None, budget: int = PAGE_CHARS
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A page of rows within `budget` characters of JSON (at least one row). The paging note is None
    when the whole list fits and no page was asked for."""
    end = len(rows) if limit is None else min(len(rows), offset + limit)
    page: list[dict[str, Any]] = []
    size = 0
    for row in rows[offset:end]:
        n = len(json.dumps(row, indent=2, ensure_ascii=False)) + 8 * len(
            row
        )  # indentation inside the envelope
        if page and size + n > budget:
            break
        page.append(row)
        size += n
    after = offset + len(page)
    if limit is None and offset == 0 and after == len(rows):
        return page, None
    return page, {
        "offset": offset,
        "returned": len(page),
        "total": len(rows),
        "nextOffset": after if after < len(rows) else None,
        "note": "more tasks: call get_tasks again with offset=nextOffset"
        if after < len(rows)
        else "last page",
    }


def get_tasks(c: Call) -> dict[str, Any]:
    data = c.load()
    status = c.text("status")
    wanted = _statuses(status)
    with_subtasks = c.args.get("withSubtasks") is not False
    tasks = [t for t in data.tasks if not wanted or t.status in wanted]
    offset = c.integer("offset") or 0
    limit = c.integer("limit", minimum=1)
    rows, paging = paginate([list_form(t, with_subtasks) for t in tasks], offset, limit)
    out: dict[str, Any] = {
        "tasks": rows,
        "filter": status or "all",
        "stats": _stats(len(data.tasks), tasks, with_subtasks),
    }
    if paging is not None:
        out["pagination"] = paging
    return out


def _report_item(c: Call, data: TagData, task_id: int) -> dict[str, Any] | None:
    from ..manager.service import read_report

    path = c.path("complexityReport")
    if path is not None:
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
    else:
        report = read_report(c.store, data.name)
    items = (report or {}).get("complexityAnalysis") or []
    return next((i for i in items if isinstance(i, dict) and i.get("taskId") == task_id), None)


def next_form(data: TagData, unit: Task | Subtask) -> dict[str, Any]:
    """Task Master's next-task shape: the task as stored, or a subtask with its parent's id."""
    if isinstance(unit, Task):
        return unit.to_json()
    parent = data.task(unit.parent_id)
    return {
        "id": unit.uid,
        "title": unit.title or f"Subtask {unit.id}",
        "status": unit.status,
        "priority": unit.priority or (parent.priority if parent else "medium"),
        "dependencies": [dep_key(d) for d in unit.dependencies],
        "parentId": unit.parent_id,
    }


def next_task(c: Call) -> dict[str, Any]:
    data = c.load()
    unit = TaskGraph(data).next_task()
    if unit is None:
        return {"message": NO_NEXT, "nextTask": None}
    task = next_form(data, unit)
    item = _report_item(c, data, unit.parent_id if isinstance(unit, Subtask) else unit.id)
    if item and item.get("complexityScore") is not None:
        task["complexityScore"] = item["complexityScore"]
    kind = "subtask" if isinstance(unit, Subtask) else "task"
    return {
        "nextTask": task,
        "isSubtask": kind == "subtask",
        "nextSteps": f'When ready to work on the {kind}, use set-status to set the status to "in progress" '
        + NEXT_STEPS[kind],
    }


def get_task(c: Call) -> Any:
    data = c.load()
    asked = parse_ids(c.need("id"))
    wanted = [s.lower() for s in parse_ids(c.text("status") or "")]
    found: list[dict[str, Any]] = []
    missing: list[str] = []
    for i in asked:
        try:
            unit = data.find(i)
        except NotFoundError as e:
            missing.append(str(e))
            continue
        row = unit.to_json()
        if wanted and isinstance(unit, Task):
            row["subtasks"] = [s for s in row["subtasks"] if str(s.get("status", "")).lower() in wanted]
        found.append(row)
    if not found:
        raise NotFoundError(f"no task found for id(s) {', '.join(asked)}: {'; '.join(missing)}")
    return found[0] if len(asked) == 1 else found


def complexity_report(c: Call) -> dict[str, Any]:
    from ..manager.service import report_path

    path = c.path("file") or report_path(c.store, c.explicit_tag or c.store.current_tag())
    if not path.is_file():
        raise NotFoundError(f"no complexity report at {path}; run analyze_project_complexity first")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: malformed JSON: {e.msg}") from None
    return {"report": report, "reportPath": str(path)}


def validate_dependencies(c: Call) -> dict[str, Any]:
    data = c.load()
    problems = TaskGraph(data).problems()
    return {
        "message": "Dependencies validated successfully"
        if not problems
        else f"{len(problems)} dependency problem(s) in tag '{data.name}'",
        "valid": not problems,
        "problems": problems,
        "tasksPath": str(c.store.tasks_path),
    }


_STATUS = Param("status", str, None, "Only tasks with these statuses (comma list), e.g. 'pending,done'.")

TOOLS = [
    ToolSpec(
        "get_tasks",
        "Get all tasks from Task Master, optionally filtering by status and including subtasks. Large "
        "answers come in pages: pass offset=pagination.nextOffset for the next one.",
        get_tasks,
        (
            _STATUS,
            Param("withSubtasks", bool, None, "Include subtasks nested in their parent tasks."),
            Param("offset", int, None, "First task of the page (default 0)."),
            Param("limit", int, None, "At most this many tasks in the page."),
        ),
        title="Get Tasks",
        read_only=True,
    ),
    ToolSpec(
        "next_task",
        "Find the next task to work on based on dependencies and status",
        next_task,
        (FILE, Param("complexityReport", str, None, "Path to the complexity report.")),
        title="Next Task",
        read_only=True,
    ),
    ToolSpec(
        "get_task",
        "Get detailed information about a specific task",
        get_task,
        (
            Param("id", str, REQUIRED, "Task id(s), comma-separated; subtasks as '15.2'."),
            Param("status", str, None, "Only subtasks with this status."),
        ),
        title="Get Task",
        read_only=True,
    ),
    ToolSpec(
        "complexity_report",
        "Display the complexity analysis report",
        complexity_report,
        (
            Param(
                "file",
                str,
                None,
                "Path to the report (default: .taskmaster/reports/task-complexity-report.json).",
            ),
        ),
        title="Complexity Report",
        read_only=True,
    ),
    ToolSpec(
        "validate_dependencies",
        "Check tasks for dependency issues (unknown, self, duplicate or circular) without making changes.",
        validate_dependencies,
        (FILE,),
        title="Validate Dependencies",
        read_only=True,
    ),
]
