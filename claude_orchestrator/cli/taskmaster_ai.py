"""The manager behind task-master's AI commands (parse-prd, expand, analyze-complexity, complexity-report,
add-task --prompt): the same library calls as `claude-orchestrator parse/add`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import InputError
from ..taskmaster.ids import parse_task_ids
from .llm_setup import llm_session, make_manager


def parse_prd(store: Any, tag: str, prd: Path | None, **opts: Any) -> None:
    from ..manager import service

    with llm_session(store.root, opts.get("record")) as s:
        tasks = service.parse_prd(
            make_manager(s),
            store,
            prd,
            num_tasks=opts.get("num_tasks") or None,
            append=opts.get("append", False),
            force=opts.get("force", False),
            research=opts.get("research", False),
            tag=tag,
        )
    click.echo(f"Successfully generated {len(tasks)} tasks in {store.tasks_path} (tag {tag})")


def expand(store: Any, tag: str, task_id: str | None, all_tasks: bool, **opts: Any) -> None:
    from ..manager import service

    if not all_tasks and not task_id:
        raise InputError("expand needs --id=N or --all")
    kwargs = dict(
        num=opts.get("num") or None,
        force=opts.get("force", False),
        research=opts.get("research", False),
        context=opts.get("prompt") or "",
        tag=tag,
        report=opts.get("report"),
    )
    with llm_session(store.root, opts.get("record")) as s:
        manager = make_manager(s)
        if all_tasks:
            done = service.expand_all(manager, store, **kwargs)
            click.echo(f"Expanded {len(done)} task(s): {', '.join(str(t.id) for t in done) or '-'}")
            return
        ids = parse_task_ids(task_id)
        for tid in ids:
            task = service.expand(manager, store, tid, **kwargs)
            click.echo(f"Task {tid} now has {len(task.subtasks)} subtasks:")
            for sub in task.subtasks:
                deps = ", ".join(str(d) for d in sub.dependencies) or "-"
                click.echo(f"  {sub.uid}  {sub.title}  (depends on: {deps})")


def analyze_complexity(store: Any, tag: str, **opts: Any) -> None:
    from ..manager import service

    ids = parse_task_ids(opts.get("ids"))
    lo, hi = opts.get("from_id"), opts.get("to_id")
    if lo is not None or hi is not None:
        ids = [
            t.id for t in store.load(tag).tasks if (lo is None or t.id >= lo) and (hi is None or t.id <= hi)
        ]
    threshold = float(opts.get("threshold") or 5)
    with llm_session(store.root, opts.get("record")) as s:
        if opts.get("model"):
            s.cfg = s.cfg.model_copy(deep=True)
            s.cfg.models.manager.model = opts["model"]
        path, report = service.analyze_complexity(
            make_manager(s),
            store,
            threshold=int(threshold) if threshold.is_integer() else threshold,
            research=opts.get("research", False),
            ids=ids or None,
            tag=tag,
            output=opts.get("output"),
        )
    click.echo(f"Complexity report for {report['meta']['tasksAnalyzed']} tasks written to {path}")


def complexity_report(store: Any, tag: str, report: Path | None = None, as_json: bool = False) -> None:
    from ..taskmaster.reports import read_report, report_path

    path = report or report_path(store.root, tag)
    data = read_report(path)
    if data is None:
        raise InputError(f"{path}: no complexity report; run `task-master analyze-complexity` first")
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    meta = data.get("meta", {})
    threshold = meta.get("thresholdScore", 5)
    click.echo(f"Complexity report ({meta.get('generatedAt', '?')}), threshold {threshold}:")
    for item in sorted(data.get("complexityAnalysis", []), key=lambda i: -float(i.get("complexityScore", 0))):
        flag = "expand" if float(item.get("complexityScore", 0)) >= float(threshold) else "ok"
        click.echo(
            f"  {item.get('taskId'):>4}  score {item.get('complexityScore')}  subtasks {item.get('recommendedSubtasks')}"
            f"  [{flag}]  {item.get('taskTitle', '')}"
        )


def add_task(store: Any, tag: str, prompt: str, **opts: Any) -> None:
    from ..manager import service

    with llm_session(store.root, opts.get("record")) as s:
        tasks = service.add_tasks(
            make_manager(s),
            store,
            prompt,
            decompose=False,
            research=opts.get("research", False),
            tag=tag,
            priority=opts.get("priority") or None,
            dependencies=parse_task_ids(opts.get("dependencies")),
        )
    for t in tasks:
        click.echo(f"Task {t.id} added: {t.title}")
