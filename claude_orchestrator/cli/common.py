"""Shared CLI plumbing: a lazily-loading click group and one place that turns our errors into exits."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ..errors import OrchestratorError


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
            return super().invoke(ctx)
        except OrchestratorError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


def run_main(group: click.Group, argv: list[str] | None = None, prog_name: str | None = None) -> None:
    """Entry point wrapper: click's own usage errors exit 2, ours exit by their exit_code."""
    try:
        group.main(args=argv, prog_name=prog_name, standalone_mode=True)
    except OrchestratorError as e:  # raised outside a command (e.g. in group callbacks)
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)


def echo_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
