"""`claude-orchestrator stop` and `clean`: a run stopped from another terminal; what runs leave behind, removed."""

from __future__ import annotations

from pathlib import Path

import click

from ..status import find_project_root

_PROJECT = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None, help="Project directory."
)


@click.command("stop")
@click.option("--run", "run_id", default=None, help="Run id or a unique prefix (default: the run going on).")
@click.option(
    "--now", is_flag=True, help="Cancel the running tasks at once instead of giving them their grace."
)
@click.option("--wait", is_flag=True, help="Wait until the run has stopped.")
@_PROJECT
def stop_cmd(run_id: str | None, now: bool, wait: bool, project: Path | None) -> None:
    """Stop a run going on in this project, as Ctrl-C in its terminal would."""
    from ..config import load_config
    from ..run.control import stop_run

    root = find_project_root(project or Path.cwd())
    cfg = load_config(None, start=root)
    grace = cfg.execution.shutdown_grace_seconds
    wait_s = (0.0 if now else grace) + 60.0 if wait else 0.0
    answer = stop_run(root, run_id, now=now, wait_s=wait_s)
    if answer.now:
        click.echo(
            f"stop requested for run {answer.run_id} (pid {answer.pid}): its running tasks are cancelled now"
        )
    else:
        click.echo(
            f"stop requested for run {answer.run_id} (pid {answer.pid}): no new task starts; running tasks get "
            f"up to {grace:g}s to finish (`claude-orchestrator stop --now` cancels them at once)"
        )
    if answer.ended is True:
        click.echo(f"run {answer.run_id} {answer.status}; `claude-orchestrator run` resumes it")
    elif answer.ended is False:
        click.echo(f"run {answer.run_id} is still stopping (pid {answer.pid})")


@click.command("clean")
@click.option(
    "--force", is_flag=True, help="Also remove unmerged branches and uncommitted work of ended runs."
)
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@_PROJECT
def clean_cmd(force: bool, dry_run: bool, project: Path | None) -> None:
    """Remove the worktrees and task branches of runs that are not going on (never a live run's)."""
    from ..config import load_config
    from ..run.clean import clean

    root = find_project_root(project or Path.cwd())
    cfg = load_config(None, start=root)
    report = clean(root, branch_prefix=cfg.git.branch_prefix, force=force, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for w in report.worktrees:
        click.echo(f"{verb} worktree {w}")
    for b in report.branches:
        click.echo(f"{verb} branch {b}")
    for k in report.kept:
        click.echo(f"kept {k}")
    for run in report.live:
        click.echo(f"left run {run} alone: it is going on")
    if not (report.worktrees or report.branches or report.kept or report.live):
        click.echo("nothing to clean")
