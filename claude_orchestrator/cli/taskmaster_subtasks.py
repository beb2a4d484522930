"""`task-master add-subtask | remove-subtask | clear-subtasks`."""

from __future__ import annotations

from typing import Any

import click

from ..taskmaster.ids import parse_ids
from .taskmaster_common import _ctx, legacy_options


@click.command("add-subtask")
@click.option("-p", "--parent", required=True, help="Parent task id.")
@click.option("-i", "--task-id", default=None, help="Existing task to turn into a subtask.")
@click.option("-t", "--title", default=None, help="Title of the new subtask.")
@click.option("-d", "--description", default="")
@click.option("--details", default="")
@click.option("--dependencies", default="", help="Comma list of ids (N or P.S).")
@click.option("-s", "--status", default="pending")
@click.option("--generate", is_flag=True, help="Regenerate the task files afterwards.")
@legacy_options()
def add_subtask_cmd(parent: str, title: str | None, task_id: str | None, generate: bool, **kw: Any) -> None:
    """Add a subtask to a task, or turn an existing task into one (--task-id)."""
    from ..errors import InputError
    from ..taskmaster import ops
    from ..taskmaster.moves import task_into_parent

    c = _ctx(kw)
    if task_id is not None and title:
        raise InputError("add-subtask takes either --task-id (convert a task) or --title (a new subtask)")
    with c.store.edit(c.explicit_tag) as data:
        if task_id is not None:
            sub = task_into_parent(data, task_id, parent)
            check_acyclic(data)
        else:
            sub = ops.add_subtask(
                data,
                parent,
                title or "",
                description=kw["description"],
                details=kw["details"],
                dependencies=parse_ids(kw["dependencies"]),
                status=kw["status"],
            )
    click.echo(
        f"Task {task_id} is now subtask {sub.uid}" if task_id else f"Added subtask {sub.uid}: {sub.title}"
    )
    _maybe_generate(c, generate)


def check_acyclic(data: Any) -> None:
    """Refuse (nothing is written) a change that made a dependency cycle."""
    from ..errors import DependencyError
    from ..taskmaster.graph import TaskGraph

    cycles = TaskGraph(data).cycles()
    if cycles:
        raise DependencyError(
            f"that would make a dependency cycle: {' -> '.join(cycles[0])}", cycle=cycles[0]
        )


def _maybe_generate(c: Any, generate: bool) -> None:
    if generate:
        from ..taskmaster.render import generate_files

        paths = generate_files(c.load(), c.store.tasks_path.parent)
        click.echo(f"Wrote {len(paths)} task files to {c.store.tasks_path.parent}")


@click.command("remove-subtask")
@click.option("-i", "--id", "ids", required=True, help="P.S[,P.S]")
@click.option("-c", "--convert", is_flag=True, help="Make each a standalone task instead of deleting it.")
@click.option("--generate", is_flag=True, help="Regenerate the task files afterwards.")
@legacy_options()
def remove_subtask_cmd(ids: str, convert: bool, generate: bool, **kw: Any) -> None:
    """Remove subtasks (and every dependency on them), or make them tasks (--convert)."""
    from ..errors import InputError
    from ..taskmaster import ops
    from ..taskmaster.moves import subtask_to_new_task

    c = _ctx(kw)
    wanted = parse_ids(ids)
    if not all("." in i for i in wanted):
        raise InputError("remove-subtask takes subtask ids (P.S); use remove-task for tasks")
    with c.store.edit(c.explicit_tag) as data:
        if convert:
            made = [subtask_to_new_task(data, i) for i in wanted]
            check_acyclic(data)
        else:
            removed = ops.remove_task(data, wanted)
    if convert:
        for i, t in zip(wanted, made, strict=True):
            click.echo(
                f"Subtask {i} is now task {t.id}: {t.title} (depends on {', '.join(map(str, t.dependencies)) or '-'})"
            )
    else:
        click.echo(f"Removed {', '.join(removed)}")
    _maybe_generate(c, generate)


@click.command("clear-subtasks")
@click.option("-i", "--id", "ids", default=None)
@click.option("--all", "all_", is_flag=True)
@legacy_options()
def clear_subtasks_cmd(ids: str | None, all_: bool, **kw: Any) -> None:
    """Remove all subtasks of the given tasks (or of every task with --all)."""
    from ..errors import InputError
    from ..taskmaster import ops

    c = _ctx(kw)
    if not ids and not all_:
        raise InputError("clear-subtasks needs --id=N[,N] or --all")
    with c.store.edit(c.explicit_tag) as data:
        gone = ops.clear_subtasks(data, None if all_ else parse_ids(ids or ""))
    click.echo(f"Removed {len(gone)} subtasks")
