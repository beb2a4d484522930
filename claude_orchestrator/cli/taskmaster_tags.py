"""`task-master tags [list|add|use|remove]` (and the older add-tag/use-tag/delete-tag aliases)."""

from __future__ import annotations

from typing import Any

import click

from .common import echo_json
from .taskmaster_common import _ctx, common


@click.group("tags", invoke_without_command=True)
@click.pass_context
@common
def tags_group(ctx: click.Context, **kw: Any) -> None:
    """List tags, or add/use/remove one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(tags_list, **kw)


@tags_group.command("list")
@click.option("--show-metadata", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@common
def tags_list(show_metadata: bool = False, as_json: bool = False, **kw: Any) -> None:
    """List tags with task counts (* marks the current one)."""
    c = _ctx(kw, as_json)
    doc = c.store.read_document()
    current = c.store.current_tag()
    rows = []
    for name in list(doc.tags) or ["master"]:
        tag = doc.tag(name)
        done = sum(1 for t in tag.tasks if t.status == "done")
        rows.append({"name": name, "current": name == current, "tasks": len(tag.tasks), "completed": done})
        if show_metadata:
            rows[-1]["metadata"] = tag.metadata
    if c.json:
        echo_json({"tags": rows, "currentTag": current})
        return
    for r in rows:
        mark = "*" if r["current"] else " "
        click.echo(f"{mark} {r['name']}  ({r['tasks']} tasks, {r['completed']} done)")


@tags_group.command("add")
@click.argument("name")
@click.option("--copy-from", default=None)
@click.option("--description", default=None)
@common
def tags_add(name: str, copy_from: str | None, description: str | None, **kw: Any) -> None:
    """Create a tag (optionally a copy of another)."""
    c = _ctx(kw)
    c.store.add_tag(name, description=description, copy_from=copy_from)
    click.echo(f"Created tag '{name}'")


@tags_group.command("use")
@click.argument("name")
@common
def tags_use(name: str, **kw: Any) -> None:
    """Switch the current tag (state.json currentTag)."""
    c = _ctx(kw)
    c.store.use_tag(name)
    click.echo(f"Switched to tag '{name}'")


@tags_group.command("remove")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True)
@common
def tags_remove(name: str, yes: bool, **kw: Any) -> None:
    """Delete a tag and its tasks."""
    c = _ctx(kw)
    c.store.remove_tag(name)
    click.echo(f"Removed tag '{name}'")


@tags_group.command("rename")
@click.argument("old")
@click.argument("new")
@common
def tags_rename(old: str, new: str, **kw: Any) -> None:
    """Rename a tag."""
    _ctx(kw).store.rename_tag(old, new)
    click.echo(f"Renamed tag '{old}' to '{new}'")


@tags_group.command("copy")
@click.argument("source")
@click.argument("target")
@click.option("--description", default=None)
@common
def tags_copy(source: str, target: str, description: str | None, **kw: Any) -> None:
    """Copy a tag with its tasks."""
    _ctx(kw).store.add_tag(target, description=description, copy_from=source)
    click.echo(f"Copied tag '{source}' to '{target}'")
