"""`claude-orchestrator status` and `tail-events`: read-only views of the task database and run folders."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..status import ProjectStatus, find_project_root, project_status
from .common import echo_json

if TYPE_CHECKING:
    from ..run.folder import TokenTotals


def _tokens(t: TokenTotals) -> str:
    return f"{t.input} in / {t.output} out / {t.cache_read} cache read, ${t.cost_usd:.2f}"


def format_status(st: ProjectStatus) -> list[str]:
    t = st.tasks
    tag = f" (tag {t.tag})" if t.tag else ""
    counts = ", ".join(f"{k} {v}" for k, v in sorted(t.by_status.items())) or "no tasks"
    out = [f"Tasks{tag}: {t.total} total, {t.ready} ready to run — {counts}"]
    if not st.runs:
        out.append("Runs: none yet")
    for run in st.runs:
        r = run.summary
        dur = f"{r.duration_s:.0f}s" if r.duration_s is not None else "?"
        out.append(
            f"Run {r.run_id}: {r.status}, {dur}, ${r.cost_usd:.2f}, "
            f"{r.tasks_done} done, {r.tasks_failed} failed"
            + (f", {r.tasks_blocked} blocked" if r.tasks_blocked else "")
            + (
                f"; checks: {r.tasks_verified} verified, {r.tasks_failed_verification} failed, "
                f"{r.tasks_unchecked} none"
                if r.tasks_verified or r.tasks_failed_verification or r.tasks_unchecked
                else ""
            )
        )
        for kind, table in (("role", r.tokens_by_role), ("model", r.tokens_by_model)):
            for name, tok in table.items():
                out.append(f"    {kind} {name}: {_tokens(tok)}")
        for f in r.failures:
            out.append(f"    failed {f.task_id}: {f.reason}")
    b = st.budget
    budget = f"${b.run_usd:.2f} per run" if b.run_usd else "no run budget"
    line = f"Budget: {budget}"
    if b.task_usd:
        line += f", ${b.task_usd:.2f} per task"
    if b.last_run_budget_pct is not None:
        line += f"; last run used {b.last_run_budget_pct:.0f}%"
    line += f"; ${b.spent_last_5h_usd:.2f} spent in the last 5 h"
    out.append(line)
    win = b.usage_window_pct
    out.append(
        f"Limits: warn at {b.warning_pct:.0f}%, stop at {b.critical_pct:.0f}%; Claude Code window "
        + (f"{win:.0f}% used" if win is not None else "unknown")
        + (f" — {b.level.upper()}" if b.level != "ok" else "")
    )
    return out


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--runs", "n_runs", type=click.IntRange(0, 1000), default=5, show_default=True, help="Runs to list."
)
@click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None, help="Project directory."
)
@click.option("--follow", is_flag=True, help="Then show the run going on, live, until it ends.")
def status_cmd(as_json: bool, n_runs: int, project: Path | None, follow: bool) -> None:
    """Task counts, the last runs (duration, cost, tokens, failures) and budget / limit state; with
    --follow, then the live view of the run going on until it ends."""
    root = find_project_root(project or Path.cwd())
    st = project_status(root, runs=n_runs)
    if as_json:
        echo_json(st.to_dict())
    else:
        for line in format_status(st):
            click.echo(line)
    if follow:
        from ..observers.watch import watch_run
        from ..run.control import live_runs

        live = live_runs(root)
        if not live:
            click.echo("no run is going on")
            return
        click.echo(f"run {live[0].name} {watch_run(live[0], plain=as_json)}")


@click.command("tail-events")
@click.option("--run", "run_id", default=None, help="Run id or a unique prefix (default: the latest run).")
@click.option("--task", "task_id", default=None, help="Only events of this task.")
@click.option("--lines", "-n", type=click.IntRange(0), default=20, show_default=True, help="Last N events.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events until the run finishes.")
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Stop following after this many idle seconds.",
)
@click.option("--json", "as_json", is_flag=True, help="Raw NDJSON lines.")
@click.option(
    "--project", type=click.Path(file_okay=False, path_type=Path), default=None, help="Project directory."
)
def tail_events_cmd(
    run_id: str | None,
    task_id: str | None,
    lines: int,
    follow: bool,
    timeout: float | None,
    as_json: bool,
    project: Path | None,
) -> None:
    """Show the last events of a run (readable lines, or raw NDJSON with --json)."""
    from collections import deque

    from ..events import Event, RunFinished
    from ..observers.eventlog import event_to_line, read_events
    from ..observers.text import describe_event
    from ..run.folder import find_run

    run = find_run(find_project_root(project or Path.cwd()), run_id)

    def show(e: Event) -> None:
        if task_id is not None and e.task_id != task_id:
            return
        if as_json:
            click.echo(event_to_line(e), nl=False)
        else:
            stamp = time.strftime("%H:%M:%S", time.localtime(e.ts))
            click.echo(f"{stamp} {describe_event(e)}")

    seen = 0
    finished = False
    last: deque[Event] = deque(maxlen=lines)
    for e in read_events(run):
        seen += 1
        finished = finished or isinstance(e, RunFinished)
        if task_id is None or e.task_id == task_id:
            last.append(e)
    for e in last:
        show(e)
    if seen == 0 and not follow:
        click.echo(f"(no events recorded in run {run.name})", err=True)
    if not follow or finished:
        return
    for i, e in enumerate(read_events(run, follow=True, timeout=timeout, until_finished=True, poll_s=0.2)):
        if i >= seen:
            show(e)
