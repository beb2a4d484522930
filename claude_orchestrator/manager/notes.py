"""Notes and research (task-master's update-subtask, update-task --append and research): the manager writes
the text, which is appended to the unit's details in task-master's `<info added on …>` block, or returned.
The model is asked before the database is locked; nothing is written if the unit vanished meanwhile."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import InputError
from ..taskmaster import ops
from ..taskmaster.model import Subtask, TagData, Task
from ..taskmaster.store import TaskStore
from .core import Manager, _research_note
from .schemas import NoteAnswer, ResearchAnswer

MAX_FILE_CHARS = 40_000
MAX_TREE_ENTRIES = 400
_SKIP_DIRS = {
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    "dist",
    "build",
}
DETAIL_NOTES = {
    "low": "2-4 short paragraphs, essentials and key steps only, no introduction or summary",
    "medium": "4-8 paragraphs with examples, headings and bullet points",
    "high": "exhaustive: approaches compared, code snippets, step-by-step guidance, edge cases and pitfalls",
}


def _brief(unit: Task | Subtask) -> str:
    return json.dumps(
        {"id": unit.uid, "title": unit.title, "status": unit.status, "description": unit.description}
    )


def _unit_context(data: TagData, unit: Task | Subtask) -> str:
    if isinstance(unit, Task):
        return f"Task {unit.uid}: {unit.title}\nDescription: {unit.description}"
    parent = data.task(unit.parent_id)
    assert parent is not None
    lines = [f"Parent task: {_brief(parent)}"]
    i = parent.subtasks.index(unit)
    if i > 0:
        lines.append(f"Previous subtask: {_brief(parent.subtasks[i - 1])}")
    if i + 1 < len(parent.subtasks):
        lines.append(f"Next subtask: {_brief(parent.subtasks[i + 1])}")
    lines.append(f"Subtask {unit.uid}: {unit.title}\nDescription: {unit.description}")
    return "\n".join(lines)


def append_note(
    manager: Manager,
    store: TaskStore,
    unit_id: str,
    prompt: str,
    *,
    research: bool = False,
    tag: str | None = None,
) -> tuple[Task | Subtask, str]:
    """Ask the manager what to add to `unit_id`'s details for `prompt`, append it; return (unit, note)."""
    if not prompt.strip():
        raise InputError("the prompt (what to add) is empty")
    data = store.load(tag)
    unit = data.find(unit_id)
    if isinstance(unit, Task) and unit.status == "done":
        raise InputError(f"task {unit.uid} is done; done tasks are locked (set it to pending to change it)")
    answer = manager._ask(
        NoteAnswer,
        "update_note",
        research=research,
        task_id=unit.uid,
        kind="subtask" if isinstance(unit, Subtask) else "task",
        uid=unit.uid,
        context=_unit_context(data, unit),
        details=unit.details or "(no details yet)",
        prompt=prompt,
        research_note=_research_note(research),
    )
    with store.edit(tag) as live:
        target = live.find(unit.uid)
        target.details = ops.append_note(target.details, answer.note)
    return target, answer.note


def _file_tree(root: Path) -> str:
    entries: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        rel = Path(folder).relative_to(root)
        entries += [str(rel / f) if str(rel) != "." else f for f in sorted(files)]
        if len(entries) >= MAX_TREE_ENTRIES:
            return "\n".join(entries[:MAX_TREE_ENTRIES]) + f"\n... (more than {MAX_TREE_ENTRIES} files)"
    return "\n".join(entries) or "(no files)"


def research_context(
    store: TaskStore, *, ids: list[str], files: list[str], context: str, tree: bool, tag: str | None
) -> str:
    """The project context for a research question: the tasks asked for, files, a note, the file tree."""
    parts: list[str] = []
    data = store.load(tag)
    for i in ids:
        unit = data.find(i)
        parts.append(
            f"## {'Subtask' if isinstance(unit, Subtask) else 'Task'} {unit.uid}: {unit.title} [{unit.status}]\n"
            f"{unit.description}\n{unit.details}".rstrip()
        )
    root = store.root.resolve()
    for name in files:
        path = (root / name).resolve()
        if not path.is_relative_to(root):
            raise InputError(f"{name}: outside the project; research reads files inside it only")
        if not path.is_file():
            raise InputError(f"{name}: no such file")
        text = path.read_text(encoding="utf-8", errors="replace")
        cut = f"\n... ({len(text) - MAX_FILE_CHARS} more characters)" if len(text) > MAX_FILE_CHARS else ""
        parts.append(f"## File {name}\n```\n{text[:MAX_FILE_CHARS]}{cut}\n```")
    if context.strip():
        parts.append(f"## Additional context\n{context.strip()}")
    if tree:
        parts.append(f"## Project files\n{_file_tree(root)}")
    return "\n\n".join(parts) or "(none given)"


def research(manager: Manager, prompt: str, context: str, *, detail: str = "medium") -> str:
    if not prompt.strip():
        raise InputError("the research question is empty")
    if detail not in DETAIL_NOTES:
        raise InputError(f"invalid detail level '{detail}' (expected low, medium or high)")
    answer = manager._ask(
        ResearchAnswer,
        "research",
        research=True,
        prompt=prompt,
        context=context,
        detail=detail,
        detail_note=DETAIL_NOTES[detail],
        research_note=_research_note(True),
    )
    return answer.answer.strip()
