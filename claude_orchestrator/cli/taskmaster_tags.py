"""`task-master tags [list|add|use|remove|rename|copy]` and the older add-tag / use-tag / delete-tag /
rename-tag / copy-tag commands (with their own flags, as task-master-ai has them)."""

from __future__ import annotations

from typing import Any

import click

from .common import echo_json
from .taskmaster_common import _ctx, confirm_or_refuse, tm_options

# `tags` subcommands take no tag and no short flags; --file/--project (long) still pick the database
tags_options = tm_options()


@click.group("tags", invoke_without_command=True)
@click.option("--show-metadata", is_flag=True, help="Show each tag's metadata.")
@click.option("--ready", is_flag=True, help="Only tags with tasks ready to work on.")
@click.pass_context
@tags_options
def tags_group(ctx: click.Context, /, **kw: Any) -> None:
    """List tags, or add/use/remove/rename/copy one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(tags_list, **kw)


@tags_group.command("list")
@click.option("--show-metadata", is_flag=True, help="Show each tag's metadata.")
@click.option("--ready", is_flag=True, help="Only tags with tasks ready to work on.")
@click.option("--json", "as_json", is_flag=True)
@tags_options
def tags_list(show_metadata: bool = False, ready: bool = False, as_json: bool = False, **kw: Any) -> None:
    """List tags with task counts (* marks the current one)."""
    from ..taskmaster.listing import shown_tasks

    c = _ctx(kw, as_json)
    doc = c.store.read_document()
    current = c.store.current_tag()
    rows = []
    for name in list(doc.tags) or ["master"]:
        tag = doc.tag(name)
        n_ready = len(shown_tasks(tag, ready=True).tasks)
        if ready and not n_ready:
            continue
        done = sum(1 for t in tag.tasks if t.status == "done")
        row = {"name": name, "current": name == current, "tasks": len(tag.tasks), "completed": done}
        if ready:
            row["ready"] = n_ready
        if show_metadata:
            row["metadata"] = tag.metadata
        rows.append(row)
    if c.json:
        echo_json({"tags": rows, "currentTag": current})
        return
    for r in rows:
        mark = "*" if r["current"] else " "
        extra = f", {r['ready']} ready" if ready else ""
        click.echo(f"{mark} {r['name']}  ({r['tasks']} tasks, {r['completed']} done{extra})")


def _add(c: Any, name: str | None, description: str | None, copy_from: str | None, from_branch: bool) -> None:
    from ..errors import InputError

    if from_branch:
        name = _branch_tag(c.store.root)
    if not name:
        raise InputError("a tag name is needed (or --from-branch)")
    c.store.add_tag(name, description=description, copy_from=copy_from)
    click.echo(f"Created tag '{name}'" + (f" (a copy of '{copy_from}')" if copy_from else ""))


def _branch_tag(root: Any) -> str:
    """The current git branch as a tag name (characters a tag cannot hold become '-')."""
    import re
    import subprocess

    from ..errors import InputError

    proc = subprocess.run(
        ["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=root, capture_output=True, text=True, check=False
    )
    branch = proc.stdout.strip()
    if proc.returncode != 0 or not branch or branch == "HEAD":
        raise InputError("--from-branch: not on a git branch")
    return re.sub(r"[^A-Za-z0-9_.-]", "-", branch).strip("-.") or "branch"


@tags_group.command("add")
@click.argument("name")
@click.option("--copy-from", default=None, help="Copy the tasks of this tag.")
@click.option("--description", default=None)
@click.option("--from-branch", is_flag=True, help="Name the tag after the current git branch.")
@tags_options
def tags_add(name: str, copy_from: str | None, description: str | None, from_branch: bool, **kw: Any) -> None:
    """Create a tag (optionally a copy of another)."""
    _add(_ctx(kw), name, description, copy_from, from_branch)


@tags_group.command("use")
@click.argument("name")
@tags_options
def tags_use(name: str, **kw: Any) -> None:
    """Switch the current tag (state.json currentTag)."""
    _ctx(kw).store.use_tag(name)
    click.echo(f"Switched to tag '{name}'")


def _remove(c: Any, name: str, yes: bool) -> None:
    from ..errors import NotFoundError

    doc = c.store.read_document()
    if name not in doc.tags:
        raise NotFoundError(f"tag '{name}' does not exist")
    if confirm_or_refuse(f"tag '{name}' and its {len(doc.tags[name].tasks)} task(s)", yes):
        c.store.remove_tag(name)
        click.echo(f"Removed tag '{name}'")


@tags_group.command("remove")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@tags_options
def tags_remove(name: str, yes: bool, **kw: Any) -> None:
    """Delete a tag and its tasks."""
    _remove(_ctx(kw), name, yes)


@tags_group.command("rename")
@click.argument("old")
@click.argument("new")
@tags_options
def tags_rename(old: str, new: str, **kw: Any) -> None:
    """Rename a tag."""
    _ctx(kw).store.rename_tag(old, new)
    click.echo(f"Renamed tag '{old}' to '{new}'")


@tags_group.command("copy")
@click.argument("source")
@click.argument("target")
@click.option("--description", default=None)
@tags_options
def tags_copy(source: str, target: str, description: str | None, **kw: Any) -> None:
    """Copy a tag with its tasks."""
    _ctx(kw).store.add_tag(target, description=description, copy_from=source)
    click.echo(f"Copied tag '{source}' to '{target}'")


# ---- the older commands (deprecated in task-master-ai, still there): -f/--file, -d/--description
legacy = tm_options(file="-f")


@click.command("add-tag")
@click.argument("name", required=False)
@click.option("--copy-from-current", is_flag=True, help="Copy the current tag's tasks.")
@click.option("--copy-from", default=None, help="Copy the tasks of this tag.")
@click.option("--from-branch", is_flag=True, help="Name the tag after the current git branch.")
@click.option("-d", "--description", default=None)
@legacy
def add_tag_cmd(name: str | None, copy_from_current: bool, copy_from: str | None, **kw: Any) -> None:
    """Create a tag (use `tags add`)."""
    c = _ctx(kw)
    source = c.store.current_tag() if copy_from_current else copy_from
    _add(c, name, kw["description"], source, kw["from_branch"])


@click.command("use-tag")
@click.argument("name")
@legacy
def use_tag_cmd(name: str, **kw: Any) -> None:
    """Switch the current tag (use `tags use`)."""
    _ctx(kw).store.use_tag(name)
    click.echo(f"Switched to tag '{name}'")


@click.command("delete-tag")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@legacy
def delete_tag_cmd(name: str, yes: bool, **kw: Any) -> None:
    """Delete a tag and its tasks (use `tags remove`)."""
    _remove(_ctx(kw), name, yes)


@click.command("rename-tag")
@click.argument("old")
@click.argument("new")
@legacy
def rename_tag_cmd(old: str, new: str, **kw: Any) -> None:
    """Rename a tag (use `tags rename`)."""
    _ctx(kw).store.rename_tag(old, new)
    click.echo(f"Renamed tag '{old}' to '{new}'")


@click.command("copy-tag")
@click.argument("source")
@click.argument("target")
@click.option("-d", "--description", default=None)
@legacy
def copy_tag_cmd(source: str, target: str, description: str | None, **kw: Any) -> None:
    """Copy a tag with its tasks (use `tags copy`)."""
    _ctx(kw).store.add_tag(target, description=description, copy_from=source)
    click.echo(f"Copied tag '{source}' to '{target}'")


LEGACY_TAG_COMMANDS = (add_tag_cmd, use_tag_cmd, delete_tag_cmd, rename_tag_cmd, copy_tag_cmd)
