"""`claude-orchestrator parse` and `add`: the manager's planning commands (thin layer over
claude_orchestrator.manager.service). The task-master AI commands call the same functions."""

from __future__ import annotations

from pathlib import Path

import click

from ..taskmaster.ids import parse_task_ids
from .llm_setup import llm_session, make_manager

_record = click.option(
    "--record", type=click.Path(dir_okay=False, path_type=Path), help="Save every model exchange as JSONL."
)


def _store(file: Path | None):  # type: ignore[no-untyped-def]
    from ..taskmaster.store import TaskStore

    return TaskStore.discover(Path.cwd(), file)


def _print_tasks(tasks: list) -> None:  # type: ignore[type-arg]
    for t in tasks:
        deps = ", ".join(str(d) for d in t.dependencies) or "-"
        click.echo(f"  {t.id:>4}  [{t.priority}] {t.title}  (depends on: {deps})")


@click.command("parse")
@click.argument("prd", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-n", "--num-tasks", type=click.IntRange(0, 500), default=None, help="About how many tasks.")
@click.option("--append", is_flag=True, help="Add to the existing tasks (renumbered after them).")
@click.option("--force", is_flag=True, help="Replace the existing tasks of the tag.")
@click.option("-r", "--research", is_flag=True, help="Raise the manager's effort.")
@click.option("--tag", help="Tag to write (default: the current tag).")
@click.option("-f", "--file", type=click.Path(dir_okay=False, path_type=Path), help="tasks.json path.")
@_record
def parse_cmd(
    prd: Path | None,
    num_tasks: int | None,
    append: bool,
    force: bool,
    research: bool,
    tag: str | None,
    file: Path | None,
    record: Path | None,
) -> None:
    """Turn a PRD into a dependency graph of tasks (default PRD: .taskmaster/docs/prd.txt)."""
    from ..manager import service

    store = _store(file)
    with llm_session(store.root, record) as session:
        tasks = service.parse_prd(
            make_manager(session),
            store,
            prd,
            num_tasks=num_tasks or None,
            append=append,
            force=force,
            research=research,
            tag=tag,
        )
    click.echo(f"Wrote {len(tasks)} tasks to {store.tasks_path}:")
    _print_tasks(tasks)


@click.command("add")
@click.argument("description")
@click.option("--no-decompose", is_flag=True, help="Always add exactly one task.")
@click.option("-p", "--priority", type=click.Choice(["low", "medium", "high", "critical"]))
@click.option("-d", "--dependencies", help="Comma list of task ids the new work depends on.")
@click.option("-r", "--research", is_flag=True)
@click.option("--tag")
@click.option("-f", "--file", type=click.Path(dir_okay=False, path_type=Path))
@_record
def add_cmd(
    description: str,
    no_decompose: bool,
    priority: str | None,
    dependencies: str | None,
    research: bool,
    tag: str | None,
    file: Path | None,
    record: Path | None,
) -> None:
    """Add work described in plain words: one task, or a few dependent ones."""
    from ..manager import service

    deps = parse_task_ids(dependencies)
    store = _store(file)
    with llm_session(store.root, record) as session:
        tasks = service.add_tasks(
            make_manager(session),
            store,
            description,
            decompose=not no_decompose,
            research=research,
            tag=tag,
            priority=priority,
            dependencies=deps,
        )
    click.echo(f"Added {len(tasks)} task(s):")
    _print_tasks(tasks)
