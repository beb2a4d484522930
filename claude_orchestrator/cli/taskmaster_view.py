"""`task-master list | ls | next | show`: read-only views (the new core's commands and flags)."""

from __future__ import annotations

from typing import Any

import click

from .common import echo_json
from .taskmaster_common import _ctx, core_options


@click.command("list")
@click.argument("status_arg", required=False)
@click.option("-s", "--status", default=None, help="Comma list of statuses to show.")
@click.option("--with-subtasks", is_flag=True, help="Include subtasks.")
@click.option("--json", "as_json", is_flag=True, help="JSON output (same as -f json).")
@click.option("-c", "--compact", is_flag=True, help="One line per task.")
@click.option("--no-header", is_flag=True, hidden=True)
@click.option("--silent", is_flag=True, help="Print nothing.")
@click.option("-w", "--watch", is_flag=True, help="Redraw whenever tasks.json changes.")
@click.option("--ready", is_flag=True, help="Only tasks whose dependencies are satisfied.")
@click.option("--blocking", is_flag=True, help="Only tasks other tasks depend on.")
@click.option("--all-tags", is_flag=True, help="Tasks of every tag.")
@core_options(formats=("text", "json", "compact"))
def list_cmd(
    status_arg: str | None, status: str | None, with_subtasks: bool, as_json: bool, **kw: Any
) -> None:
    """List the tag's tasks (`all` as the status shows subtasks too)."""
    from ..taskmaster.ids import parse_ids
    from ..taskmaster.ops import check_status

    compact = kw.pop("compact") or kw.get("fmt") == "compact"
    flags = {k: kw.pop(k) for k in ("ready", "blocking", "all_tags", "silent", "watch", "no_header")}
    c = _ctx(kw, as_json)
    if status_arg == "all":
        with_subtasks, status_arg = True, None
    wanted = [s for s in parse_ids(status or status_arg or "") if s != "all"] or None
    for s in wanted or ():
        check_status(s)
    view = dict(
        statuses=wanted, with_subtasks=with_subtasks, ready=flags["ready"], blocking=flags["blocking"]
    )
    if flags["watch"]:
        from .taskmaster_watch import watch_list

        watch_list(c, compact=compact, **view)
        return
    if flags["silent"]:
        c.load()
        return
    click.echo(list_output(c, compact=compact, all_tags=flags["all_tags"], **view))


def list_output(c: Any, *, compact: bool, all_tags: bool = False, **view: Any) -> str:
    """The text, compact or JSON listing for the context's tag (or every tag)."""
    import json

    from ..taskmaster import listing, render
    from ..taskmaster.graph import TaskGraph
    from ..taskmaster.reports import complexity_by_task

    if all_tags:
        doc = c.store.read_document()
        tags = [doc.tag(name) for name in doc.tags] or [c.load()]
        if c.json:
            return json.dumps(listing.list_all_tags_json(tags, **view), indent=2, ensure_ascii=False)
        return "\n\n".join(render.list_text(t, compact=compact, **view) for t in tags)
    data = c.load()
    if c.json:
        report = complexity_by_task(c.store, data.name)
        return json.dumps(listing.list_json(data, complexity=report, **view), indent=2, ensure_ascii=False)
    return render.list_text(data, nxt=TaskGraph(data).next_task(), compact=compact, **view)


@click.command("next")
@click.option("--json", "as_json", is_flag=True, help="JSON output (same as -f json).")
@click.option("--silent", is_flag=True, help="Print nothing.")
@core_options()
def next_cmd(as_json: bool, silent: bool, **kw: Any) -> None:
    """Show the next task to work on (task-master's getNextTask)."""
    from ..taskmaster import render
    from ..taskmaster.graph import TaskGraph

    c = _ctx(kw, as_json)
    data = c.load()
    unit = TaskGraph(data).next_task()
    if silent:
        return
    if c.json:
        echo_json(render.next_json(data, unit))
    elif not data.tasks:
        click.echo(f"No tasks in tag '{data.name}' yet.")
        click.echo("Tip: create tasks with task-master parse-prd or task-master add-task")
    elif unit is None:
        click.echo("No eligible next task: every task is done, blocked by dependencies, or not pending.")
    else:
        click.echo("Next task:\n" + render.unit_text(data, unit))


@click.command("show")
@click.argument("ids", required=False)
@click.option("-i", "--id", "id_opt", default=None, help="Task ID(s), comma-separated.")
@click.option("-s", "--status", default=None, help="Show only subtasks with this status.")
@click.option("--json", "as_json", is_flag=True, help="JSON output (same as -f json).")
@click.option("--silent", is_flag=True, help="Print nothing.")
@core_options(tag=False)
def show_cmd(
    ids: str | None, id_opt: str | None, status: str | None, as_json: bool, silent: bool, **kw: Any
) -> None:
    """Show tasks or subtasks: ID[,ID] with subtasks as P.S."""
    from ..errors import InputError, NotFoundError
    from ..taskmaster import render
    from ..taskmaster.ids import parse_ids
    from ..taskmaster.ops import check_status

    c = _ctx(kw, as_json)
    asked = parse_ids(ids or id_opt or "")
    if not asked:
        raise InputError("show needs a task id, e.g. `task-master show 3` or `show 3.1`")
    if status:
        check_status(status)
    data = c.load()
    units, missing = [], []
    for i in asked:
        try:
            units.append(data.find(i))
        except NotFoundError:
            if len(asked) == 1:
                raise
            missing.append(i)
    if silent:
        return
    if c.json:
        from ..taskmaster.reports import complexity_by_task

        echo_json(render.show_json(units, asked, missing, complexity_by_task(c.store, data.name)))
        return
    click.echo("\n\n".join(render.unit_text(data, u, subtask_status=status) for u in units))
    if missing:
        click.echo(f"Not found: {', '.join(missing)}", err=True)
