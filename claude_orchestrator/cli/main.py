"""`claude-orchestrator`: a thin click layer over the library. Subcommands live in their own modules
and load lazily."""

from __future__ import annotations

import click

from .. import __version__
from .common import LazyGroup, run_main

# name -> "module:attribute" (relative to claude_orchestrator.cli)
COMMANDS = {
    "init": ".project:init_cmd",
    "check": ".project:check_cmd",
    "examples": ".project:examples_cmd",
    "add": ".manager_cmds:add_cmd",
    "parse": ".manager_cmds:parse_cmd",
    "run": ".run_cmds:run_cmd",
    "stop": ".run_control:stop_cmd",
    "clean": ".run_control:clean_cmd",
    "status": ".status_cmds:status_cmd",
    "tail-events": ".status_cmds:tail_events_cmd",
    "log": ".run_views:log_cmd",
    "watch-run": ".run_views:watch_run_cmd",
    "execute": ".stack_cmds:execute_cmd",
    "run-project": ".stack_cmds:run_project_cmd",
    "generate": ".stack_cmds:generate_cmd",
    "plugins": ".stack_cmds:plugins_cmd",
    "demo": ".demo_cmd:demo_cmd",
    "mcp": ".mcp_cmds:mcp_cmd",
    "skills": ".skills_cmds:skills_cmd",
    "import": ".intake_cmds:import_cmd",
    "watch": ".intake_cmds:watch_cmd",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="claude-orchestrator")
def cli() -> None:
    """Turn a goal or a PRD into a task graph and run it with a team of Claude agents."""


def main(argv: list[str] | None = None) -> None:
    run_main(cli, argv, prog_name="claude-orchestrator")


if __name__ == "__main__":
    main()
