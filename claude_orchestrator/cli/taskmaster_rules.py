"""`task-master rules add|remove claude`: the Claude Code files (CLAUDE.md, the agent guide, slash
commands, the MCP server entry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..taskmaster.rules import PROFILES


def add_profiles(root: Path, profiles: list[str]) -> None:
    from ..taskmaster.rules import add_claude

    for name in profiles:
        for line in add_claude(root):
            click.echo(f"[{name}] {line}")


@click.command("rules")
@click.argument("action", required=False, type=click.Choice(("add", "remove")))
@click.argument("profiles", nargs=-1)
@click.option("-f", "--force", is_flag=True, help="Remove without asking.")
@click.option("-y", "--yes", is_flag=True, help="Add without asking (the default here).")
@click.option("-m", "--mode", default=None, hidden=True)
@click.option("--setup", is_flag=True, hidden=True)
@click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None, help="Project root."
)
def rules_cmd(
    action: str | None, profiles: tuple[str, ...], force: bool, project: Path | None, **_: Any
) -> None:
    """Add or remove rule files for a profile (claude)."""
    from ..errors import InputError
    from ..taskmaster.rules import remove_claude
    from ..taskmaster.store import find_taskmaster_dir
    from .taskmaster_common import confirm_or_refuse
    from .taskmaster_setup import parse_profiles

    if action is None:
        raise InputError(
            f"rules needs an action: `rules add claude` or `rules remove claude` (profiles: {', '.join(PROFILES)})"
        )
    names = parse_profiles(profiles or ("claude",))
    root = find_taskmaster_dir(project or Path.cwd()).parent
    if action == "add":
        add_profiles(root, names)
        return
    for name in names:
        if confirm_or_refuse(f"the {name} rule files", force):
            for line in remove_claude(root) or ["nothing to remove"]:
                click.echo(f"[{name}] {line}")
