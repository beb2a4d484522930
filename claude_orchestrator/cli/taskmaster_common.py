"""Plumbing shared by the `task-master` commands: common flags and the per-command context."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .common import LazyGroup

F = TypeVar("F", bound=Callable[..., Any])
_FORMATS = ("json", "text", "compact")


class TMGroup(LazyGroup):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as e:  # permissions, full disk: one line, not a traceback
            click.echo(f"Error: {e}", err=True)
            ctx.exit(1)


def common(fn: F) -> F:
    """--tag, -f/--file (or a format name), -p/--project, --format."""
    fn = click.option("--format", "fmt", type=click.Choice(_FORMATS), default=None, help="Output format.")(fn)
    fn = click.option(
        "-p", "--project", type=click.Path(file_okay=False, path_type=Path), help="Project root."
    )(fn)
    fn = click.option(
        "-f", "--file", "file", default=None, help="Path to tasks.json (or an output format: json)."
    )(fn)
    fn = click.option("-t", "--tag", default=None, help="Tag to work on (default: the current tag).")(fn)
    return fn


class Ctx:
    """What every command needs: the store, the tag, and whether to print JSON."""

    def __init__(
        self, tag: str | None, file: str | None, project: Path | None, fmt: str | None, as_json: bool
    ):
        if file in _FORMATS:
            fmt, file = file, None
        self.json = as_json or fmt == "json"
        from ..taskmaster.store import TaskStore

        self.store = TaskStore.discover(project, Path(file) if file else None)
        self.explicit_tag = tag

    @property
    def tag(self) -> str:
        return self.explicit_tag or self.store.current_tag()

    def load(self) -> Any:
        return self.store.load(self.explicit_tag)


def _ctx(kw: dict[str, Any], as_json: bool = False) -> Ctx:
    return Ctx(kw.pop("tag"), kw.pop("file"), kw.pop("project"), kw.pop("fmt"), as_json)
