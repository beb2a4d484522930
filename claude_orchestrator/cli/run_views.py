"""`claude-orchestrator log TASK` and `watch-run` (also `status --follow`): a run seen from another terminal,
read from its run folder."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import NotFoundError
from ..status import find_project_root

_PROJECT = click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None, help="Project directory."
)
_RUN = click.option("--run", "run_id", default=None, help="Run id or a unique prefix.")


def _run_of_task(root: Path, task_id: str, run_id: str | None) -> Path:
    from ..run.folder import find_run, list_runs, task_dir

    if run_id is not None:
        return find_run(root, run_id)
    for path in list_runs(root):
        if task_dir(path, task_id).is_dir():
            return path
    raise NotFoundError(
        f"task {task_id} has not run in any run of {root} (`claude-orchestrator status` lists them)"
    )


@click.command("log")
@click.argument("task_id")
@_RUN
@_PROJECT
def log_cmd(task_id: str, run_id: str | None, project: Path | None) -> None:
    """A task's transcript, readably: turns, tool calls, results, the review's verdict, the outcome and its
    cost (default: the newest run the task ran in)."""
    from ..observers.eventlog import read_events
    from ..observers.tasklog import task_log

    root = find_project_root(project or Path.cwd())
    run = _run_of_task(root, task_id, run_id)
    for line in task_log(run, task_id, list(read_events(run))):
        click.echo(line)


@click.command("watch-run")
@_RUN
@click.option("--no-progress", is_flag=True, help="Plain event lines instead of the live view.")
@_PROJECT
def watch_run_cmd(run_id: str | None, no_progress: bool, project: Path | None) -> None:
    """The live view of a run going on (default: the newest run), fed by its event log, until it ends.
    Ctrl-C leaves the view; the run goes on."""
    from ..observers.watch import watch_run
    from ..run.folder import find_run

    root = find_project_root(project or Path.cwd())
    status = watch_run(find_run(root, run_id), plain=no_progress)
    click.echo(f"run {status}")
