"""Plumbing shared by the `task-master` commands: the option sets, the per-command context, confirmation.

task-master-ai 0.43.1 has two kinds of commands, and their short flags differ:
- `core_options` (list, next, show, set-status, generate): `-t/--tag`, `-f/--format`, `-p/--project`;
- `legacy_options` (everything else): `-f/--file` (the tasks file) and `--tag` only in its long form.
A flag the original gives another meaning on a command (`parse-prd -f` is `--force`, `add-task -p` is
`--prompt`) is only available in its long form there. `--file`, `--tag`, `--project` and `--format` (long)
are accepted everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .common import LazyGroup

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("text", "json", "compact")


class TMGroup(LazyGroup):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as e:  # permissions, full disk: one line, not a traceback
            click.echo(f"Error: {e}", err=True)
            ctx.exit(1)


def _names(short: str | None, long: str) -> list[str]:
    return [short, long] if short else [long]


def tm_options(
    *,
    tag: str | None = None,
    file: str | None = None,
    project: str | None = None,
    fmt: str | None = None,
    formats: tuple[str, ...] = FORMATS,
) -> Callable[[F], F]:
    """--tag, --file (tasks.json), --project, --format, each with the short flag given (or none)."""

    def deco(fn: F) -> F:
        fn = click.option(
            *_names(fmt, "--format"), "fmt", type=click.Choice(formats), default=None, help="Output format."
        )(fn)
        fn = click.option(
            *_names(project, "--project"),
            "project",
            type=click.Path(file_okay=False, path_type=Path),
            help="Project root directory.",
        )(fn)
        fn = click.option(*_names(file, "--file"), "file", default=None, help="Path to tasks.json.")(fn)
        fn = click.option(
            *_names(tag, "--tag"), "tag", default=None, help="Tag to work on (default: the current tag)."
        )(fn)
        return fn

    return deco


def core_options(*, tag: bool = True, formats: tuple[str, ...] = ("text", "json")) -> Callable[[F], F]:
    """The new TypeScript core's commands: -t/--tag, -f/--format, -p/--project."""
    return tm_options(tag="-t" if tag else None, fmt="-f", project="-p", formats=formats)


def legacy_options(*, file: bool = True) -> Callable[[F], F]:
    """The older commands: -f/--file, --tag."""
    return tm_options(file="-f" if file else None)


def record_option(fn: F) -> F:
    return click.option(
        "--record",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Save every model exchange as JSONL.",
    )(fn)


class Ctx:
    """What every command needs: the store, the tag, and whether to print JSON."""

    def __init__(
        self, tag: str | None, file: str | None, project: Path | None, fmt: str | None, as_json: bool
    ):
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
    return Ctx(
        kw.pop("tag", None), kw.pop("file", None), kw.pop("project", None), kw.pop("fmt", None), as_json
    )


def confirm_or_refuse(what: str, yes: bool) -> bool:
    """Ask before deleting `what` unless `yes` (False: the person said no). With no terminal to ask on,
    refuse: exit 2 and nothing deleted."""
    from ..errors import InputError

    if yes:
        return True
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError(f"this permanently deletes {what}; add -y to confirm (no terminal to ask on)")
    if click.confirm(f"Permanently delete {what}?", default=False):
        return True
    click.echo("Cancelled: nothing was deleted.")
    return False
