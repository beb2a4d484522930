"""`claude-orchestrator mcp`: serve the MCP server on stdio (the default), or `mcp install` its entry."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("mcp", invoke_without_command=True)
@click.option(
    "--tools",
    default=None,
    help="Tool tier: core (default), standard, all, or a comma list of tool names (else TASK_MASTER_TOOLS).",
)
@click.option("--name", default=None, help="Server name (default: task-master-ai).")
@click.pass_context
def mcp_cmd(ctx: click.Context, tools: str | None, name: str | None) -> None:
    """Serve Task Master's MCP tools and run control over stdio (nothing but protocol on stdout)."""
    if ctx.invoked_subcommand is not None:
        return
    import logging
    import sys

    from ..mcp.server import SERVER_NAME, build_server

    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    build_server(tools, name=name or SERVER_NAME).run()


@mcp_cmd.command("install")
@click.option(
    "--name",
    type=click.Choice(["task-master-ai", "claude-orchestrator"]),
    default="task-master-ai",
    show_default=True,
    help="Server name: task-master-ai keeps Task Master's tool names (mcp__task-master-ai__<tool>).",
)
@click.option(
    "--scope",
    type=click.Choice(["project", "user"]),
    default="project",
    show_default=True,
    help="project: write .mcp.json here; user: print the `claude mcp add` line for every project.",
)
@click.option("--tools", default="core", show_default=True, help="TASK_MASTER_TOOLS for the server.")
@click.option("-d", "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def install_cmd(name: str, scope: str, tools: str, directory: Path) -> None:
    """Register the MCP server with Claude Code (no secret is ever written)."""
    from ..mcp.install import install_project, user_command

    if scope == "user":
        click.echo("Run this once to add the server for all your projects:")
        click.echo(f"  {user_command(name, tools)}")
        return
    done = install_project(directory.resolve(), name, tools)
    verb = "replaced" if done.replaced else "wrote"
    click.echo(
        f"{verb} the '{done.name}' entry in {done.path}: {done.entry['command']} {' '.join(done.entry['args'])}"
    )
    if done.dropped_env:
        click.echo(
            f"note: the old entry's env held {', '.join(done.dropped_env)}; not copied "
            "(keep keys in .env or your environment, never in .mcp.json)"
        )
    click.echo("Claude Code picks it up in its next session in this folder (`claude mcp list` shows it).")
