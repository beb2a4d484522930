"""From a tag's tasks to the scheduler's units: which tasks run, as which units, with which backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, NotFoundError
from ..taskmaster.ids import split_id
from ..taskmaster.model import Subtask, TagData, Task
from ..workers.base import WorkUnit
from .units import SchedUnit
from .verify import checks_of

SKIPPED = ("deferred", "cancelled", "review")
BACKENDS = ("claude-code", "api", "build")


@dataclass
class Selection:
    units: list[SchedUnit]
    done_before: set[str]
    tasks: dict[str, dict[str, Any]]  # unit id -> the task/subtask JSON (with parent fields for subtasks)
    skipped: dict[str, str] = field(default_factory=dict)  # task id -> why it does not run

    @property
    def runnable_ids(self) -> list[str]:
        return [u.id for u in self.units if u.id not in self.done_before]


def nothing_to_run(tag: TagData, sel: Selection) -> str:
    """Why a run of the tag has nothing to run, in a person's words."""
    if not tag.tasks:
        return (
            f"tag '{tag.name}' has no tasks yet: create some with `claude-orchestrator parse PRD` "
            'or `claude-orchestrator add "..."`'
        )
    counts: dict[str, int] = {}
    for t in tag.tasks:
        counts[t.status] = counts.get(t.status, 0) + 1
    if set(counts) == {"done"}:
        return f"every task of tag '{tag.name}' is done"
    listed = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"no task of tag '{tag.name}' is left to run ({listed})"


def _str_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v.get("path") if isinstance(v, dict) else v) for v in value if v]
    return []


@dataclass(frozen=True)
class BackendRule:
    """Which backend runs a task, the same rule for every unit of a run (review follow-ups too):
    --backend, then the task's metadata.backend, then a build plan, then config (auto: Claude Code when
    its CLI is available, else our own tool loop)."""

    override: str | None = None
    """--backend: every task runs on it."""

    default: str = "auto"
    """execution.default_backend."""

    cli_available: bool = True
    """Whether the Claude Code CLI was found (for "auto")."""

    def __call__(self, task_json: dict[str, Any]) -> str:
        if self.override:
            return self.override
        from ..workers.build import plan_from_task

        meta = task_json.get("metadata")
        if isinstance(meta, dict) and meta.get("backend") in BACKENDS:
            return str(meta["backend"])
        if plan_from_task(task_json) is not None:
            return "build"
        if self.default != "auto":
            return self.default
        return "claude-code" if self.cli_available else "api"


def earlier_summaries(tag: TagData) -> dict[str, str]:
    """Unit id -> the summary a done task or subtask left in its metadata (for its dependents)."""
    out: dict[str, str] = {}
    for task in tag.tasks:
        items: list[Task | Subtask] = [task, *task.subtasks]
        for item in items:
            meta = item.extra.get("metadata")
            orch = meta.get("orchestrator") if isinstance(meta, dict) else None
            if isinstance(orch, dict) and orch.get("summary"):
                out[item.uid] = str(orch["summary"])
    return out


def follow_up_unit(task: Task, rule: BackendRule) -> SchedUnit:
    """A task the review added during the run, as a unit (its dependency runs in this run)."""
    return SchedUnit(_unit(task, None, rule(task.to_json())))


MAX_ATTEMPTS = 16


def attempts_of(uid: str, metadata: Any, override: int | None = None) -> int:
    """How many attempts of a unit run at once (best of N): `run --attempts`, else `metadata.attempts`,
    else 1. Raises InputError for a bad `metadata.attempts`."""
    value = metadata.get("attempts") if isinstance(metadata, dict) else None
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ATTEMPTS
    ):
        raise InputError(f"task {uid}: metadata.attempts must be a whole number from 1 to {MAX_ATTEMPTS}")
    return override or value or 1


def _unit(
    item: Task | Subtask,
    parent: Task | None,
    backend: str,
    earlier: dict[str, str] | None = None,
    attempts: int | None = None,
) -> WorkUnit:
    src = item.extra
    deps = [str(d) for d in item.dependencies]
    earlier = earlier or {}
    prio = item.priority or (parent.priority if parent else None) or "medium"
    desc = item.description
    if parent is not None:
        desc = f"{desc}\n\n(Part of task {parent.id}: {parent.title} — {parent.description})"
    meta = dict(src.get("metadata") or {}) if isinstance(src.get("metadata"), dict) else {}
    return WorkUnit(
        unit_id=item.uid,
        task_id=str(parent.id if parent else item.id),
        title=item.title,
        description=desc,
        details=item.details,
        test_strategy=item.test_strategy,
        acceptance_criteria=_str_list(src.get("acceptanceCriteria")),
        relevant_files=_str_list(src.get("relevantFiles")),
        dependencies=sorted(set(deps)),
        priority=prio,
        backend=backend,
        metadata=meta,
        dependency_results={d: earlier[d] for d in deps if d in earlier},  # this run's: the scheduler's
        best_of=1 if backend == "build" else attempts_of(item.uid, meta, attempts),
    )


def _estimate(task: Task) -> float | None:
    """A relative duration from task-master's complexity score (1-10), when the task carries one: the
    scheduler then prefers the longest weighted chain."""
    score = task.extra.get("complexity")
    if isinstance(score, (int, float)) and not isinstance(score, bool) and 0 < score <= 10:
        return float(score) / (len(task.subtasks) or 1)
    return None


def _with_deps(tag: TagData, wanted: set[str]) -> set[str]:
    """`wanted` plus every unfinished task it depends on, transitively (ids of top-level tasks)."""
    out, stack = set(), list(wanted)
    while stack:
        tid = stack.pop()
        if tid in out:
            continue
        out.add(tid)
        task = tag.task(int(tid))
        if task is None:
            continue
        deps = [*task.dependencies, *(d for s in task.subtasks for d in s.dependencies)]
        for parsed in map(split_id, deps):
            dt = tag.task(parsed[0]) if parsed is not None else None
            if dt is not None and dt.status != "done" and dt.uid not in out:
                stack.append(dt.uid)
    return out


def select_units(
    tag: TagData,
    *,
    ids: list[str] | None = None,
    with_deps: bool = False,
    rule: BackendRule | None = None,
    attempts: int | None = None,
) -> Selection:
    """Units for the run: tasks without subtasks are units "N"; a task with subtasks is a group "N"
    whose subtasks "N.S" run. Done tasks and subtasks count as done before the run. Each unit carries
    what its dependencies done in earlier runs produced. `attempts`: best of N for every unit."""
    rule = rule or BackendRule()
    if rule.override is not None and rule.override not in BACKENDS:
        raise InputError(f"unknown backend '{rule.override}' (choose from {', '.join(BACKENDS)})")
    earlier = earlier_summaries(tag)
    wanted: set[str] | None = None
    if ids:
        units_asked = [tag.find(i) for i in ids]  # NotFoundError names an unknown id
        wanted = {str(u.parent_id) if isinstance(u, Subtask) else u.uid for u in units_asked}
        if with_deps:
            wanted = _with_deps(tag, wanted)
    units: list[SchedUnit] = []
    done: set[str] = set()
    info: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for task in tag.tasks:
        tid = task.uid
        if task.status == "done":
            done.add(tid)
            done.update(s.uid for s in task.subtasks)
            continue
        if wanted is not None and tid not in wanted:
            skipped[tid] = "not selected"
            continue
        if task.status in SKIPPED:
            skipped[tid] = f"status {task.status}"
            continue
        tjson = task.to_json()
        be = rule(tjson)
        info[tid] = tjson
        est = _estimate(task)
        if not task.subtasks or be == "build":
            units.append(SchedUnit(_unit(task, None, be, earlier, attempts), est_duration_s=est))
            continue
        units.append(SchedUnit(_unit(task, None, be, earlier)))  # the group
        for s in task.subtasks:
            if s.status == "done":
                done.add(s.uid)
            sjson = {**s.to_json(), "id": s.uid, "parentTask": {"id": task.id, "title": task.title}}
            info[s.uid] = sjson
            units.append(SchedUnit(_unit(s, task, be, earlier, attempts), parent=tid, est_duration_s=est))
    for su in units:
        checks_of(su.id, su.unit.metadata)  # a malformed `verify` is bad input: nothing starts
    if ids and not units:
        raise NotFoundError(f"nothing to run among {', '.join(ids)}: they are done or not runnable")
    return Selection(units=units, done_before=done, tasks=info, skipped=skipped)
