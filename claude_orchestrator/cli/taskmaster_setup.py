"""`task-master init`: the project's .taskmaster/ (and, with `-r claude`, Claude Code's rule files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


@click.command("init")
@click.option("-y", "--yes", is_flag=True, help="Use the defaults without asking (always the case here).")
@click.option("-n", "--name", default=None, help="Project name.")
@click.option("-d", "--description", default=None, help="Project description.")
@click.option("-v", "--version", "project_version", default="0.1.0", hidden=True)
@click.option("-a", "--author", default=None, hidden=True)
@click.option("-r", "--rules", multiple=True, help="Rule profiles to add (claude), comma or space separated.")
@click.option("--skip-install", is_flag=True, hidden=True)
@click.option("--dry-run", is_flag=True, help="Show what would be created, change nothing.")
@click.option("--aliases/--no-aliases", default=False, hidden=True)
@click.option("--git/--no-git", default=True, hidden=True)
@click.option("--git-tasks/--no-git-tasks", default=True, hidden=True)
@click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None, help="Project root."
)
def init_cmd(name: str | None, project: Path | None, rules: tuple[str, ...], dry_run: bool, **_: Any) -> None:
    """Create .taskmaster/ (config, state, templates; no tasks.json yet)."""
    from ..taskmaster.store import TM_DIR, init_project

    root = project or Path.cwd()
    profiles = parse_profiles(rules)
    if dry_run:
        click.echo(f"Would create {root / TM_DIR} (config.json, state.json, templates)")
        for p in profiles:
            click.echo(f"Would add the {p} rules")
        return
    created = init_project(root, name)
    click.echo(f"Initialised {root / TM_DIR} ({len(created)} new paths)")
    if profiles:
        from .taskmaster_rules import add_profiles

        add_profiles(root, profiles)


def parse_profiles(values: tuple[str, ...]) -> list[str]:
    """-r claude,cursor / -r claude -r cursor -> ["claude", "cursor"] (known profiles only)."""
    from ..errors import InputError
    from ..taskmaster.rules import PROFILES

    names = [p.strip().lower() for v in values for p in v.replace(",", " ").split() if p.strip()]
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        raise InputError(f"unknown rule profile(s): {', '.join(unknown)} (supported: {', '.join(PROFILES)})")
    return list(dict.fromkeys(names))
