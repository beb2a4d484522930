"""`task-master add-subtask | remove-subtask | clear-subtasks`."""

from __future__ import annotations

from typing import Any

import click

from ..taskmaster.ids import parse_ids
from .taskmaster_common import _ctx, common


@click.command("add-subtask")
@click.option("--parent", required=True)
@click.option("--title", default=None)
@click.option("-d", "--description", default="")
@click.option("--details", default="")
@click.option("--dependencies", default="")
@click.option("-s", "--status", default="pending")
@click.option("-i", "--task-id", default=None, hidden=True)
@common
def add_subtask_cmd(parent: str, title: str | None, task_id: str | None, **kw: Any) -> None:
    """Add a subtask to a task."""
    from ..errors import InputError
    from ..taskmaster import ops

    c = _ctx(kw)
    if task_id is not None:
        raise InputError("converting a task into a subtask (--task-id) is not supported; use --title")
    with c.store.edit(c.explicit_tag) as data:
        sub = ops.add_subtask(
            data,
            parent,
            title or "",
            description=kw["description"],
            details=kw["details"],
            dependencies=parse_ids(kw["dependencies"]),
            status=kw["status"],
        )
    click.echo(f"Added subtask {sub.uid}: {sub.title}")


@click.command("remove-subtask")
@click.option("-i", "--id", "ids", required=True, help="P.S[,P.S]")
@common
def remove_subtask_cmd(ids: str, **kw: Any) -> None:
    """Remove subtasks (and every dependency on them)."""
    from ..errors import InputError
    from ..taskmaster import ops

    c = _ctx(kw)
    wanted = parse_ids(ids)
    if not all("." in i for i in wanted):
        raise InputError("remove-subtask takes subtask ids (P.S); use remove-task for tasks")
    with c.store.edit(c.explicit_tag) as data:
        removed = ops.remove_task(data, wanted)
    click.echo(f"Removed {', '.join(removed)}")


@click.command("clear-subtasks")
@click.option("-i", "--id", "ids", default=None)
@click.option("--all", "all_", is_flag=True)
@common
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
