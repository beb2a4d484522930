"""Pure planning logic: check a proposed graph, renumber it after existing ids, shape tasks.json entries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx

from .schemas import NewTask, PlannedSubtask, PlannedTask


def graph_problems(
    ids: Iterable[int], deps: dict[int, list[int]], *, label: str = "task", external: Iterable[int] = ()
) -> list[str]:
    """Unknown ids, self-dependencies and cycles in a proposed graph, each named. `external` ids are
    allowed targets outside the graph (already-existing tasks)."""
    known = set(ids)
    ext = set(external)
    problems: list[str] = []
    g: nx.DiGraph = nx.DiGraph()
    g.add_nodes_from(known)
    for node, ds in sorted(deps.items()):
        for d in ds:
            if d == node:
                problems.append(f"{label} {node} depends on itself")
            elif d in known:
                g.add_edge(node, d)
            elif d not in ext:
                problems.append(f"{label} {node} depends on unknown {label} {d}")
    for cycle in sorted(nx.simple_cycles(g), key=lambda c: (len(c), sorted(c))):
        if len(cycle) > 1:
            start = cycle.index(min(cycle))
            ring = cycle[start:] + cycle[:start]
            problems.append("cycle: " + " -> ".join(str(i) for i in [*ring, ring[0]]))
            if len(problems) > 20:
                break
    return problems


def planned_problems(tasks: Sequence[PlannedTask]) -> list[str]:
    return graph_problems([t.id for t in tasks], {t.id: list(t.dependencies or []) for t in tasks})


def subtask_problems(existing_ids: Iterable[int], subtasks: Sequence[PlannedSubtask]) -> list[str]:
    existing = set(existing_ids)
    ids = [s.id for s in subtasks]
    dup = sorted({i for i in ids if ids.count(i) > 1 or i in existing})
    problems = [f"subtask id {i} is used twice" for i in dup]
    deps = {s.id: list(s.dependencies) for s in subtasks}
    return problems + graph_problems(ids, deps, label="subtask", external=existing)


def _clean(text: str | None) -> str:
    return (text or "").strip()


def task_entry(t: PlannedTask, new_id: int, deps: list[int], default_priority: str) -> dict[str, Any]:
    """A tasks.json task (task-master's field order), with our optional extensions when present."""
    entry: dict[str, Any] = {
        "id": new_id,
        "title": t.title,
        "description": t.description,
        "details": _clean(t.details),
        "testStrategy": _clean(t.testStrategy),
        "priority": t.priority or default_priority,
        "dependencies": sorted(deps),
        "status": "pending",
        "subtasks": [],
    }
    if t.acceptanceCriteria:
        entry["acceptanceCriteria"] = [c.strip() for c in t.acceptanceCriteria if c.strip()]
    if t.relevantFiles:
        entry["relevantFiles"] = [f.strip() for f in t.relevantFiles if f.strip()]
    if t.verify:
        entry["metadata"] = {"verify": [list(c) for c in t.verify]}
    return entry


def renumber(tasks: Sequence[PlannedTask], next_id: int, default_priority: str) -> list[dict[str, Any]]:
    """Map answer ids 1..N to next_id.. and their dependencies with them."""
    mapping = {t.id: next_id + i for i, t in enumerate(sorted(tasks, key=lambda t: t.id))}
    out = []
    for t in sorted(tasks, key=lambda t: t.id):
        deps = [mapping[d] for d in (t.dependencies or [])]
        if isinstance(t, NewTask):
            deps += list(t.existingDependencies or [])
        out.append(task_entry(t, mapping[t.id], sorted(set(deps)), default_priority))
    return out


def subtask_entries(parent_id: int, subtasks: Sequence[PlannedSubtask]) -> list[dict[str, Any]]:
    """Subtasks in task-master's expand shape; sibling dependencies written as "P.S"."""
    out = []
    for s in sorted(subtasks, key=lambda s: s.id):
        entry: dict[str, Any] = {
            "id": s.id,
            "title": s.title.strip(),
            "description": s.description.strip(),
            "dependencies": [f"{parent_id}.{d}" for d in sorted(set(s.dependencies))],
            "details": s.details.strip(),
            "status": "done" if s.status in ("done", "completed") else "pending",
            "testStrategy": _clean(s.testStrategy),
        }
        if s.acceptanceCriteria:
            entry["acceptanceCriteria"] = list(s.acceptanceCriteria)
        if s.verify:
            entry["metadata"] = {"verify": [list(c) for c in s.verify]}
        out.append(entry)
    return out
