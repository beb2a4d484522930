"""`claude-orchestrator init` and `check`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("init")
@click.option("-n", "--name", help="Project name (default: the folder name).")
@click.option(
    "-d",
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="Project folder.",
)
@click.option(
    "--mcp", "with_mcp", is_flag=True, help="Also register the MCP server for Claude Code (.mcp.json)."
)
def init_cmd(name: str | None, directory: Path, with_mcp: bool) -> None:
    """Create .taskmaster/, orchestrator_config.json, .env.example and .gitignore lines."""
    from ..project import init_orchestrator

    directory.mkdir(parents=True, exist_ok=True)
    created = init_orchestrator(directory, name)
    if not created:
        click.echo("Already initialised; nothing changed.")
    for p in created:
        click.echo(f"created {p}")
    if with_mcp:
        from ..mcp.install import install_project

        done = install_project(directory.resolve())
        click.echo(
            f"{'replaced' if done.replaced else 'wrote'} the '{done.name}' MCP server entry in {done.path}"
        )
    else:
        click.echo(
            "Inside Claude Code: `claude-orchestrator mcp install` adds the task tools (or `init --mcp`)."
        )
    click.echo("Next: copy .env.example to .env and set ANTHROPIC_API_KEY, then `claude-orchestrator check`.")


@click.command("check")
@click.option("-d", "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def check_cmd(directory: Path) -> None:
    """Report config validity, git, the Claude Code CLI, credentials and write access."""
    from ..config import load_dotenv
    from ..project import run_checks

    load_dotenv(directory / ".env")
    lines = run_checks(directory.resolve())
    for line in lines:
        mark = "ok  " if line.ok else "FAIL"
        click.echo(f"[{mark}] {line.name:<13} {line.detail}")
    essential = {"config", "write-access"}
    if any(not line.ok for line in lines if line.name in essential):
        raise SystemExit(1)
