"""Run state of the scheduler: unit statuses and their consequences (readiness, subtask groups
completing, failures blocking dependents) and the final outcome. No threads here: only the scheduler
thread calls it."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import DependencyError
from ..events import (
    Log,
    RunEvent,
    RunFinished,
    RunStarted,
    RunWarning,
    TaskBlocked,
    TaskCompleted,
    TaskFailed,
    TaskSkipped,
)
from ..taskmaster.ids import id_key
from ..workers.base import WorkResult
from .units import SchedUnit, UnitGraph

PENDING, READY, RUNNING, INTEGRATING, BACKOFF = "pending", "ready", "running", "integrating", "backoff"
DONE, FAILED, BLOCKED, INTERRUPTED = "done", "failed", "blocked", "interrupted"
WITHDRAWN = "withdrawn"  # a person took it out of the run (its status in tasks.json), or it waits for one
_OPEN = (PENDING, READY)
NOT_STARTED = (PENDING, READY, BACKOFF)


@dataclass(frozen=True)
class Decision:
    """The integrator's answer for a unit whose worker succeeded (review/merge done)."""

    kind: Literal["done", "retry", "fail"] = "done"
    feedback: str | None = None  # for "retry": review issues or the merge conflict
    reason: str | None = None  # for "fail"
    new_units: list[SchedUnit] = field(default_factory=list)  # follow-ups added to the run
    commit: str | None = None
    branch: str | None = None
    result: WorkResult | None = None  # for "done": the result to keep (best of N: the attempt picked)

    def __post_init__(self) -> None:
        if self.kind not in ("done", "retry", "fail"):
            raise ValueError(f"Decision.kind must be done, retry or fail, not {self.kind!r}")


@dataclass
class RunOutcome:
    status: str  # "completed" | "failed" | "stopped"
    done: set[str]
    failed: set[str]
    blocked: set[str]
    interrupted: set[str]  # were running when the stop grace ran out, or never stopped after cancel
    pending: set[str]  # not finished because the run was stopped first
    done_before: set[str]
    reasons: dict[str, str]  # failed / blocked / interrupted unit -> why
    blocked_by: dict[str, list[str]]
    results: dict[str, WorkResult]  # the last attempt's result per unit
    attempts: dict[str, int]
    groups: set[str]  # parents among the ids above (they finish through their subtasks)
    makespan_s: float
    withdrawn: dict[str, str] = field(default_factory=dict)  # unit a person took out -> why


class RunState:
    """`publish` gets the events of every change (stamped with `run_id`); `on_failed(unit id, reason)` is
    called for each unit or group that fails for good."""

    def __init__(
        self,
        graph: UnitGraph,
        publish: Callable[[RunEvent], None],
        *,
        run_id: str = "",
        on_failed: Callable[[str, str], None] | None = None,
    ) -> None:
        self.g, self.publish, self.run_id, self.on_failed = graph, publish, run_id, on_failed
        self.status: dict[str, str] = {u: PENDING for u in graph.units}
        self.left: dict[str, int] = {u: len(d) for u, d in graph.deps.items()}
        self.group_left = {k: len(m) for k, m in graph.group_members.items()}
        self.group_state: dict[str, str] = {}
        self.ready: list[tuple[Any, ...]] = []  # heap of graph.ready_key
        self.backoff: set[str] = set()
        self.reasons: dict[str, str] = {}
        self.blocked_by: dict[str, list[str]] = {}
        self.results: dict[str, WorkResult] = {}
        self.attempts: dict[str, int] = {}
        self._deferred: list[TaskFailed | TaskBlocked] = []
        self.by_person: set[str] = set()  # withdrawn by their own status (not because they wait for one)

    def started_event(self, workers: int) -> RunStarted:
        g = self.g
        dead = g.unreachable()
        return RunStarted(
            run_id=self.run_id,
            total=len(g.units),
            ready=sum(1 for u in g.units if not g.deps[u] and u not in dead),
            done_before=len(g.done_before),
            critical_path=g.critical_path([u for u in g.units if u not in dead]),
            workers=workers,
        )

    def start(self) -> None:
        self.block_missing(list(self.g.missing))
        for u in self.g.topo:
            if self.status[u] == PENDING and self.left[u] == 0:
                self.make_ready(u)

    def dependency_results(self, uid: str, limit: int = 2000) -> dict[str, str]:
        """What the unit's dependencies finished in this run produced (their summaries, cut at `limit`)."""
        return {d: r.summary[:limit] for d in self.g.deps[uid] if (r := self.results.get(d)) is not None}

    def make_ready(self, uid: str) -> None:
        self.status[uid] = READY
        heapq.heappush(self.ready, self.g.ready_key(uid))

    def complete(
        self, uid: str, res: WorkResult, commit: str | None = None, branch: str | None = None
    ) -> None:
        self.status[uid] = DONE
        self.results[uid] = res  # what its dependents are told it produced
        self.publish(
            TaskCompleted(
                run_id=self.run_id,
                task_id=uid,
                cost_usd=res.cost_usd,
                duration_s=res.duration_s,
                commit=commit,
                branch=branch,
                turns=res.turns,
            )
        )
        self._release(uid)

    def _release(self, uid: str) -> None:
        """A unit is done: what waited for it may start; its groups may be complete."""
        for v in self.g.dependents.get(uid, ()):
            self.left[v] -= 1
            if self.left[v] == 0 and self.status[v] == PENDING:
                self.make_ready(v)
        for gid in self.g.ancestors.get(uid, ()):
            self.group_left[gid] -= 1
            if self.group_left[gid] == 0 and gid not in self.group_state:
                self.group_state[gid] = DONE
                mem = self.g.group_members[gid]
                rs = [self.results[m] for m in mem if m in self.results]
                self.publish(
                    TaskCompleted(
                        run_id=self.run_id,
                        task_id=gid,
                        cost_usd=sum(r.cost_usd for r in rs),
                        duration_s=sum(r.duration_s for r in rs),
                        turns=sum(r.turns for r in rs),
                        subtasks=sorted(mem, key=id_key),
                    )
                )

    def fail(self, uid: str, reason: str) -> None:
        """The unit failed for good: its transitive dependents are blocked; everything else goes on."""
        self.status[uid] = FAILED
        self.reasons[uid] = reason
        self._mark_groups(uid, FAILED, f"subtask {uid} failed: {reason}", emit=False)
        blocked = self.block_dependents(uid, uid, emit=False)
        attempts = self.attempts.get(uid, 0)
        self._publish(
            TaskFailed(
                run_id=self.run_id, task_id=uid, reason=reason, attempts=attempts, blocked_dependents=blocked
            )
        )
        for b in blocked:
            self._publish(self._blocked(b, self.reasons[b], self.blocked_by[b]))
        deferred, self._deferred = self._deferred, []
        for e in deferred:
            self._publish(e)

    def _publish(self, e: RunEvent) -> None:
        self.publish(e)
        if isinstance(e, TaskFailed) and self.on_failed is not None and e.task_id is not None:
            self.on_failed(e.task_id, e.reason)

    def _blocked(self, uid: str, reason: str, by: list[str]) -> TaskBlocked:
        return TaskBlocked(run_id=self.run_id, task_id=uid, reason=reason, blocked_by=by)

    def block_dependents(self, uid: str, cause: str, emit: bool = True) -> list[str]:
        out, stack = [], [uid]
        while stack:
            for v in self.g.dependents.get(stack.pop(), ()):
                if self.status.get(v) in _OPEN:
                    self.set_blocked(v, f"dependency {cause} did not complete", [cause], emit=emit)
                    out.append(v)
                    stack.append(v)
        return sorted(out, key=id_key)

    def set_blocked(self, uid: str, reason: str, by: list[str], emit: bool = True) -> None:
        self.status[uid] = BLOCKED
        self.reasons[uid] = reason
        self.blocked_by[uid] = by
        if emit:
            self.publish(self._blocked(uid, reason, by))
        self._mark_groups(uid, BLOCKED, f"subtask {uid} blocked: {reason}", emit=emit)

    def block_missing(self, ids: list[str]) -> None:
        for u in sorted(ids, key=id_key):
            if self.status.get(u) in _OPEN:
                miss = self.g.missing[u]
                self.set_blocked(u, f"dependency {', '.join(miss)} is not done and not in this run", miss)
                self.block_dependents(u, u)

    def _mark_groups(self, uid: str, state: str, reason: str, emit: bool) -> None:
        """The first failed or blocked member decides its groups' fate (events deferred if not emit)."""
        for gid in self.g.ancestors.get(uid, ()):
            if gid in self.group_state:
                continue
            self.group_state[gid] = state
            self.reasons[gid] = reason
            event: TaskFailed | TaskBlocked
            if state == FAILED:
                event = TaskFailed(
                    run_id=self.run_id, task_id=gid, reason=reason, attempts=0, blocked_dependents=[]
                )
            else:
                self.blocked_by[gid] = [uid]
                event = self._blocked(gid, reason, [uid])
            if emit:
                self._publish(event)
            else:
                self._deferred.append(event)

    def interrupt(self, uid: str, reason: str) -> None:
        self.status[uid] = INTERRUPTED
        self.reasons[uid] = reason
        self.publish(
            RunWarning(run_id=self.run_id, task_id=uid, message=f"interrupted: {reason}", interrupted=True)
        )

    def add_units(self, batch: list[SchedUnit], by: str | None, *, person: bool = False) -> None:
        """Follow-ups from the integrator (or, with `person`, tasks a person added to tasks.json); refused
        ones are reported, never silently dropped."""
        what = "tasks added to tasks.json" if person else "follow-up units"
        g = self.g
        try:
            new = g.add(batch)
        except DependencyError as e:
            msg = f"{what} rejected: {e}"
            self.publish(RunWarning(run_id=self.run_id, task_id=by, message=msg, units=[s.id for s in batch]))
            return
        for gid, members in g.group_members.items():
            self.group_left[gid] = sum(1 for m in members if self.status.get(m, PENDING) != DONE)
        for u in new:
            self.status[u] = PENDING
            self.left[u] = sum(1 for d in g.deps[u] if self.status.get(d) != DONE)
        self.ready = [g.ready_key(k[-1]) for k in self.ready]  # chain lengths changed
        heapq.heapify(self.ready)
        self.publish(Log(run_id=self.run_id, task_id=by, message=f"added {len(new)} {what}", units=new))
        for u in new:
            bad = [d for d in g.deps[u] if self.status.get(d) in (FAILED, BLOCKED, INTERRUPTED)]
            out = [d for d in g.deps[u] if self.status.get(d) == WITHDRAWN]
            if out:
                root = out[0] if out[0] in self.by_person else self.reasons[out[0]].removeprefix("waits for ")
                self._leave(u, "", f"waits for {root}")
            elif u in g.missing:
                self.block_missing([u])
            elif bad:
                self.set_blocked(u, f"dependency {bad[0]} did not complete", bad)
                self.block_dependents(u, bad[0])
            elif self.left[u] == 0:
                self.make_ready(u)

    # -- what a person changed in tasks.json during the run ----------------------------------------------

    def withdraw(self, uid: str, status: str) -> None:
        """Out of the run by its status in tasks.json, with every unit that waits for it."""
        self._leave(uid, status, f"{status} in tasks.json")
        self.by_person.add(uid)
        stack = [uid]
        while stack:
            for v in self.g.dependents.get(stack.pop(), ()):
                if self.status.get(v) in NOT_STARTED:
                    self._leave(v, "", f"waits for {uid}")
                    stack.append(v)

    def _leave(self, uid: str, status: str, reason: str) -> None:
        self.status[uid] = WITHDRAWN
        self.backoff.discard(uid)
        self.reasons[uid] = reason
        for gid in self.g.ancestors.get(uid, ()):
            self.group_state.setdefault(gid, WITHDRAWN)
        self.publish(TaskSkipped(run_id=self.run_id, task_id=uid, status=status, reason=reason))

    def done_outside(self, uid: str) -> None:
        """A person set the unit done in tasks.json before it ran: done, unrun; what waits for it goes on."""
        self.status[uid] = DONE
        self.publish(TaskSkipped(run_id=self.run_id, task_id=uid, status=DONE, reason="done in tasks.json"))
        self._release(uid)

    def readmit(self, uid: str) -> None:
        """Pending again in tasks.json: the unit, and those that left because they wait for it, return."""
        gone = [
            u for u, s in self.status.items() if s == WITHDRAWN and self.reasons.get(u) == f"waits for {uid}"
        ]
        back = [uid, *gone]
        self.by_person.discard(uid)
        for u in back:
            self.status[u] = PENDING
            self.reasons.pop(u, None)
            for gid in self.g.ancestors.get(u, ()):
                if self.group_state.get(gid) == WITHDRAWN:
                    del self.group_state[gid]
        message = f"task {uid} is pending again in tasks.json: back in the run"
        self.publish(Log(run_id=self.run_id, task_id=uid, message=message, units=back))
        for u in back:
            if self.left[u] == 0:
                self.make_ready(u)

    def hold_all(self) -> None:
        """Stop: nothing ready or backing off will start."""
        for u, s in self.status.items():
            if s in (READY, BACKOFF):
                self.status[u] = PENDING
        self.ready.clear()
        self.backoff.clear()

    def block_unreachable(self) -> None:
        """Cannot happen on an acyclic graph; but never leave a unit unaccounted for."""
        for u in [u for u, s in self.status.items() if s == PENDING]:
            self.set_blocked(u, "unreachable: its dependencies never finished", [])

    def outcome(self, makespan: float, stopping: bool) -> RunOutcome:
        by: dict[str, set[str]] = {s: set() for s in (DONE, FAILED, BLOCKED, INTERRUPTED, PENDING, WITHDRAWN)}
        for u, s in self.status.items():
            by[s if s in by else PENDING].add(u)
        for gid in self.g.groups:
            by[self.group_state.get(gid, PENDING)].add(gid)
        if by[INTERRUPTED] or (stopping and by[PENDING]):
            status = "stopped"
        elif by[FAILED] or by[BLOCKED]:
            status = "failed"
        else:
            status = "completed"
        self.publish(
            RunFinished(
                run_id=self.run_id,
                status=status,
                done=len(by[DONE]),
                failed=len(by[FAILED]),
                blocked=len(by[BLOCKED]),
                interrupted=sorted(by[INTERRUPTED], key=id_key),
                duration_s=makespan,
            )
        )
        return RunOutcome(
            status=status,
            done=by[DONE],
            failed=by[FAILED],
            blocked=by[BLOCKED],
            interrupted=by[INTERRUPTED],
            pending=by[PENDING],
            done_before=set(self.g.done_before) | self.g.skipped,
            reasons=dict(self.reasons),
            blocked_by=dict(self.blocked_by),
            results=dict(self.results),
            attempts=dict(self.attempts),
            groups=set(self.g.groups),
            makespan_s=makespan,
            withdrawn={u: self.reasons.get(u, "") for u in sorted(by[WITHDRAWN], key=id_key)},
        )
