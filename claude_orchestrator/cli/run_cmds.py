"""`claude-orchestrator run`: a thin layer over claude_orchestrator.run.engine.RunEngine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def count_of(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def print_report(report: Any, echo: Any = click.echo) -> None:
    if report.status == "dry-run":
        p = report.preview
        n_workers = len({s.worker for s in p.slots})
        echo(f"Schedule ({count_of(len(p.order), 'unit')}, {count_of(n_workers, 'worker')}):")
        for s in sorted(p.slots, key=lambda s: (s.start, s.worker)):
            echo(f"  worker {s.worker}: {s.unit_id:<8} t={s.start:.0f}..{s.end:.0f}")
        echo("Critical path: " + (" -> ".join(p.critical_path) or "(none)"))
        if p.blocked:
            for uid, deps in sorted(p.blocked.items()):
                echo(f"  {uid} cannot run: depends on {', '.join(deps)} (not selected or not runnable)")
        echo("Dry run: nothing was executed.")
        return
    if report.status == "nothing-to-do":
        echo(f"Nothing to do: {report.notices[0] if report.notices else 'every selected task is done'}.")
        return
    for n in report.notices:
        echo(f"note: {n}")
    echo(f"Run {report.run_id}: {report.status} in {report.duration_s:.1f}s, cost ${report.cost_usd:.4f}")
    echo(f"  done: {', '.join(report.done) or '-'}")
    for uid, why in report.failed.items():
        echo(f"  failed: {uid}: {why}")
    for uid, by in report.blocked.items():
        echo(f"  blocked: {uid} (by {', '.join(by) or '?'})")
    if report.withdrawn:
        echo("  left out: " + ", ".join(f"{u} ({why})" for u, why in report.withdrawn.items()))
    if report.interrupted:
        echo(f"  interrupted: {', '.join(report.interrupted)}")
    if report.status == "stopped" and report.pending:
        echo(f"  not started: {', '.join(report.pending)}")
    v = report.verification
    if any(v.values()):
        echo(
            f"  checks: {v.get('verified', 0)} verified, {v.get('failed_verification', 0)} failed "
            f"verification, {v.get('unchecked', 0)} without checks"
        )
    if report.target_branch:
        echo(f"  merged into branch: {report.target_branch}")
    echo(f"  run folder: {report.run_path}")
    if report.resumable:
        echo(
            "Stopped. `claude-orchestrator run` resumes this run where it stopped "
            "(`claude-orchestrator run --fresh` starts a new one)."
        )


@click.command("run")
@click.option("-w", "--workers", type=click.IntRange(1, 64), help="Parallel workers (execution.max_workers).")
@click.option("--id", "ids", help="Only these tasks, e.g. 3,5 (subtasks as P.S).")
@click.option("--with-deps", is_flag=True, help="With --id: also run their unfinished dependencies.")
@click.option("--tag", help="Task Master tag (default: the current tag).")
@click.option("--backend", type=click.Choice(["claude-code", "api", "build"]), help="Backend for every task.")
@click.option(
    "--working-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), help="Project folder."
)
@click.option("--branch", help="Merge into this branch (created for the run) instead of the current one.")
@click.option("--dry-run", is_flag=True, help="Print the schedule and the critical path; run nothing.")
@click.option("--no-progress", is_flag=True, help="Plain event lines instead of the live display.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.option("--budget-usd", type=click.FloatRange(min=0, min_open=True), help="Stop new work at this cost.")
@click.option("--no-review", is_flag=True, help="Skip the manager's review of each task.")
@click.option("--no-verify", is_flag=True, help="Skip running each task's verify commands.")
@click.option(
    "--attempts",
    type=click.IntRange(1, 16),
    help="Best of N: N attempts per task at once, the best passing one kept (default: metadata.attempts).",
)
@click.option("--fresh", is_flag=True, help="Start a new run even if the last one was interrupted.")
@click.option(
    "--record", type=click.Path(dir_okay=False, path_type=Path), help="Save model exchanges (JSONL)."
)
@click.option("-f", "--file", type=click.Path(dir_okay=False, path_type=Path), help="tasks.json path.")
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    help="Run units on threads here or on a Ray cluster (execution.executor).",
)
@click.option(
    "--ray-address",
    metavar="ADDRESS",
    help="With --executor ray: auto or HOST:PORT of the cluster's head (execution.ray.address).",
)
def run_cmd(
    workers: int | None,
    ids: str | None,
    with_deps: bool,
    tag: str | None,
    backend: str | None,
    working_dir: Path | None,
    branch: str | None,
    dry_run: bool,
    no_progress: bool,
    verbose: bool,
    budget_usd: float | None,
    no_review: bool,
    no_verify: bool,
    attempts: int | None,
    fresh: bool,
    record: Path | None,
    file: Path | None,
    executor: str | None,
    ray_address: str | None,
) -> None:
    """Execute every ready task with parallel workers, each in its own git worktree."""
    import logging
    import sys

    from ..config import load_config, load_dotenv
    from ..run.engine import RunEngine, RunOptions
    from ..taskmaster.ids import parse_ids
    from ..taskmaster.store import TaskStore

    if verbose:
        logging.basicConfig(level=logging.DEBUG)
    root = (working_dir or Path.cwd()).resolve()
    store = TaskStore.discover(root, file)
    load_dotenv(store.root / ".env")
    cfg = load_config(None, start=store.root)
    options = RunOptions(
        workers=workers,
        ids=parse_ids(ids) if ids else None,
        with_deps=with_deps,
        tag=tag,
        backend=backend,
        branch=branch,
        dry_run=dry_run,
        no_progress=no_progress or not cfg.monitoring.show_progress_bar,
        budget_usd=budget_usd,
        record=record,
        review=False if no_review else None,
        verify=False if no_verify else None,
        attempts=attempts,
        resume=not fresh,
        executor=executor,
        ray_address=ray_address,
    )
    engine = RunEngine(store, cfg, options)
    from ..intake.github.writeback import github_write_back

    tag_data = store.load(tag or store.current_tag())
    with github_write_back(engine.bus, store.tm_dir, tag_data, enabled=not dry_run) as write_back:
        report = engine.run()
    print_report(report)
    for note in write_back.notices if write_back else []:
        click.echo(f"note: {note}")
    sys.exit(report.exit_code)
