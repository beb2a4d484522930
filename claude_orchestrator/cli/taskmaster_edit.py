"""`task-master set-status | add-task | remove-task | add/remove-dependency | validate/fix-dependencies |
generate`: the non-AI commands that change one tag (add-task --prompt hands over to the manager)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..taskmaster.ids import parse_ids
from .common import echo_json
from .taskmaster_common import _ctx, confirm_or_refuse, core_options, legacy_options, record_option


@click.command("set-status")
@click.argument("ids_arg", required=False)
@click.argument("status_arg", required=False)
@click.option("-i", "--id", "ids", default=None, help="Comma list: 1,2.1")
@click.option("-s", "--status", default=None)
@click.option("--silent", is_flag=True, help="Print nothing.")
@core_options(tag=False)
def set_status_cmd(
    ids_arg: str | None, status_arg: str | None, ids: str | None, status: str | None, silent: bool, **kw: Any
) -> None:
    """Set the status of tasks/subtasks (a parent follows its subtasks)."""
    from ..errors import InputError
    from ..taskmaster import ops

    c = _ctx(kw)
    ids = ids_arg or ids
    status = status_arg or status
    if not ids or not status:
        raise InputError("set-status needs ids and a status: `set-status --id=1,2.1 --status=done`")
    ops.check_status(status)
    wanted = parse_ids(ids)
    with c.store.edit(c.explicit_tag) as data:
        old = [(i, data.find(i).status) for i in wanted]
        changed = ops.set_status(data, wanted, status)
    if c.json:
        updated = [{"taskId": i, "oldStatus": o, "newStatus": status} for i, o in old]
        echo_json({"success": True, "updatedTasks": updated, "storageType": "file"})
    elif not silent:
        note = f" (changed: {', '.join(changed)})" if changed else " (no change)"
        click.echo(f"Set {ids} to {status}{note}")


@click.command("add-task")
@click.option("-p", "--prompt", default=None, help="Describe the task; the manager writes it.")
@click.option("-t", "--title", default=None, help="Task title (manual creation).")
@click.option("-d", "--description", default=None, help="Task description (manual creation).")
@click.option("--details", default="")
@click.option("--test-strategy", default="")
@click.option("--dependencies", default="", help="Comma list of task ids.")
@click.option("--priority", default=None, help="low, medium, high or critical.")
@click.option("-r", "--research", is_flag=True)
@record_option
@legacy_options()
def add_task_cmd(title: str | None, description: str | None, prompt: str | None, **kw: Any) -> None:
    """Add a task: manually (--title --description) or by --prompt (AI)."""
    from ..taskmaster import ops

    c = _ctx(kw)
    if prompt is not None and title is None:
        from . import taskmaster_ai

        taskmaster_ai.add_task(c.store, c.tag, prompt, **kw)
        return
    priority = kw["priority"] or c.store.config().get("global", {}).get("defaultPriority") or "medium"
    with c.store.edit(c.explicit_tag) as data:
        task = ops.add_task(
            data,
            title or "",
            description or "",
            details=kw["details"],
            test_strategy=kw["test_strategy"],
            priority=priority,
            dependencies=parse_ids(kw["dependencies"]),
        )
    click.echo(f"Added task {task.id}: {task.title}")


@click.command("remove-task")
@click.option("-i", "--id", "ids", required=True, help="Comma list: 5,6.1")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@legacy_options()
def remove_task_cmd(ids: str, yes: bool, **kw: Any) -> None:
    """Remove tasks/subtasks (and every dependency on them)."""
    from ..taskmaster import ops

    c = _ctx(kw)
    wanted = parse_ids(ids)
    data = c.load()
    units = [data.find(i) for i in wanted]
    subs = sum(len(getattr(u, "subtasks", ())) for u in units)
    what = ", ".join(f"{u.uid} ({u.title})" for u in units) + (f" and {subs} subtask(s)" if subs else "")
    if not confirm_or_refuse(what, yes):
        return
    with c.store.edit(c.explicit_tag) as data:
        removed = ops.remove_task(data, wanted)
    click.echo(f"Removed {', '.join(removed)}")


def _dep_cmd(name: str, adding: bool) -> click.Command:
    @click.option("-i", "--id", "unit_id", required=True)
    @click.option("-d", "--depends-on", required=True)
    @legacy_options()
    def cmd(unit_id: str, depends_on: str, **kw: Any) -> None:
        from ..taskmaster import ops

        c = _ctx(kw)
        fn = ops.add_dependency if adding else ops.remove_dependency
        with c.store.edit(c.explicit_tag) as data:
            changed = fn(data, unit_id, depends_on)
        verb = "now depends on" if adding else "no longer depends on"
        click.echo(f"{unit_id} {verb} {depends_on}" + ("" if changed else " (unchanged)"))

    cmd.__doc__ = f"{'Add' if adding else 'Remove'} a dependency (ids N or P.S)."
    return click.command(name)(cmd)


add_dependency_cmd = _dep_cmd("add-dependency", True)
remove_dependency_cmd = _dep_cmd("remove-dependency", False)


@click.command("validate-dependencies")
@legacy_options()
def validate_cmd(**kw: Any) -> None:
    """Report unknown, self, duplicate and circular dependencies (exit 1 if any)."""
    from ..taskmaster.graph import TaskGraph

    c = _ctx(kw)
    data = c.load()
    problems = TaskGraph(data).problems()
    if not problems:
        click.echo(f"All dependencies are valid (tag '{data.name}', {len(data.tasks)} tasks).")
        return
    click.echo(f"{len(problems)} dependency problem(s) in tag '{data.name}':")
    for p in problems:
        click.echo(f"  - {p}")
    sys.exit(1)


@click.command("fix-dependencies")
@legacy_options()
def fix_cmd(**kw: Any) -> None:
    """Remove unknown, self, duplicate and circular dependencies."""
    from ..taskmaster.graph import TaskGraph

    c = _ctx(kw)
    with c.store.edit(c.explicit_tag) as data:
        changes = TaskGraph(data).fix()
    click.echo("\n".join(changes) if changes else "No dependency problems found.")


@click.command("generate")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None)
@core_options()
def generate_cmd(output: Path | None, **kw: Any) -> None:
    """Write one Markdown file per task (task_001.md)."""
    from ..taskmaster.render import generate_files

    c = _ctx(kw)
    out = output or c.store.tasks_path.parent
    removed: list[Path] = []
    paths = generate_files(c.load(), out, removed)
    if c.json:
        echo_json(
            {
                "success": True,
                "count": len(paths),
                "directory": str(out),
                "orphanedFilesRemoved": len(removed),
            }
        )
    else:
        click.echo(f"Wrote {len(paths)} task files to {out}")
