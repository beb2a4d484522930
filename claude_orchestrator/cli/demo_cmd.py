"""`claude-orchestrator demo`: the whole system offline, in a temporary git repository."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("demo")
@click.option(
    "--keep", type=click.Path(file_okay=False, path_type=Path), help="Build the demo in this (empty) folder."
)
@click.option("-w", "--workers", type=click.IntRange(1, 16), default=3, show_default=True)
@click.option("--no-progress", is_flag=True, help="Plain event lines instead of the live display.")
@click.option(
    "--backend", type=click.Choice(["claude-code", "api"]), help="Worker backend (default: Claude Code)."
)
@click.option(
    "--record", type=click.Path(dir_okay=False, path_type=Path), help="Save model exchanges (JSONL)."
)
def demo_cmd(
    keep: Path | None, workers: int, no_progress: bool, backend: str | None, record: Path | None
) -> None:
    """Plan a small PRD into tasks and run them with parallel workers: offline on the embedded fake model,
    or on real Claude when ANTHROPIC_API_KEY is set."""
    from rich.console import Console

    from ..config import load_dotenv
    from ..demo import run_demo
    from .run_cmds import count_of, print_report

    load_dotenv(Path.cwd() / ".env")
    console = Console(soft_wrap=True)
    res = run_demo(
        keep,
        workers=workers,
        no_progress=no_progress,
        console=console,
        backend=backend,
        record=record.resolve() if record else None,
    )
    print_report(res.report, echo=console.print)
    tasks = sum(1 for line in res.git_log if "] Task " in line)
    merges = sum(1 for line in res.git_log if "] Merge task " in line)
    what = count_of(tasks, "task commit") + (f", {count_of(merges, 'merge commit')}" if merges else "")
    console.print(f"\nGit history of {res.repo} ({what}):")
    for line in res.git_log:
        console.print(f"  {line}", markup=False, highlight=False)
    bindir = Path(sys.executable).parent
    tm = bindir / "task-master" if (bindir / "task-master").exists() else "task-master"
    co = (
        bindir / "claude-orchestrator" if (bindir / "claude-orchestrator").exists() else "claude-orchestrator"
    )
    console.print(
        f"\nWhere everything is:\n"
        f"  project:      {res.repo}\n"
        f"  tasks:        {res.repo}/.taskmaster/tasks/tasks.json  (try: cd {res.repo} && {tm} list)\n"
        f"  run folder:   {res.report.run_path}  (events.ndjson, usage.json, summary.json, tasks/*)\n"
        f"  usage:        cd {res.repo} && {co} status\n"
        f"  backend:      {res.backend}; model: {'embedded fake (offline)' if res.offline else 'real Claude'}",
        markup=False,
        highlight=False,
    )
    sys.exit(res.report.exit_code)
