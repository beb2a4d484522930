"""`task-master parse-prd | expand | analyze-complexity | complexity-report`: the manager's commands, with
task-master-ai's flags (`parse-prd -f` is --force, `expand -p` the extra context, `analyze-complexity -t`
the threshold, `complexity-report -f` the report file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .taskmaster_common import _ctx, record_option, tm_options

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("parse-prd")
@click.argument("prd", required=False, type=_FILE)
@click.option("-i", "--input", "input_path", type=_FILE, default=None, help="The PRD file.")
@click.option("-o", "--output", type=_FILE, default=None, help="The tasks file to write.")
@click.option("-n", "--num-tasks", type=int, default=None, help="About how many tasks.")
@click.option("-f", "--force", is_flag=True, help="Replace the tag's tasks.")
@click.option("--append", is_flag=True, help="Add to the tag's tasks.")
@click.option("-r", "--research", is_flag=True)
@record_option
@tm_options()
def parse_prd_cmd(prd: Path | None, input_path: Path | None, output: Path | None, **kw: Any) -> None:
    """AI: turn a PRD into tasks."""
    from . import taskmaster_ai

    if output is not None:
        kw["file"] = str(output)
    c = _ctx(kw)
    taskmaster_ai.parse_prd(c.store, c.tag, prd or input_path, **kw)


@click.command("expand")
@click.option("-i", "--id", "task_id", default=None, help="Task id(s), comma-separated.")
@click.option("-a", "--all", "all_", is_flag=True, help="Every pending task.")
@click.option("-n", "--num", type=int, default=None, help="Number of subtasks.")
@click.option("-r", "--research", is_flag=True)
@click.option("-p", "--prompt", default=None, help="Additional context for the subtasks.")
@click.option("-f", "--force", is_flag=True, help="Replace existing subtasks.")
@click.option("-cr", "--complexity-report", "report", type=_FILE, default=None, help="The report to use.")
@record_option
@tm_options()
def expand_cmd(task_id: str | None, all_: bool, **kw: Any) -> None:
    """AI: break tasks into subtasks."""
    from . import taskmaster_ai

    c = _ctx(kw)
    taskmaster_ai.expand(c.store, c.tag, task_id, all_, **kw)


@click.command("analyze-complexity")
@click.option("-o", "--output", type=_FILE, default=None, help="Where to write the report.")
@click.option("-m", "--model", default=None, help="Model to use (default: the manager's).")
@click.option("-t", "--threshold", type=click.FloatRange(1, 10), default=5, help="Expand at this score.")
@click.option("-r", "--research", is_flag=True)
@click.option("-i", "--id", "ids", default=None, help="Task ids, comma-separated.")
@click.option("--from", "from_id", type=int, default=None)
@click.option("--to", "to_id", type=int, default=None)
@record_option
@tm_options(file="-f")
def analyze_complexity_cmd(**kw: Any) -> None:
    """AI: score task complexity into a report."""
    from . import taskmaster_ai

    c = _ctx(kw)
    taskmaster_ai.analyze_complexity(c.store, c.tag, **kw)


@click.command("complexity-report")
@click.option("-f", "--file", "report", type=_FILE, default=None, help="The report file.")
@click.option("--output", type=_FILE, default=None, hidden=True)
@click.option("--tag", default=None, help="Tag whose report to show.")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default=None)
def complexity_report_cmd(report: Path | None, output: Path | None, **kw: Any) -> None:
    """Show the complexity report."""
    from . import taskmaster_ai

    c = _ctx(kw)
    taskmaster_ai.complexity_report(c.store, c.tag, report or output, as_json=c.json)
