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


def show_json(units: list[Task | Subtask], asked: list[str], not_found: list[str]) -> dict[str, Any]:
    if len(asked) == 1 and units:
        out: dict[str, Any] = {"task": units[0].to_json(), "found": True, "storageType": "file"}
        if isinstance(units[0], Subtask):
            out["originalTaskId"] = units[0].uid
        return out
    return {"tasks": [u.to_json() for u in units], "notFound": not_found, "storageType": "file"}


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


def unit_text(tag: TagData, unit: Task | Subtask, subtask_status: str | None = None) -> str:
    lines = [
        f"{'Subtask' if isinstance(unit, Subtask) else 'Task'} {unit.uid}: {unit.title}",
        f"Status:       {unit.status}",
        f"Priority:     {unit.priority or '-'}",
        f"Dependencies: {_deps_text(unit.dependencies)}",
        f"Description:  {unit.description}",
    ]
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


def _dep_marks(tag: TagData, deps: list[Any]) -> str:
    if not deps:
        return "None"
    out = []
    for d in deps:
        try:
            done = tag.find(dep_key(d)).status == "done"
        except Exception:
            done = False
        out.append(f"{dep_key(d)}{' ✓' if done else ''}")
    return ", ".join(out)


def task_markdown(tag: TagData, task: Task) -> str:
    lines = [
        f"# Task ID: {task.id}",
        "",
        f"**Title:** {task.title}",
        "",
        f"**Status:** {task.status}",
        "",
        f"**Dependencies:** {_dep_marks(tag, task.dependencies)}",
        "",
        f"**Priority:** {task.priority}",
        "",
        f"**Description:** {task.description}",
        "",
        "**Details:**",
        "",
        task.details or "No details provided.",
        "",
        "**Test Strategy:**",
        "",
        task.test_strategy or "No test strategy provided.",
    ]
    if task.subtasks:
        lines += ["", "## Subtasks"]
        for s in task.subtasks:
            lines += [
                "",
                f"### {s.uid}. {s.title}",
                "",
                f"**Status:** {s.status}  ",
                f"**Dependencies:** {_dep_marks(tag, s.dependencies)}  ",
                "",
                s.description or "",
            ]
            if s.details:
                lines += ["", s.details]
    return "\n".join(lines) + "\n"


def tag_slug(tag: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "-", tag).lower()[:50]


def task_file_name(tag: str, task_id: int) -> str:
    suffix = "" if tag == DEFAULT_TAG else f"_{tag_slug(tag)}"
    return f"task_{task_id:03d}{suffix}.md"


def generate_files(tag: TagData, out_dir: Path, removed: list[Path] | None = None) -> list[Path]:
    """Write one Markdown file per task; remove this tag's files for tasks that no longer exist (listed
    in `removed` when given)."""
    from ..files import write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    keep = set()
    for t in tag.tasks:
        path = out_dir / task_file_name(tag.name, t.id)
        write_text(path, task_markdown(tag, t))
        keep.add(path.name)
        written.append(path)
    suffix = "" if tag.name == DEFAULT_TAG else f"_{tag_slug(tag.name)}"
    pattern = re.compile(rf"^task_\d{{3,}}{re.escape(suffix)}\.md$")
    for old in out_dir.glob("task_*.md"):
        if pattern.match(old.name) and old.name not in keep:
            old.unlink()
            if removed is not None:
                removed.append(old)
    return written
