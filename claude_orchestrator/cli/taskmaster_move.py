"""`task-master move`: renumber or reshape within a tag (--from=5 --to=7, 5.2 -> 7.3, 5.2 -> 9, 5 -> 7.3),
or move tasks to another tag (--from=5,6 --from-tag=a --to-tag=b) with their dependency rules."""

from __future__ import annotations

from typing import Any

import click

from ..taskmaster.ids import parse_ids
from .taskmaster_common import _ctx, legacy_options


@click.command("move")
@click.option("--from", "src", default=None, help="Id(s) to move: 5, 5.2, or 5,6,7.")
@click.option("--to", "dest", default=None, help="Destination id(s), as many as --from.")
@click.option("--from-tag", default=None, help="Source tag of a move across tags.")
@click.option("--to-tag", default=None, help="Target tag of a move across tags.")
@click.option("--with-dependencies", is_flag=True, help="Also move the tasks they depend on.")
@click.option("--ignore-dependencies", is_flag=True, help="Drop dependencies on tasks left behind.")
@legacy_options()
def move_cmd(src: str | None, dest: str | None, from_tag: str | None, to_tag: str | None, **kw: Any) -> None:
    """Move tasks/subtasks to new ids, or tasks to another tag."""
    from ..errors import DependencyError, InputError
    from ..taskmaster import moves
    from ..taskmaster.store import stamp_metadata
    from .taskmaster_subtasks import check_acyclic

    with_deps, ignore = kw.pop("with_dependencies"), kw.pop("ignore_dependencies")
    c = _ctx(kw)
    sources = parse_ids(src or "")
    if not sources:
        raise InputError("move needs --from (and --to, or --to-tag for a move across tags)")
    source_tag = from_tag or c.tag
    if to_tag and to_tag != source_tag:
        with c.store.edit_document() as doc:
            try:
                moved = moves.move_across(
                    doc, ",".join(sources), source_tag, to_tag, with_deps=with_deps, ignore_deps=ignore
                )
            except DependencyError as e:  # name the CLI's flags, not the MCP tool's parameters
                text = str(e).replace("pass withDependencies", "use --with-dependencies")
                raise DependencyError(text.replace("ignoreDependencies", "--ignore-dependencies")) from None
            stamp_metadata(doc.tags[source_tag])
            stamp_metadata(doc.tags[to_tag])
        click.echo(f"Moved {', '.join(map(str, moved))} from '{source_tag}' to '{to_tag}'")
        return
    dests = parse_ids(dest or "")
    if len(dests) != len(sources):
        raise InputError(f"--from names {len(sources)} id(s) and --to {len(dests)}; they must match")
    with c.store.edit(source_tag) as data:
        for s, d in zip(sources, dests, strict=True):
            if s != d:
                moves.move(data, s, d)
        check_acyclic(data)
    for s, d in zip(sources, dests, strict=True):
        click.echo(f"Moved {s} to {d}" if s != d else f"Skipped {s} (same id)")
