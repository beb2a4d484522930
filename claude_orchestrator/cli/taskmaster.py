"""`task-master`: a Task Master-compatible CLI, a thin click layer over claude_orchestrator.taskmaster.

Flags follow task-master-ai 0.43.1 where they exist. `--tag`, `-f/--file` and `-p/--project` work everywhere;
`-f json` (and `--format json`) selects JSON output, as task-master's `next -f json` does.
The AI commands (parse-prd, expand, analyze-complexity, complexity-report, add-task --prompt) are in
taskmaster_ai.py, imported only when one runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..taskmaster.ids import parse_ids
from .common import echo_json, run_main
from .taskmaster_common import TMGroup, _ctx, common
from .taskmaster_subtasks import add_subtask_cmd, clear_subtasks_cmd, remove_subtask_cmd
from .taskmaster_tags import tags_add, tags_group, tags_remove, tags_use


@click.group(cls=TMGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="task-master (claude-orchestrator)")
def cli() -> None:
    """Task Master-compatible task database (.taskmaster/tasks/tasks.json)."""


@cli.command("init")
@click.option("-y", "--yes", is_flag=True, help="Accepted for compatibility.")
@click.option("-n", "--name", default=None, help="Project name.")
@click.option("--skip-install", is_flag=True, hidden=True)
@click.option("--no-git", is_flag=True, hidden=True)
@click.option("--no-aliases", is_flag=True, hidden=True)
@click.option("-r", "--rules", default=None, hidden=True)
@click.option("-p", "--project", type=click.Path(file_okay=False, path_type=Path), default=None)
def init_cmd(name: str | None, project: Path | None, **_: Any) -> None:
    """Create .taskmaster/ (config, state, templates; no tasks.json yet)."""
    from ..taskmaster.store import init_project

    root = project or Path.cwd()
    created = init_project(root, name)
    click.echo(f"Initialised {root / '.taskmaster'} ({len(created)} new paths)")


@cli.command("list")
@click.argument("status_arg", required=False)
@click.option("-s", "--status", default=None, help="Comma list of statuses to show.")
@click.option("--with-subtasks", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("-c", "--compact", is_flag=True, hidden=True)
@common
def list_cmd(
    status_arg: str | None, status: str | None, with_subtasks: bool, as_json: bool, **kw: Any
) -> None:
    """List the tag's tasks."""
    from ..taskmaster import render
    from ..taskmaster.graph import TaskGraph
    from ..taskmaster.ops import check_status

    c = _ctx(kw, as_json)
    if status_arg == "all":
        with_subtasks, status_arg = True, None
    wanted = parse_ids(status or status_arg or "") or None
    for s in wanted or ():
        check_status(s)
    data = c.load()
    if c.json:
        echo_json(render.list_json(data, wanted, with_subtasks))
    else:
        click.echo(render.list_text(data, wanted, with_subtasks, TaskGraph(data).next_task()))


@cli.command("next")
@click.option("--json", "as_json", is_flag=True)
@common
def next_cmd(as_json: bool, **kw: Any) -> None:
    """Show the next task to work on (task-master's getNextTask)."""
    from ..taskmaster import render
    from ..taskmaster.graph import TaskGraph

    c = _ctx(kw, as_json)
    data = c.load()
    unit = TaskGraph(data).next_task()
    if c.json:
        echo_json(render.next_json(data, unit))
    elif unit is None:
        click.echo("No eligible next task: every task is done, blocked by dependencies, or not pending.")
    else:
        click.echo("Next task:\n" + render.unit_text(data, unit))


@cli.command("show")
@click.argument("ids", required=False)
@click.option("-i", "--id", "id_opt", default=None)
@click.option("--json", "as_json", is_flag=True)
@common
def show_cmd(ids: str | None, id_opt: str | None, as_json: bool, **kw: Any) -> None:
    """Show tasks or subtasks: ID[,ID] with subtasks as P.S."""
    from ..errors import InputError, NotFoundError
    from ..taskmaster import render

    c = _ctx(kw, as_json)
    asked = parse_ids(ids or id_opt or "")
    if not asked:
        raise InputError("show needs a task id, e.g. `task-master show 3` or `show 3.1`")
    data = c.load()
    units, missing = [], []
    for i in asked:
        try:
            units.append(data.find(i))
        except NotFoundError:
            if len(asked) == 1:
                raise
            missing.append(i)
    if c.json:
        echo_json(render.show_json(units, asked, missing))
        return
    click.echo("\n\n".join(render.unit_text(data, u) for u in units))
    if missing:
        click.echo(f"Not found: {', '.join(missing)}", err=True)


@cli.command("set-status")
@click.argument("ids_arg", required=False)
@click.argument("status_arg", required=False)
@click.option("-i", "--id", "ids", default=None, help="Comma list: 1,2.1")
@click.option("-s", "--status", default=None)
@common
def set_status_cmd(
    ids_arg: str | None, status_arg: str | None, ids: str | None, status: str | None, **kw: Any
) -> None:
    """Set the status of tasks/subtasks (a parent follows its subtasks)."""
    from ..errors import InputError
    from ..taskmaster import ops

    c = _ctx(kw)
    ids = ids or ids_arg
    status = status or status_arg
    if not ids or not status:
        raise InputError("set-status needs ids and a status: `set-status --id=1,2.1 --status=done`")
    with c.store.edit(c.explicit_tag) as data:
        changed = ops.set_status(data, parse_ids(ids), status)
    click.echo(
        f"Set {ids} to {status}" + (f" (changed: {', '.join(changed)})" if changed else " (no change)")
    )


cli.add_command(set_status_cmd, "status")


@cli.command("add-task")
@click.option("--title", default=None)
@click.option("-d", "--description", default=None)
@click.option("--details", default="")
@click.option("--test-strategy", default="")
@click.option("--priority", default=None)
@click.option("--dependencies", default="")
@click.option("--prompt", default=None, help="Describe the task; the manager writes it.")
@click.option("-r", "--research", is_flag=True)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save every model exchange as JSONL.",
)
@common
def add_task_cmd(title: str | None, description: str | None, prompt: str | None, **kw: Any) -> None:
    """Add a task: manually (--title --description) or by --prompt (AI)."""
    from ..taskmaster import ops

    c = _ctx(kw)
    if prompt is not None and title is None:
        from . import taskmaster_ai

        taskmaster_ai.add_task(c.store, c.tag, prompt, **kw)
        return
    priority = kw["priority"] or c.store.config().get("global", {}).get("defaultPriority") or "medium"
    with c.store.edit(c.explicit_tag) as data:
        task = ops.add_task(
            data,
            title or "",
            description or "",
            details=kw["details"],
            test_strategy=kw["test_strategy"],
            priority=priority,
            dependencies=parse_ids(kw["dependencies"]),
        )
    click.echo(f"Added task {task.id}: {task.title}")


@cli.command("remove-task")
@click.option("-i", "--id", "ids", required=True)
@click.option("-y", "--yes", is_flag=True)
@common
def remove_task_cmd(ids: str, yes: bool, **kw: Any) -> None:
    """Remove tasks/subtasks (and every dependency on them)."""
    from ..taskmaster import ops

    c = _ctx(kw)
    with c.store.edit(c.explicit_tag) as data:
        removed = ops.remove_task(data, parse_ids(ids))
    click.echo(f"Removed {', '.join(removed)}")


def _dep_cmd(name: str, adding: bool) -> click.Command:
    @click.option("-i", "--id", "unit_id", required=True)
    @click.option("-d", "--depends-on", required=True)
    @common
    def cmd(unit_id: str, depends_on: str, **kw: Any) -> None:
        from ..taskmaster import ops

        c = _ctx(kw)
        fn = ops.add_dependency if adding else ops.remove_dependency
        with c.store.edit(c.explicit_tag) as data:
            changed = fn(data, unit_id, depends_on)
        verb = "now depends on" if adding else "no longer depends on"
        click.echo(f"{unit_id} {verb} {depends_on}" + ("" if changed else " (unchanged)"))

    cmd.__doc__ = f"{'Add' if adding else 'Remove'} a dependency (ids N or P.S)."
    return click.command(name)(cmd)


cli.add_command(_dep_cmd("add-dependency", True))
cli.add_command(_dep_cmd("remove-dependency", False))


@cli.command("validate-dependencies")
@common
def validate_cmd(**kw: Any) -> None:
    """Report unknown, self, duplicate and circular dependencies (exit 1 if any)."""
    from ..taskmaster.graph import TaskGraph

    c = _ctx(kw)
    data = c.load()
    problems = TaskGraph(data).problems()
    if not problems:
        click.echo(f"All dependencies are valid (tag '{data.name}', {len(data.tasks)} tasks).")
        return
    click.echo(f"{len(problems)} dependency problem(s) in tag '{data.name}':")
    for p in problems:
        click.echo(f"  - {p}")
    sys.exit(1)


@cli.command("fix-dependencies")
@common
def fix_cmd(**kw: Any) -> None:
    """Remove unknown, self, duplicate and circular dependencies."""
    from ..taskmaster.graph import TaskGraph

    c = _ctx(kw)
    with c.store.edit(c.explicit_tag) as data:
        changes = TaskGraph(data).fix()
    click.echo("\n".join(changes) if changes else "No dependency problems found.")


@cli.command("generate")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=None)
@common
def generate_cmd(output: Path | None, **kw: Any) -> None:
    """Write one Markdown file per task (task_001.md)."""
    from ..taskmaster.render import generate_files

    c = _ctx(kw)
    paths = generate_files(c.load(), output or c.store.tasks_path.parent)
    click.echo(f"Wrote {len(paths)} task files to {output or c.store.tasks_path.parent}")


cli.add_command(add_subtask_cmd)
cli.add_command(remove_subtask_cmd)
cli.add_command(clear_subtasks_cmd)
cli.add_command(tags_group)
cli.add_command(tags_add, "add-tag")
cli.add_command(tags_use, "use-tag")
cli.add_command(tags_remove, "delete-tag")


# ---------------------------------------------------------------- AI commands (the manager's)


@cli.command("parse-prd")
@click.argument("prd", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-i", "--input", "input_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("-n", "--num-tasks", type=int, default=None)
@click.option("-r", "--research", is_flag=True)
@click.option("--append", is_flag=True)
@click.option("--force", is_flag=True)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save every model exchange as JSONL.",
)
@common
def parse_prd_cmd(prd: Path | None, input_path: Path | None, **kw: Any) -> None:
    """AI: turn a PRD into tasks."""
    from . import taskmaster_ai

    c = _ctx(kw)
    taskmaster_ai.parse_prd(c.store, c.tag, prd or input_path, **kw)


@cli.command("expand")
@click.option("-i", "--id", "task_id", default=None)
@click.option("-a", "--all", "all_", is_flag=True)
@click.option("-n", "--num", type=int, default=None)
@click.option("-r", "--research", is_flag=True)
@click.option("--prompt", default=None)
@click.option("--force", is_flag=True)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save every model exchange as JSONL.",
)
@common
def expand_cmd(task_id: str | None, all_: bool, **kw: Any) -> None:
    """AI: break tasks into subtasks."""
    from . import taskmaster_ai

    c = _ctx(kw)
    taskmaster_ai.expand(c.store, c.tag, task_id, all_, **kw)


@cli.command("analyze-complexity")
@click.option("-r", "--research", is_flag=True)
@click.option("--threshold", type=int, default=5)
@click.option("-i", "--id", "ids", default=None)
@click.option("--from", "from_id", type=int, default=None)
@click.option("--to", "to_id", type=int, default=None)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save every model exchange as JSONL.",
)
@common
def analyze_complexity_cmd(**kw: Any) -> None:
    """AI: score task complexity into a report."""
    from . import taskmaster_ai

    c = _ctx(kw)
    taskmaster_ai.analyze_complexity(c.store, c.tag, **kw)


@cli.command("complexity-report")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@common
def complexity_report_cmd(**kw: Any) -> None:
    """Show the complexity report."""
    from . import taskmaster_ai

    c = _ctx(kw)
    taskmaster_ai.complexity_report(c.store, c.tag, **kw)


def main(argv: list[str] | None = None) -> None:
    run_main(cli, argv, prog_name="task-master")


if __name__ == "__main__":
    main()
