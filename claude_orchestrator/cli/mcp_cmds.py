"""`claude-orchestrator mcp`: serve the MCP server on stdio (the default), or `mcp install` its entry."""

from __future__ import annotations

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
