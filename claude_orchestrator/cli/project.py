"""`claude-orchestrator init`, `check` and `examples`."""

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
    """Report config validity, git, the Claude Code CLI, credentials and write access; exit 1 when a check
    fails (a warning does not)."""
    from ..config import load_dotenv
    from ..project import run_checks

    load_dotenv(directory / ".env")
    lines = run_checks(directory.resolve())
    for line in lines:
        click.echo(f"[{line.mark}] {line.name:<13} {line.detail}")
    failed = [line.name for line in lines if line.mark == "FAIL"]
    if failed:
        click.echo(f"{len(failed)} check{'s' if len(failed) > 1 else ''} failed: {', '.join(failed)}")
        raise SystemExit(1)


@click.command("examples")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default="examples")
def examples_cmd(folder: Path) -> None:
    """Copy the example PRD, build plans, Task Master database and plugin into FOLDER (default ./examples);
    files already there are kept."""
    from ..examples import copy_examples

    written, kept = copy_examples(folder)
    for p in written:
        click.echo(f"created {p}")
    for p in kept:
        click.echo(f"kept {p} (already there)")
    click.echo(f"Try: claude-orchestrator parse {folder / 'prd.txt'}")
