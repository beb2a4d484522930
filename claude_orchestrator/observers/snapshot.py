"""The state of a run at an instant, folded from events (the kinds and their fields: events/__init__.py).
Observers (display, Slack, status) read snapshots; nothing here decides anything (run/gate.UsageGuard does,
for the scheduler).

Counts are of runnable units. A group (a parent whose subtasks run) has its task_completed, task_failed and
task_blocked listed in the recent events but not counted again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..events import (
    Event,
    Log,
    RateLimited,
    RunFinished,
    RunStarted,
    RunWarning,
    TaskBlocked,
    TaskCompleted,
    TaskFailed,
    TaskProgress,
    TaskReady,
    TaskRetry,
    TaskSkipped,
    TaskStarted,
    TaskVerification,
    Usage,
)
from ..taskmaster.ids import id_key
from .inflight import InFlight, WorkerRow
from .snapshot_data import CheckCounts, RunSnapshot, TaskCounts, UsagePanel
from .text import describe_event

__all__ = ["CheckCounts", "RunSnapshot", "SnapshotBuilder", "TaskCounts", "UsagePanel", "WorkerRow"]

STATES = ("ready", "running", "waiting", "blocked", "done", "failed")
_ENDS = (TaskCompleted, TaskFailed, TaskBlocked, TaskSkipped)
_UNIT_EVENTS = (TaskReady, TaskStarted, TaskProgress, TaskRetry, *_ENDS)


@dataclass
class _Task:
    state: str
    started_at: float = 0.0


class SnapshotBuilder:
    """Folds events into run state; thread-safe. Subscribe it to the bus (it is callable)."""

    def __init__(self, *, recent: int = 6, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._run_id = ""
        self._started_at = 0.0
        self._status = "running"
        self._finished_at: float | None = None
        self._counts = dict.fromkeys(STATES, 0)
        self._known = dict.fromkeys(STATES, 0)  # of the tasks seen by id, how many are in each state
        self._total = 0
        self._max_workers = 0
        self._tasks: dict[str, _Task] = {}
        self._rows = InFlight()
        self._stop_deadline: float | None = None
        self._usage: dict[str, Any] = {}
        self._budget: float | None = None
        self._headroom: float | None = None
        self._window: float | None = None
        self._task_costs: dict[str, float] = {}
        self._durations: list[float] = []
        self._critical: list[str] | None = None
        self._critical_len = 0
        self._retries = 0
        self._recent: deque[str] = deque(maxlen=recent)
        self._groups: set[str] = set()
        self._checked: dict[str, str] = {}  # unit -> its last verification status

    def __call__(self, event: Event) -> None:
        self.fold(event)

    # -- folding -------------------------------------------------------------------------------
    def _move(self, task_id: str, to: str, default_from: str, ts: float) -> None:
        """Move a task between count buckets. Tasks first seen mid-run (no TASK_READY was sent) come from
        `default_from`; a start is taken from the anonymous ready pool of RUN_STARTED while it lasts, else
        from waiting. Whatever happens the total stays the total."""
        t = self._tasks.get(task_id)
        if t is not None and t.state == to:
            return
        prev = t.state if t is not None else default_from
        if t is None and prev == "ready" and self._counts["ready"] - self._known["ready"] <= 0:
            prev = "waiting"
        for bucket in (prev, "waiting", "ready"):
            if self._counts[bucket] > 0:
                self._counts[bucket] -= 1
                break
        if t is not None:
            self._known[t.state] -= 1
        self._counts[to] += 1
        self._known[to] += 1
        self._tasks[task_id] = _Task(to, ts if to == "running" else (t.started_at if t else 0.0))
        seen = sum(self._counts.values())
        if seen > self._total:
            self._total = seen

    def _note_groups(self, e: Event) -> bool:
        """Remember parents of subtask ids ("3" of "3.1"); True when the event's task is such a group, whose
        events summarise its subtasks and must not be counted again."""
        ids: list[str | None] = [e.task_id]
        match e:
            case TaskFailed():
                ids += e.blocked_dependents
            case TaskBlocked():
                ids += e.blocked_by
            case Log(units=units) | RunWarning(units=units) if units is not None:
                ids += units
            case TaskCompleted(subtasks=subtasks) if subtasks is not None:
                ids += subtasks
                if e.task_id is not None:
                    self._groups.add(e.task_id)
        for x in ids:
            parts = x.split(".") if x is not None else []
            for i in range(1, len(parts)):
                self._groups.add(".".join(parts[:i]))
        return e.task_id is not None and e.task_id in self._groups

    def fold(self, e: Event) -> None:
        with self._lock:
            group = self._note_groups(e) and isinstance(e, _UNIT_EVENTS)
            tid = None if group else e.task_id  # a group's summary: listed in recent events, not counted
            match e:
                case RunStarted():
                    self._fold_run_started(e)
                case Log(units=units) if units is not None:
                    self._add_units(units)
                case Usage():
                    self._fold_usage(e)
                case RateLimited(utilization=u) if u is not None:
                    self._window = 100.0 * u
                case TaskVerification(candidate=None) if tid is not None:
                    self._checked[tid] = e.status
                case RunFinished():
                    self._status, self._finished_at = e.status or "finished", e.ts
                    self._rows.clear()
                case RunWarning(grace_s=grace) if grace is not None and e.task_id is None:
                    self._status, self._stop_deadline = "stopping", e.ts + grace
                    self._task_costs.update(self._rows.stop_retries())
                case RunWarning(interrupted=True) if tid is not None:
                    self._interrupted(tid, e.ts)
                case _ if tid is not None:
                    self._fold_task(e, tid)
            if not isinstance(e, (TaskProgress, Usage)):
                self._recent.append(time.strftime("%H:%M:%S ", time.localtime(e.ts)) + describe_event(e))

    def _fold_run_started(self, e: RunStarted) -> None:
        self._run_id, self._started_at, self._status = e.run_id, e.ts, "running"
        self._finished_at = None
        self._total, done, ready = e.total, e.done_before, e.ready
        self._counts = dict.fromkeys(STATES, 0)
        self._counts.update(done=done, ready=ready, waiting=max(0, self._total - done - ready))
        self._tasks.clear()
        self._known = dict.fromkeys(STATES, 0)
        self._groups.clear()
        self._rows.clear()
        self._stop_deadline = None
        self._budget = e.budget_usd or None
        self._max_workers = e.workers
        if isinstance(e.critical_path, int):
            self._critical, self._critical_len = None, e.critical_path
        else:
            self._critical = list(e.critical_path)
            self._critical_len = len(self._critical)

    def _add_units(self, units: Sequence[str]) -> None:
        """Follow-up units added at run time start out waiting."""
        for u in units:
            if u not in self._tasks and u not in self._groups:
                self._tasks[u] = _Task("waiting")
                self._counts["waiting"] += 1
                self._known["waiting"] += 1
                self._total += 1

    def _fold_task(self, e: Event, tid: str) -> None:
        match e:
            case TaskReady():
                self._move(tid, "ready", "waiting", e.ts)
            case TaskStarted():
                self._move(tid, "running", "ready", e.ts)
                self._rows.started(e, tid)
            case TaskProgress():
                if e.usage_window_pct is not None:
                    self._window = e.usage_window_pct
                self._rows.progress(e, tid)
            case TaskRetry():
                self._retries += 1
                self._rows.retry(e, tid)
                self._move(tid, "ready", "running", e.ts)
            case TaskCompleted():
                self._finish(tid, e.cost_usd)
                self._move(tid, "done", "running", e.ts)
                if e.duration_s is not None:
                    self._durations.append(e.duration_s)
            case TaskFailed():
                self._finish(tid, e.cost_usd)
                self._move(tid, "failed", "running", e.ts)
                for dep in e.blocked_dependents:
                    self._move(dep, "blocked", "waiting", e.ts)
            case TaskBlocked():
                self._move(tid, "blocked", "waiting", e.ts)
            case TaskSkipped(status="done"):
                self._move(tid, "done", "waiting", e.ts)
            case TaskSkipped():
                self._finish(tid, None)
                self._drop(tid)

    def _drop(self, tid: str) -> None:
        """A unit a person took out of the run: it leaves the counts and the total."""
        t = self._tasks.pop(tid, None)
        if t is not None:
            self._known[t.state] -= 1
            bucket = t.state
        else:  # one of the anonymous pools of RUN_STARTED
            bucket = "waiting" if self._counts["waiting"] > self._known["waiting"] else "ready"
        if self._counts[bucket] > 0:
            self._counts[bucket] -= 1
            self._total = max(0, self._total - 1)

    def _finish(self, tid: str, final: float | None) -> None:
        """A unit's row goes; what it cost (every attempt) stays in the run's sum."""
        cost = self._rows.finished(tid, final)
        if cost is not None:
            self._task_costs[tid] = cost

    def _interrupted(self, tid: str, ts: float) -> None:
        """A stop cancelled the unit: it is not running any more and will run again in a later run."""
        self._finish(tid, None)
        t = self._tasks.get(tid)
        if t is not None and t.state == "running":
            self._move(tid, "ready", "running", ts)

    def _fold_usage(self, e: Usage) -> None:
        now: dict[str, float | None] = {"tokens_in": e.tokens_in, "tokens_out": e.tokens_out}
        now |= {"cache_read": e.cache_read, "cache_write": e.cache_write, "cost_usd": e.cost_usd}
        for key, v in now.items():
            if v is not None:
                self._usage[key] = self._usage.get(key, 0) + v if e.delta else v
        if e.ratelimit_headroom is not None:
            self._headroom = max(0.0, min(1.0, e.ratelimit_headroom))
        if e.usage_window_pct is not None:
            self._window = e.usage_window_pct
        if e.budget_usd:
            self._budget = e.budget_usd

    # -- reading -------------------------------------------------------------------------------
    def _eta(self, now: float) -> tuple[float | None, int]:
        if self._critical is not None:
            remaining = [t for t in self._critical if self._tasks.get(t, _Task("waiting")).state != "done"]
            cp_left = len(remaining)
        else:
            remaining, cp_left = [], max(0, self._critical_len - self._counts["done"])
        if not self._durations:
            return None, cp_left
        avg = sum(self._durations) / len(self._durations)
        spent = 0.0
        if remaining:  # time already spent on the running head of the chain
            head = self._tasks.get(remaining[0])
            if head is not None and head.state == "running":
                spent = min(avg, max(0.0, now - head.started_at))
        chain = max(0.0, cp_left * avg - spent)
        todo = self._counts["ready"] + self._counts["running"] + self._counts["waiting"]
        in_flight = sum(
            min(avg, max(0.0, now - t.started_at)) for t in self._tasks.values() if t.state == "running"
        )
        breadth = max(0.0, todo * avg - in_flight) / max(1, self._max_workers or len(self._rows.rows))
        if todo == 0:
            return 0.0, cp_left
        return max(chain, breadth), cp_left

    def snapshot(self, now: float | None = None) -> RunSnapshot:
        with self._lock:
            t = self._clock() if now is None else now
            u = self._usage
            cost = u["cost_usd"] if "cost_usd" in u else sum(self._task_costs.values())
            if "cost_usd" not in u:
                cost += self._rows.cost()
            eta, cp_left = self._eta(t)
            if self._finished_at is not None:
                eta = None
            c = self._counts
            return RunSnapshot(
                run_id=self._run_id,
                started_at=self._started_at,
                now=t,
                tasks=TaskCounts(total=max(self._total, sum(c.values())), **c),
                workers=tuple(sorted(self._rows.rows.values(), key=lambda w: id_key(w.task_id))),
                usage=UsagePanel(
                    tokens_in=int(u.get("tokens_in", 0)),
                    tokens_out=int(u.get("tokens_out", 0)),
                    cache_read=int(u.get("cache_read", 0)),
                    cache_write=int(u.get("cache_write", 0)),
                    cost_usd=float(cost),
                    budget_usd=self._budget,
                    ratelimit_headroom=self._headroom,
                    usage_window_pct=self._window,
                ),
                retries=self._retries,
                recent_events=tuple(self._recent),
                eta_seconds=eta,
                critical_path_remaining=cp_left,
                status=self._status,
                max_workers=self._max_workers,
                finished_at=self._finished_at,
                stop_deadline=self._stop_deadline if self._status == "stopping" else None,
                checks=self._check_counts(),
            )

    def _check_counts(self) -> CheckCounts:
        st = list(self._checked.values())
        return CheckCounts(st.count("passed"), st.count("failed"), st.count("none") + st.count("skipped"))
