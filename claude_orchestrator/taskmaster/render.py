"""Output of the `task-master` commands: JSON shapes close to task-master-ai 0.43.1's, plain-text tables,
and the Markdown task files of `generate`. No rich import: `list` has to start fast."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .graph import dep_key
from .model import DEFAULT_TAG, STATUSES, Subtask, TagData, Task

STATUS_ICONS = {
    "done": "✓",
    "in-progress": "►",
    "blocked": "⭕",
    "pending": "○",
    "deferred": "⏸",
    "cancelled": "✗",
    "review": "👁",
}


# ---------------------------------------------------------------- JSON shapes


def next_json(tag: TagData, unit: Task | Subtask | None) -> dict[str, Any]:
    task: dict[str, Any] | None = None
    if isinstance(unit, Task):
        task = unit.to_json()
        task["id"] = str(unit.id)
        task["dependencies"] = [dep_key(d) for d in unit.dependencies]
    elif isinstance(unit, Subtask):
        parent = tag.task(unit.parent_id)
        task = {
            "id": unit.uid,
            "title": unit.title,
            "status": unit.status,
            "priority": unit.priority or (parent.priority if parent else "medium"),
            "dependencies": [dep_key(d) for d in unit.dependencies],
            "parentId": str(unit.parent_id),
            "description": unit.description,
            "details": unit.details,
            "testStrategy": unit.test_strategy,
            "subtasks": [],
        }
    return {
        "task": task,
        "found": task is not None,
        "tag": tag.name,
        "storageType": "file",
        "hasAnyTasks": bool(tag.tasks),
    }


def show_json(
    units: list[Task | Subtask],
    asked: list[str],
    not_found: list[str],
    complexity: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """As the new core's `show --json`: the unit as written, with the complexity report's fields for a task."""

    def one(u: Task | Subtask) -> dict[str, Any]:
        row = u.to_json()
        if isinstance(u, Task):
            row.update({k: v for k, v in (complexity or {}).get(u.uid, {}).items() if v is not None})
        return row

    if len(asked) == 1 and units:
        out: dict[str, Any] = {"task": one(units[0]), "found": True, "storageType": "file"}
        if isinstance(units[0], Subtask):
            out["originalTaskId"] = units[0].uid
        return out
    return {"tasks": [one(u) for u in units], "notFound": not_found, "storageType": "file"}


# ---------------------------------------------------------------- text


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*r).rstrip() for r in rows]
    return lines


def _deps_text(deps: list[Any]) -> str:
    return ", ".join(dep_key(d) for d in deps) or "None"


def list_text(
    tag: TagData,
    statuses: list[str] | None = None,
    with_subtasks: bool = False,
    nxt: Task | Subtask | None = None,
    *,
    compact: bool = False,
    ready: bool = False,
    blocking: bool = False,
) -> str:
    from .listing import shown_tasks

    shown = shown_tasks(tag, statuses, ready, blocking)
    if compact:
        lines = [f"Tag: {tag.name}"]
        for t in shown.tasks:
            lines.append(f"{t.uid} {STATUS_ICONS.get(t.status, '')} {t.title}")
            if with_subtasks:
                lines += [f"  {s.id} {STATUS_ICONS.get(s.status, '')} {s.title}" for s in t.subtasks]
        return "\n".join(lines)
    counts = {s: 0 for s in STATUSES}
    for t in tag.tasks:
        counts[t.status] += 1
    total = len(tag.tasks)
    pct = (100 * counts["done"] // total) if total else 0
    head = [
        f"Tag: {tag.name}   Tasks: {total}   Done: {counts['done']} ({pct}%)   "
        + "   ".join(f"{s}: {n}" for s, n in counts.items() if n and s != "done"),
    ]
    if nxt is not None and not (ready or blocking):
        head.append(f"Next task: {nxt.uid} - {nxt.title}")
    rows: list[list[str]] = []
    for t in shown.tasks:
        icon = STATUS_ICONS.get(t.status, "")
        blocks = ", ".join(shown.blocks.get(t.uid, [])) or "-"
        rows.append(
            [
                t.uid,
                _cut(t.title, 60),
                f"{icon} {t.status}",
                t.priority,
                _cut(_deps_text(t.dependencies), 30),
                _cut(blocks, 20),
            ]
        )
        if with_subtasks:
            for s in t.subtasks:
                icon = STATUS_ICONS.get(s.status, "")
                rows.append(
                    [
                        f"  {s.uid}",
                        _cut(s.title, 58),
                        f"{icon} {s.status}",
                        s.priority or "",
                        _deps_text(s.dependencies),
                        "",
                    ]
                )
    if not rows:
        return "\n".join([*head, "", "No tasks found."])
    header = ["ID", "Title", "Status", "Priority", "Dependencies", "Blocks"]
    return "\n".join([*head, "", *_table(rows, header)])


def _orchestrator_failure(unit: Task | Subtask) -> str | None:
    """Why a run of claude-orchestrator gave up on the unit (metadata.orchestrator, when it failed)."""
    meta = unit.extra.get("metadata")
    orch = meta.get("orchestrator") if isinstance(meta, dict) else None
    if not isinstance(orch, dict) or orch.get("status") != "failed":
        return None
    run = f" in run {orch['run_id']}" if orch.get("run_id") else ""
    return f"Failed{run}: {' '.join(str(orch.get('reason') or 'no reason recorded').split())}"


def unit_text(tag: TagData, unit: Task | Subtask, subtask_status: str | None = None) -> str:
    lines = [
        f"{'Subtask' if isinstance(unit, Subtask) else 'Task'} {unit.uid}: {unit.title}",
        f"Status:       {unit.status}",
        f"Priority:     {unit.priority or '-'}",
        f"Dependencies: {_deps_text(unit.dependencies)}",
        f"Description:  {unit.description}",
    ]
    failure = _orchestrator_failure(unit)
    if failure:
        lines.append(failure)
    if unit.details:
        lines += ["", "Details:", unit.details]
    if unit.test_strategy:
        lines += ["", "Test strategy:", unit.test_strategy]
    if isinstance(unit, Task) and unit.subtasks:
        subs = [s for s in unit.subtasks if subtask_status is None or s.status == subtask_status]
        rows = [[s.uid, _cut(s.title, 60), s.status, _deps_text(s.dependencies)] for s in subs]
        if rows:
            lines += ["", "Subtasks:", *_table(rows, ["ID", "Title", "Status", "Dependencies"])]
        else:
            lines += ["", f"No subtasks with status '{subtask_status}'"]
    return "\n".join(lines)


# ---------------------------------------------------------------- generate
# Byte for byte what task-master-ai 0.43.1 writes (its TaskFileGenerator in tm-core).

_DEP_SYMBOLS = {"done": " ✓", "in-progress": " ⧖", "blocked": " ⛔", "cancelled": " ✗", "deferred": " ⏸"}


def _dep_marks(tag: TagData, deps: list[Any]) -> str:
    """Top-level dependencies with the status mark of the task they name ("P.S" names none: no mark)."""
    by_id = {str(t.id): t for t in tag.tasks}
    out = []
    for d in deps:
        key = dep_key(d)
        found = by_id.get(key)
        out.append(key + (_DEP_SYMBOLS.get(found.status, "") if found else ""))
    return ", ".join(out)


def _subtask_markdown(task: Task, s: Subtask) -> str:
    text = f"\n### {task.id}.{s.id}. {s.title}\n\n**Status:** {s.status or 'pending'}  \n"
    if s.dependencies:
        deps = ", ".join(d if isinstance(d, str) and "." in d else f"{task.id}.{d}" for d in s.dependencies)
        text += f"**Dependencies:** {deps}  \n"
    else:
        text += "**Dependencies:** None  \n"
    text += "\n"
    if s.description:
        text += f"{s.description}\n"
    if s.details:
        text += f"\n**Details:**\n\n{s.details}\n"
    return text


def task_markdown(tag: TagData, task: Task) -> str:
    deps = _dep_marks(tag, task.dependencies) if task.dependencies else "None"
    text = (
        f"# Task ID: {task.id}\n\n**Title:** {task.title}\n\n**Status:** {task.status or 'pending'}\n\n"
        f"**Dependencies:** {deps}\n\n**Priority:** {task.priority or 'medium'}\n\n"
        f"**Description:** {task.description}\n\n**Details:**\n\n{task.details or 'No details provided.'}\n\n"
        f"**Test Strategy:**\n\n{task.test_strategy or 'No test strategy provided.'}\n"
    )
    if task.subtasks:
        text += "\n## Subtasks\n" + "".join(_subtask_markdown(task, s) for s in task.subtasks)
    return re.sub(r"\n{3,}", "\n\n", text)


def task_file_name(tag: str, task_id: int) -> str:
    """task_001.md for master, task_001_<tag>.md (the tag name as it is) for other tags."""
    return f"task_{task_id:03d}.md" if tag == DEFAULT_TAG else f"task_{task_id:03d}_{tag}.md"


def _orphans(tag: TagData, out_dir: Path) -> list[Path]:
    """This tag's task files whose task no longer exists."""
    pattern = re.compile(
        r"^task_(\d+)\.md$" if tag.name == DEFAULT_TAG else rf"^task_(\d+)_{re.escape(tag.name)}\.md$"
    )
    ids = {str(t.id) for t in tag.tasks}
    return [
        p
        for p in sorted(out_dir.glob("task_*.md"))
        if (m := pattern.match(p.name)) and str(int(m.group(1))) not in ids
    ]


def generate_files(tag: TagData, out_dir: Path, removed: list[Path] | None = None) -> list[Path]:
    """Write one Markdown file per task, after removing this tag's files for tasks that no longer exist
    (listed in `removed` when given). A tag without tasks writes and removes nothing, as task-master."""
    from ..files import write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    if not tag.tasks:
        return []
    for old in _orphans(tag, out_dir):
        old.unlink()
        if removed is not None:
            removed.append(old)
    written = []
    for t in tag.tasks:
        path = out_dir / task_file_name(tag.name, t.id)
        write_text(path, task_markdown(tag, t))
        written.append(path)
    return written
