"""scope-up / scope-down (task-master's scope adjustment): the manager rewrites a task (or subtask) to a
larger or smaller scope. A task's pending subtasks are replaced by new ones, as many as task-master's
formula asks for; subtasks already started or finished are kept. Asked before the lock, applied under it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError, NotFoundError
from ..taskmaster import ops
from ..taskmaster.model import Subtask, Task, parse_document
from ..taskmaster.reports import complexity_by_task
from ..taskmaster.store import TaskStore
from .core import Manager, _research_note
from .planning import subtask_entries, subtask_problems
from .schemas import ScopeAnswer

STRENGTHS = {
    "light": "a small adjustment: a few details more (or less), the structure kept",
    "regular": "a clear adjustment: new aspects covered (or secondary ones dropped)",
    "heavy": "a major adjustment: a much broader task (or only its essential core)",
}


def target_subtasks(up: bool, strength: str, preserved: int, pending: int, complexity: float | None) -> int:
    """task-master's total subtask count after the adjustment (scope-adjustment.js)."""
    factor = max(0.5, complexity / 10) if complexity else 1.0
    if up:
        floor, grow, spread = {"light": (5, 1.1, 0.4), "regular": (6, 1.3, 0.4), "heavy": (8, 1.6, 0.6)}[
            strength
        ]
        base = max(floor, preserved + math.ceil(pending * grow))
        return math.ceil(base * (0.8 + spread * factor))
    c = complexity or 0
    aggressive = 0.7 if c >= 8 else 0.85 if c >= 6 else 1.0
    if strength == "light":
        return math.ceil(max(3, preserved + math.ceil(pending * 0.8)) * aggressive)
    if strength == "regular":
        return math.ceil(max(3, preserved + math.ceil(pending * 0.5)) * aggressive)
    ultra = 0.3 if c >= 9 else 0.5 if c >= 7 else 0.7
    return max(1, math.ceil(max(2, preserved + math.ceil(pending * 0.25)) * ultra))


def _score(report: dict[str, dict[str, object]], uid: str) -> float | None:
    score = report.get(uid, {}).get("complexity")
    return float(score) if isinstance(score, int | float) else None


@dataclass
class _Plan:
    uid: str
    answer: ScopeAnswer
    replaced: list[str]  # the pending subtasks the new ones replace


def _ask(
    manager: Manager,
    unit: Task | Subtask,
    up: bool,
    strength: str,
    prompt: str,
    research: bool,
    complexity: float | None,
) -> _Plan:
    kept: list[Subtask] = []
    pending: list[Subtask] = []
    if isinstance(unit, Task):
        kept = [s for s in unit.subtasks if s.status != "pending"]
        pending = [s for s in unit.subtasks if s.status == "pending"]
    n = 0
    if pending:
        n = max(1, target_subtasks(up, strength, len(kept), len(pending), complexity) - len(kept))
    next_id = max((s.id for s in kept), default=0) + 1
    if n:
        rule = (
            f"- Replace its pending subtasks with {n} new ones, numbered from {next_id}; `dependencies` name "
            "sibling ids (the kept subtasks or new ones)."
        )
    else:
        rule = "- Answer `subtasks` as an empty list."

    def check(a: ScopeAnswer) -> list[str]:
        if len(a.subtasks) != n:
            return [f"{n} subtasks were asked for, got {len(a.subtasks)}"]
        problems = subtask_problems([s.id for s in kept], a.subtasks)
        return problems + [f"subtask id {s.id} is below {next_id}" for s in a.subtasks if s.id < next_id]

    listing = "\n".join(f"- kept subtask {s.id} [{s.status}]: {s.title}" for s in kept)
    answer = manager._ask_graph(
        ScopeAnswer,
        "scope_adjust",
        check,
        research=research,
        task_id=unit.uid,
        direction="increase" if up else "decrease",
        strength=strength,
        strength_note=STRENGTHS[strength],
        subtask_rule=rule,
        next_id=next_id,
        uid=unit.uid,
        title=unit.title,
        description=unit.description,
        details=unit.details,
        test_strategy=unit.test_strategy,
        kept_subtasks=listing,
        prompt=f"Instructions: {prompt}" if prompt.strip() else "",
        research_note=_research_note(research),
    )
    return _Plan(unit.uid, answer, [s.uid for s in pending] if n else [])


def adjust_scope(
    manager: Manager,
    store: TaskStore,
    ids: list[str],
    *,
    up: bool,
    strength: str = "regular",
    prompt: str = "",
    research: bool = False,
    tag: str | None = None,
) -> list[Task | Subtask]:
    if strength not in STRENGTHS:
        raise InputError(f"invalid strength '{strength}' (expected light, regular or heavy)")
    if not ids:
        raise InputError("scope-up/scope-down need --id=N[,N or P.S]")
    data = store.load(tag)
    report = complexity_by_task(store, data.name)
    units = [data.find(i) for i in ids]
    for u in units:
        if u.status in ("done", "cancelled"):
            raise InputError(f"{u.uid} is {u.status}; its scope is not changed")
    plans = [_ask(manager, u, up, strength, prompt, research, _score(report, u.uid)) for u in units]
    with store.edit(tag) as live:
        out = []
        for plan in plans:
            try:
                unit = live.find(plan.uid)
            except NotFoundError:
                raise InputError(f"{plan.uid} was removed meanwhile; nothing written") from None
            a = plan.answer
            unit.title, unit.description = a.title.strip(), a.description.strip()
            unit.details, unit.test_strategy = (a.details or "").strip(), (a.testStrategy or "").strip()
            if isinstance(unit, Task) and plan.replaced:
                ops.remove_task(live, plan.replaced)
                entry = {"id": unit.id, "title": unit.title, "description": unit.description}
                entry["subtasks"] = subtask_entries(unit.id, a.subtasks)
                fresh = parse_document({"t": {"tasks": [entry]}}, "manager answer").tags["t"].tasks[0]
                unit.subtasks = [*unit.subtasks, *fresh.subtasks]
            out.append(unit)
    return out
