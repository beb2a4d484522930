"""Rewriting tasks with new context (Task Master's `update` and `update-task`): the manager rewrites each
task's text; ids, status, dependencies and subtasks are kept. The model is asked before the database is
locked; the answer is applied under the lock, and nothing is written if a task vanished meanwhile."""

from __future__ import annotations

from ..errors import InputError, NotFoundError
from ..taskmaster.model import Task
from ..taskmaster.store import TaskStore
from .core import Manager


def update_tasks(
    manager: Manager,
    store: TaskStore,
    ids: list[int],
    prompt: str,
    *,
    research: bool = False,
    tag: str | None = None,
) -> list[Task]:
    if not prompt.strip():
        raise InputError("the new context (prompt) is empty")
    data = store.load(tag)
    tasks = []
    for i in ids:
        task = data.task(i)
        if task is None:
            raise NotFoundError(f"task {i} not found in tag '{data.name}'")
        tasks.append(task)
    if not tasks:
        raise InputError(f"no tasks to update in tag '{data.name}'")
    answer = manager.rewrite_tasks([t.to_json() for t in tasks], prompt, research=research)
    with store.edit(tag) as live:
        out = []
        for item in answer.tasks:
            task = live.task(item.id)
            if task is None:
                raise NotFoundError(f"task {item.id} was removed meanwhile; nothing written")
            task.title, task.description = item.title.strip(), item.description.strip()
            task.details, task.test_strategy = item.details or "", item.testStrategy or ""
            if item.priority:
                task.priority = item.priority
            out.append(task)
    return out
