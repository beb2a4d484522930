"""`claude-orchestrator skills list | install PATH | new NAME`: Claude Code skills for the project's workers."""

from __future__ import annotations

from pathlib import Path

import click

from .common import echo_json

COMMIT_HINT = "Commit .claude/skills/ so that runs (which start from a clean tree) and your team use it."
_DIR = click.option(
    "-d",
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    help="Project folder.",
)


@click.group("skills")
def skills_cmd() -> None:
    """Claude Code skills (.claude/skills/NAME/SKILL.md) that workers load in this project."""


@skills_cmd.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_DIR
def list_cmd(as_json: bool, directory: Path) -> None:
    """The project's skills, each checked (exit 1 if one is invalid)."""
    from ..skills import list_skills

    skills = list_skills(directory)
    if as_json:
        echo_json(
            [
                {"name": s.folder.name, "description": s.description, "ok": s.ok, "problems": s.problems}
                for s in skills
            ]
        )
    elif not skills:
        click.echo("No skills in .claude/skills/ (add one with `skills new NAME` or `skills install PATH`).")
    for s in [] if as_json else skills:
        click.echo(
            f"{s.folder.name:<24} {s.description}"
            if s.ok
            else f"{s.folder.name:<24} INVALID: {'; '.join(s.problems)}"
        )
    if any(not s.ok for s in skills):
        raise SystemExit(1)


@skills_cmd.command("install")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace skills of the same name.")
@_DIR
def install_cmd(path: Path, force: bool, directory: Path) -> None:
    """Copy a skill folder, or every skill of a pack (PATH/skills/*/SKILL.md), into .claude/skills/."""
    from ..skills import install

    for s in install(directory, path, force=force):
        click.echo(f"installed {s.name}: {s.description}")
    click.echo(COMMIT_HINT)


@skills_cmd.command("new")
@click.argument("name")
@click.option("--description", default=None, help="What the skill does and when to use it.")
@_DIR
def new_cmd(name: str, description: str | None, directory: Path) -> None:
    """Scaffold .claude/skills/NAME/SKILL.md to fill in."""
    from ..skills import new

    s = new(directory, name, description)
    click.echo(
        f"created {s.folder / 'SKILL.md'}; write the instructions, and a description that says when to use it"
    )
