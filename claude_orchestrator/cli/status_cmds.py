"""`claude-orchestrator status` and `tail-events`: read-only views of the task database and run folders."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from ..errors import NotFoundError, TaskFileError
from .common import echo_json

WINDOW_S = 5 * 3600  # the Claude Code session window, used for the rolling spend figure


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above `start` holding .taskmaster/ (stops at a git root)."""
    here = start.resolve()
    for d in (here, *here.parents):
        if (d / ".taskmaster").is_dir():
            return d
        if (d / ".git").exists():
            break
    raise NotFoundError(f"no .taskmaster/ in {here} or its parents (run `claude-orchestrator init` first)")


def task_counts(root: Path) -> dict[str, Any]:
    """Counts by status of the current tag, plus the units (tasks or subtasks) ready to run."""
    from ..taskmaster.graph import TaskGraph
    from ..taskmaster.store import TaskStore

    store = TaskStore(root)
    tag = store.current_tag()
    data = store.load(tag)
    by_status: dict[str, int] = {}
    for t in data.tasks:
        by_status[t.status] = by_status.get(t.status, 0) + 1
    ready = TaskGraph(data).ready_units()
    return {
        "file": str(store.tasks_path),
        "tag": tag,
        "total": len(data.tasks),
        "subtasks": sum(len(t.subtasks) for t in data.tasks),
        "ready": len(ready),
        "ready_ids": ready,
        "by_status": by_status,
    }


def _usage_window(run: Path) -> float | None:
    """The last Claude Code usage-window figure a run saw, if any."""
    from ..events import RateLimited, Usage
    from ..observers.eventlog import read_events

    pct = None
    for e in read_events(run):
        match e:
            case RateLimited(utilization=u) if u is not None:
                pct = 100.0 * u
            case Usage(usage_window_pct=p) if p is not None:
                pct = float(p)
    return pct


def collect_status(root: Path, cfg: Any, runs: int = 5) -> dict[str, Any]:
    from ..observers.snapshot import UsagePanel
    from ..run.folder import list_runs, read_summary, summary_from_events, tokens_from_ledger
    from ..run.gate import UsageGuard

    def load(d: Path) -> dict[str, Any]:
        source = "summary.json"
        try:
            s = read_summary(d)
        except TaskFileError as e:  # one bad run must not hide the others
            s, source = None, f"events ({e.problem})"
        if s is None:
            s, source = summary_from_events(d), ("events" if source == "summary.json" else source)
        if not s.tokens_by_role and not s.tokens_by_model:
            s.tokens_by_role, s.tokens_by_model = tokens_from_ledger(d)
        return {**s.model_dump(mode="json"), "source": source}

    all_runs = list_runs(root)
    items = [load(d) for d in all_runs[: max(0, runs)]]
    # spend in the rolling 5-hour window: every run started inside it (run ids begin with a UTC stamp)
    since = time.time() - WINDOW_S
    oldest = time.strftime("%Y%m%d-%H%M%S", time.gmtime(since - WINDOW_S))  # slack for long runs
    recent = items + [load(d) for d in all_runs[len(items) :] if d.name >= oldest]
    spent_5h = sum(float(r["cost_usd"]) for r in recent if (r.get("started_at") or 0) >= since)
    budget = cfg.budgets.run_usd
    last = items[0] if items else None
    window = _usage_window(all_runs[0]) if all_runs else None
    panel = UsagePanel(
        cost_usd=float(last["cost_usd"]) if last else 0.0, budget_usd=budget, usage_window_pct=window
    )
    return {
        "project": str(root),
        "tasks": task_counts(root),
        "runs": items,
        "budget": {
            "run_usd": budget,
            "task_usd": cfg.budgets.task_usd,
            "warning_pct": cfg.monitoring.usage_warning_threshold,
            "critical_pct": cfg.monitoring.usage_critical_threshold,
            "last_run_cost_usd": panel.cost_usd if last else None,
            "last_run_budget_pct": panel.budget_pct if last else None,
            "usage_window_pct": window,
            "spent_last_5h_usd": round(spent_5h, 6),
            "level": UsageGuard(cfg).observe(panel) if last else "ok",
        },
    }


def _tokens(t: dict[str, Any]) -> str:
    return f"{t.get('input', 0)} in / {t.get('output', 0)} out / {t.get('cache_read', 0)} cache read, ${float(t.get('cost_usd', 0)):.2f}"


def format_status(st: dict[str, Any]) -> list[str]:
    t = st["tasks"]
    tag = f" (tag {t['tag']})" if t.get("tag") else ""
    counts = ", ".join(f"{k} {v}" for k, v in sorted(t["by_status"].items())) or "no tasks"
    out = [f"Tasks{tag}: {t['total']} total, {t['ready']} ready to run — {counts}"]
    if not st["runs"]:
        out.append("Runs: none yet")
    for r in st["runs"]:
        dur = f"{r['duration_s']:.0f}s" if r.get("duration_s") is not None else "?"
        out.append(
            f"Run {r['run_id']}: {r['status']}, {dur}, ${float(r['cost_usd']):.2f}, "
            f"{r['tasks_done']} done, {r['tasks_failed']} failed"
            + (f", {r['tasks_blocked']} blocked" if r.get("tasks_blocked") else "")
        )
        for kind in ("role", "model"):
            for name, tok in (r.get(f"tokens_by_{kind}") or {}).items():
                out.append(f"    {kind} {name}: {_tokens(tok)}")
        for f in r.get("failures") or []:
            out.append(f"    failed {f['task_id']}: {f.get('reason', '')}")
    b = st["budget"]
    budget = f"${b['run_usd']:.2f} per run" if b["run_usd"] else "no run budget"
    line = f"Budget: {budget}"
    if b["task_usd"]:
        line += f", ${b['task_usd']:.2f} per task"
    if b["last_run_budget_pct"] is not None:
        line += f"; last run used {b['last_run_budget_pct']:.0f}%"
    line += f"; ${b['spent_last_5h_usd']:.2f} spent in the last 5 h"
    out.append(line)
    win = b["usage_window_pct"]
    out.append(
        f"Limits: warn at {b['warning_pct']:.0f}%, stop at {b['critical_pct']:.0f}%; Claude Code window "
        + (f"{win:.0f}% used" if win is not None else "unknown")
        + (f" — {b['level'].upper()}" if b["level"] != "ok" else "")
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
def status_cmd(as_json: bool, n_runs: int, project: Path | None) -> None:
    """Task counts, the last runs (duration, cost, tokens, failures) and budget / limit state."""
    from ..config import load_config

    root = find_project_root(project or Path.cwd())
    cfg = load_config(start=root)
    st = collect_status(root, cfg, n_runs)
    if as_json:
        echo_json(st)
    else:
        for line in format_status(st):
            click.echo(line)


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
