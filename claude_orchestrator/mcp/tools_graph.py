"""Tools on the graph's shape and the project: add_dependency, remove_dependency, fix_dependencies,
move_task, generate, initialize_project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from ..taskmaster import moves, ops
from ..taskmaster.graph import TaskGraph
from ..taskmaster.store import stamp_metadata
from .spec import FILE, REQUIRED, Call, Param, ToolSpec


def _ref(text: str) -> int | str:
    """How Task Master reports an id: an int for a task, "P.S" for a subtask."""
    return text if "." in text else int(text) if text.isdigit() else text


def _dependency(c: Call, adding: bool) -> dict[str, Any]:
    unit, dep = c.need("id"), c.need("dependsOn")
    fn = ops.add_dependency if adding else ops.remove_dependency
    with c.store.edit(c.explicit_tag) as data:
        changed = fn(data, unit, dep)
    if adding:
        message = f"Successfully added dependency: Task {unit} now depends on {dep}"
    else:
        message = f"Successfully removed dependency: Task {unit} no longer depends on {dep}"
    if not changed:
        message = f"Task {unit} {'already depends' if adding else 'did not depend'} on {dep}; nothing changed"
    return {"message": message, "taskId": _ref(unit), "dependencyId": _ref(dep)}


def add_dependency(c: Call) -> dict[str, Any]:
    return _dependency(c, True)


def remove_dependency(c: Call) -> dict[str, Any]:
    return _dependency(c, False)


def fix_dependencies(c: Call) -> dict[str, Any]:
    with c.store.edit(c.explicit_tag) as data:
        changes = TaskGraph(data).fix()
        tag = data.name
    return {
        "message": "Dependencies fixed successfully" if changes else "No dependency problems found",
        "changes": changes,
        "tasksPath": str(c.store.tasks_path),
        "tag": tag,
    }


def move_task(c: Call) -> dict[str, Any]:
    source = c.need("from")
    from_tag, to_tag = c.text("fromTag"), c.text("toTag")
    if from_tag or to_tag:
        if not (from_tag and to_tag):
            raise InputError("a move between tags needs both fromTag and toTag")
        with c.store.edit_document() as doc:
            moved = moves.move_across(
                doc,
                source,
                from_tag,
                to_tag,
                with_deps=c.flag("withDependencies"),
                ignore_deps=c.flag("ignoreDependencies"),
            )
            for name in (from_tag, to_tag):
                stamp_metadata(doc.tags[name])
        return {
            "message": f'Successfully moved {len(moved)} task(s) from "{from_tag}" to "{to_tag}"',
            "movedTasks": moved,
            "sourceTag": from_tag,
            "targetTag": to_tag,
        }
    dest = c.need("to")
    with c.store.edit(c.explicit_tag) as data:
        items = [u.to_json() for u in moves.move_many(data, source, dest)]
    if len(items) == 1:
        return {"message": f"Successfully moved task/subtask {source} to {dest}", "movedItem": items[0]}
    return {"message": f"Successfully moved {len(items)} tasks/subtasks", "moves": items}


def generate(c: Call) -> dict[str, Any]:
    from ..taskmaster.render import generate_files

    data = c.load()
    out = c.path("output") or c.store.tasks_path.parent
    orphans: list[Path] = []
    written = generate_files(data, out, orphans)
    removed = len(orphans)
    return {
        "message": f"Successfully generated {len(written)} task file(s)",
        "count": len(written),
        "directory": str(out),
        "orphanedFilesRemoved": removed,
    }


def initialize_project(c: Call) -> dict[str, Any]:
    from ..project import init_orchestrator

    root = c.project
    notes = []
    if c.args.get("initGit") is not False and not (root / ".git").exists():
        import git

        git.Repo.init(root)
        notes.append("initialised a git repository")
    created = init_orchestrator(root, None)
    if c.args.get("rules"):
        notes.append("rule profiles are not installed by claude-orchestrator (use skill packs instead)")
    return {
        "message": "Project initialized successfully." if created else "Project was already initialized.",
        "created": [str(p) for p in created],
        "notes": notes,
        "next_step": "Write a PRD to .taskmaster/docs/prd.txt, then call parse_prd.",
    }


_FROM = Param("from", str, REQUIRED, "Id(s) to move, e.g. '5' or '5.2' (comma-separated for several).")

TOOLS = [
    ToolSpec(
        "add_dependency",
        "Add a dependency relationship between two tasks (refused if it would make a cycle)",
        add_dependency,
        (
            Param("id", str, REQUIRED, "Id of the task that will depend on another."),
            Param("dependsOn", str, REQUIRED, "Id of the task it will depend on."),
            FILE,
        ),
        title="Add Dependency",
        destructive=True,
    ),
    ToolSpec(
        "remove_dependency",
        "Remove a dependency from a task",
        remove_dependency,
        (
            Param("id", str, REQUIRED, "Id of the task to remove the dependency from."),
            Param("dependsOn", str, REQUIRED, "Id of the dependency to remove."),
            FILE,
        ),
        title="Remove Dependency",
        destructive=True,
    ),
    ToolSpec(
        "fix_dependencies",
        "Fix invalid dependencies (unknown, self, duplicate, circular) automatically",
        fix_dependencies,
        (FILE,),
        title="Fix Dependencies",
        destructive=True,
    ),
    ToolSpec(
        "move_task",
        "Move a task or subtask to a new id or position, or tasks to another tag (fromTag/toTag)",
        move_task,
        (
            _FROM,
            Param("to", str, None, "Destination id(s), e.g. '7' or '7.3' (within a tag)."),
            FILE,
            Param("fromTag", str, None, "Source tag, for a move between tags."),
            Param("toTag", str, None, "Target tag, for a move between tags."),
            Param("withDependencies", bool, None, "Between tags: move their dependencies along."),
            Param("ignoreDependencies", bool, None, "Between tags: drop links to tasks left behind."),
        ),
        title="Move Task",
        destructive=True,
    ),
    ToolSpec(
        "generate",
        "Generates individual Markdown task files (task_001.md) from tasks.json",
        generate,
        (Param("output", str, None, "Output folder (default: beside tasks.json)."), FILE),
        title="Generate Task Files",
        destructive=True,
    ),
    ToolSpec(
        "initialize_project",
        "Initializes the project: .taskmaster/ (as task-master init makes it), orchestrator_config.json, "
        ".env.example and .gitignore lines; existing files are kept.",
        initialize_project,
        (
            Param("initGit", bool, None, "Create a git repository when there is none (default true)."),
            Param("skipInstall", bool, None, "Accepted for compatibility."),
            Param("addAliases", bool, None, "Accepted for compatibility (no shell file is changed)."),
            Param("storeTasksInGit", bool, None, "Accepted for compatibility."),
            Param("yes", bool, None, "Accepted for compatibility."),
            Param("rules", list[str], None, "Accepted for compatibility (no rule profiles are installed)."),
        ),
        title="Initialize Project",
        destructive=True,
        needs_project=False,
    ),
]
