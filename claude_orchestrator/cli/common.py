"""Shared CLI plumbing: a lazily-loading click group and one place that turns our errors into exits."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ..errors import OrchestratorError
from ..files import lone_surrogate
from .boot import release


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used, keeping start-up fast."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, _, attr = self.lazy[cmd_name].rpartition(":")
            module = importlib.import_module(module_name, package="claude_orchestrator.cli")
            cmd = getattr(module, attr)
            if not isinstance(cmd, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return cmd
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            release()  # a Ctrl-C held during start-up (boot.py) interrupts here, as one clean line
            return super().invoke(ctx)
        except OrchestratorError as e:
            say_error(str(e))
            ctx.exit(e.exit_code)
        except (RecursionError, UnicodeError) as e:  # input our readers did not foresee: still one line
            say_error(f"cannot process this input: {_why(e)}")
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


def say_error(message: str) -> None:
    """`Error: message` on stderr, one line; text that is not Unicode (lone surrogates) is escaped."""
    click.echo(f"Error: {message}".encode("utf-8", "backslashreplace").decode("utf-8"), err=True)


def _why(e: BaseException) -> str:
    if isinstance(e, RecursionError):
        return "nested too deeply"
    return f"text that is not valid Unicode ({e})"


def _bad_argument(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv, 1):
        bad = lone_surrogate(arg)
        if bad:
            return f"argument {i} is not valid UTF-8 text ({bad})"
    return None


def run_main(group: click.Group, argv: list[str] | None = None, prog_name: str | None = None) -> None:
    """Entry point wrapper: click's own usage errors exit 2, ours exit by their exit_code, and an
    argument that is not UTF-8 text (the shell passed raw bytes) exits 2 before anything runs."""
    bad = _bad_argument(sys.argv[1:] if argv is None else argv)
    if bad:
        say_error(bad)
        sys.exit(2)
    try:
        group.main(args=argv, prog_name=prog_name, standalone_mode=True)
    except OrchestratorError as e:  # raised outside a command (e.g. in group callbacks)
        say_error(str(e))
        sys.exit(e.exit_code)


def echo_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
