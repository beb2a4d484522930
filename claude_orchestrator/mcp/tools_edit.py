"""Tools that change tasks without a model: set_task_status, update_subtask, add_task (manual), add_subtask,
remove_task, remove_subtask, clear_subtasks. Every change is one locked read-modify-write of tasks.json;
every id is checked before anything is written."""

from __future__ import annotations

from typing import Any, Literal

from ..errors import InputError, NotFoundError
from ..taskmaster import moves, ops
from ..taskmaster.ids import parse_ids
from ..taskmaster.model import STATUSES, Subtask, Task
from .spec import FILE, REQUIRED, Call, Param, ToolSpec

Status = Literal["pending", "in-progress", "done", "review", "deferred", "cancelled", "blocked"]
assert set(Status.__args__) == set(STATUSES)  # type: ignore[attr-defined]


def set_task_status(c: Call) -> dict[str, Any]:
    ids = parse_ids(c.need("id"))
    status = ops.check_status(c.need("status"))
    with c.store.edit(c.explicit_tag) as data:
        before = {i: data.find(i).status for i in ids}
        ops.set_status(data, ids, status)
    rows = [{"success": True, "oldStatus": before[i], "newStatus": status, "taskId": i} for i in ids]
    return {"message": f'Successfully updated {len(ids)} task(s) to "{status}"', "tasks": rows}


def update_subtask(c: Call) -> dict[str, Any]:
    sid = c.need("id")
    if "." not in sid:
        raise InputError(f"'{sid}' is not a subtask id: use P.S, e.g. 5.2 (update_task changes tasks)")
    prompt, meta = c.text("prompt"), c.metadata()
    if prompt is None and meta is None:
        raise InputError("update_subtask needs `prompt` (the text to add) or `metadata`")
    with c.store.edit(c.explicit_tag) as data:
        sub = data.find(sid)
        assert isinstance(sub, Subtask)
        if prompt is not None:
            sub.details = ops.append_note(sub.details, prompt)
        if meta is not None:
            sub.extra["metadata"] = {**(sub.extra.get("metadata") or {}), **meta}
        row = sub.to_json()
    return {
        "message": f"Successfully updated subtask with ID {sid}",
        "subtaskId": sid,
        "parentId": sub.parent_id,
        "subtask": row,
        "tasksPath": str(c.store.tasks_path),
        "useResearch": False,
    }


def add_task(c: Call) -> dict[str, Any]:
    title, description, prompt = c.text("title"), c.text("description"), c.text("prompt")
    if not (title and description):
        if prompt is None:
            raise InputError("add_task needs `prompt`, or both `title` and `description`")
        from .tools_ai import add_task_by_prompt

        return add_task_by_prompt(c, prompt)
    glob = c.store.config().get("global")
    default = glob.get("defaultPriority") if isinstance(glob, dict) else None
    priority = c.text("priority") or (default if isinstance(default, str) else None) or "medium"
    with c.store.edit(c.explicit_tag) as data:
        task = ops.add_task(
            data,
            title,
            description,
            details=c.text("details") or "",
            test_strategy=c.text("testStrategy") or "",
            priority=ops.check_priority(priority.lower()),
            dependencies=parse_ids(c.text("dependencies") or ""),
        )
    return {
        "taskId": task.id,
        "message": f"Successfully added new task #{task.id}",
        "telemetryData": None,
        "tagInfo": None,
    }


def add_subtask(c: Call) -> dict[str, Any]:
    parent = c.need("id")
    existing = c.text("taskId")
    with c.store.edit(c.explicit_tag) as data:
        if existing is not None:
            sub = moves.task_into_parent(data, existing, parent)
            message = f"Task {existing} successfully converted to a subtask of task {parent}"
        else:
            sub = ops.add_subtask(
                data,
                parent,
                c.text("title") or "",
                description=c.text("description") or "",
                details=c.text("details") or "",
                dependencies=parse_ids(c.text("dependencies") or ""),
                status=c.text("status") or "pending",
            )
            message = f"New subtask {sub.uid} successfully created"
        row = sub.to_json()
    return {"message": message, "subtask": row}


def remove_task(c: Call) -> dict[str, Any]:
    ids = parse_ids(c.need("id"))
    with c.store.edit(c.explicit_tag) as data:
        missing = []
        for i in ids:
            try:
                data.find(i)
            except NotFoundError:
                missing.append(i)
        if missing:
            raise NotFoundError(
                f"the following tasks were not found in tag '{data.name}': {', '.join(missing)}"
            )
        rows = [data.find(i).to_json() for i in ids]
        ops.remove_task(data, ids)
        tag = data.name
    return {
        "totalTasks": len(ids),
        "successful": len(ids),
        "failed": 0,
        "removedTasks": rows,
        "message": f"Successfully removed task {', '.join(ids)} from tag '{tag}'",
        "tasksPath": str(c.store.tasks_path),
        "tag": tag,
    }


def remove_subtask(c: Call) -> dict[str, Any]:
    sid = c.need("id")
    if "." not in sid:
        raise InputError(f"invalid subtask id {sid}: expected parentId.subtaskId, e.g. 5.2")
    with c.store.edit(c.explicit_tag) as data:
        if c.flag("convert"):
            task = moves.subtask_to_new_task(data, sid)
            return {
                "message": f"Subtask {sid} successfully converted to task #{task.id}",
                "task": task.to_json(),
            }
        if not isinstance(data.find(sid), Subtask):
            raise InputError(f"{sid} is not a subtask")
        ops.remove_task(data, [sid])
    return {"message": f"Subtask {sid} successfully removed"}


def clear_subtasks(c: Call) -> dict[str, Any]:
    ids = c.text("id")
    if ids is None and not c.flag("all"):
        raise InputError("clear_subtasks needs `id` (task ids, comma-separated) or `all`: true")
    with c.store.edit(c.explicit_tag) as data:
        targets: list[Task] = []
        for i in parse_ids(ids) if ids is not None else [t.uid for t in data.tasks]:
            unit = data.find(i)
            if not isinstance(unit, Task):
                raise InputError(f"{i} is a subtask; clear_subtasks takes task ids")
            targets.append(unit)
        cleared = [{"id": t.id, "title": t.title} for t in targets if t.subtasks]
        ops.clear_subtasks(data, [t.uid for t in targets])
        tag = data.name
    return {
        "message": f"Successfully cleared subtasks from {len(cleared)} task(s) in tag '{tag}'",
        "tasksCleared": cleared,
        "tag": tag,
    }


_IDS = Param("id", str, REQUIRED, "Task or subtask id(s), comma-separated ('15', '15.2').")
_PROMPT = Param("prompt", str, None, "The text to add.")
_RESEARCH = Param("research", bool, None, "Accepted for compatibility (no effect here).")
_META = Param(
    "metadata", str, None, "JSON object merged into metadata (needs TASK_MASTER_ALLOW_METADATA_UPDATES=true)."
)
_SKIP = Param("skipGenerate", bool, None, "Accepted for compatibility (task files are not regenerated).")

TOOLS = [
    ToolSpec(
        "set_task_status",
        "Set the status of one or more tasks or subtasks.",
        set_task_status,
        (_IDS, Param("status", Status, REQUIRED, "The new status.")),
        title="Set Task Status",
        destructive=True,
    ),
    ToolSpec(
        "update_subtask",
        "Append timestamped notes to a subtask's details (the prompt is added verbatim, no model call). "
        "To change its status use set_task_status.",
        update_subtask,
        (
            Param("id", str, REQUIRED, "Subtask id as 'parentId.subtaskId', e.g. '5.2'."),
            _PROMPT,
            _RESEARCH,
            _META,
            FILE,
        ),
        title="Update Subtask",
        destructive=True,
    ),
    ToolSpec(
        "add_task",
        "Add a task: manually with title and description, or described by a prompt (the manager model writes it).",
        add_task,
        (
            Param("prompt", str, None, "Describe the task (when not giving title and description)."),
            Param("title", str, None, "Task title (manual)."),
            Param("description", str, None, "Task description (manual)."),
            Param("details", str, None, "Implementation details (manual)."),
            Param("testStrategy", str, None, "Test strategy (manual)."),
            Param("dependencies", str, None, "Ids this task depends on, comma-separated."),
            Param("priority", str, None, "low, medium, high or critical."),
            FILE,
            _RESEARCH,
        ),
        title="Add Task",
    ),
    ToolSpec(
        "add_subtask",
        "Add a subtask to an existing task (or turn an existing task into one with taskId)",
        add_subtask,
        (
            Param("id", str, REQUIRED, "Parent task id."),
            Param("taskId", str, None, "Existing task id to convert into a subtask."),
            Param("title", str, None, "Title of the new subtask."),
            Param("description", str, None, "Description of the new subtask."),
            Param("details", str, None, "Implementation details."),
            Param("status", str, None, "Status (default pending)."),
            Param("dependencies", str, None, "Dependency ids, comma-separated."),
            FILE,
            _SKIP,
        ),
        title="Add Subtask",
        destructive=True,
    ),
    ToolSpec(
        "remove_task",
        "Remove tasks or subtasks permanently (and every dependency on them)",
        remove_task,
        (_IDS, FILE, Param("confirm", bool, None, "Accepted for compatibility.")),
        title="Remove Task",
        destructive=True,
    ),
    ToolSpec(
        "remove_subtask",
        "Remove a subtask from its parent task (or convert it into a task)",
        remove_subtask,
        (
            Param("id", str, REQUIRED, "Subtask id as 'parentId.subtaskId'."),
            Param("convert", bool, None, "Convert it into a standalone task instead of deleting it."),
            FILE,
            _SKIP,
        ),
        title="Remove Subtask",
        destructive=True,
    ),
    ToolSpec(
        "clear_subtasks",
        "Clear subtasks from specified tasks",
        clear_subtasks,
        (
            Param("id", str, None, "Task ids, comma-separated."),
            Param("all", bool, None, "Clear the subtasks of every task."),
            FILE,
        ),
        title="Clear Subtasks",
        destructive=True,
    ),
]
