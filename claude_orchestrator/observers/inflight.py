"""The rows of the live view: one per unit in flight, from its first start until it is done or failed,
through every phase between (working, verifying, reviewing, merging, waiting to retry).

Rows are keyed by unit, not by worker: the scheduler frees a worker's slot as soon as its worker returns and
may hand the slot to the next unit while the first one is still being verified, reviewed and merged. The
worker id is only what the row shows."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..events import TaskProgress, TaskRetry, TaskStarted

WAITING_TO_RETRY = "waiting to retry"
_NOT_A_PHASE = ("", "done")  # a worker's last report: its unit goes on to verification, not to "done"


@dataclass(frozen=True)
class WorkerRow:
    """A unit in flight. `cost_usd` is the unit's spend so far, every attempt included."""

    worker_id: str
    task_id: str
    title: str = ""
    backend: str = ""
    phase: str = "starting"
    turns: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    started_at: float = 0.0
    attempt: int = 1
    retry_at: float | None = None  # while waiting to retry: when the next attempt may start
    node: str | None = None  # the cluster node the attempt runs on (Ray executor)

    def phase_text(self, now: float, *, short: bool = False) -> str:
        """The phase as shown: "waiting to retry in 5s" counts down."""
        if self.phase != WAITING_TO_RETRY:
            return self.phase or "-"
        left = math.ceil(self.retry_at - now) if self.retry_at is not None else 0
        if left <= 0:
            return "retry next" if short else WAITING_TO_RETRY
        return f"retry in {left}s" if short else f"{WAITING_TO_RETRY} in {left}s"


class InFlight:
    """The rows, folded from unit events (the snapshot builder calls it under its lock)."""

    def __init__(self) -> None:
        self.rows: dict[str, WorkerRow] = {}
        self._spent: dict[str, float] = {}  # cost of a unit's attempts before the current one

    def clear(self) -> None:
        self.rows.clear()
        self._spent.clear()

    def started(self, e: TaskStarted, tid: str) -> None:
        old = self.rows.get(tid)
        self.rows[tid] = WorkerRow(
            worker_id=e.worker_id or tid,
            task_id=tid,
            title=e.title or (old.title if old else ""),
            backend=e.backend or (old.backend if old else ""),
            cost_usd=self._spent.get(tid, 0.0),
            started_at=old.started_at if old else e.ts,
            attempt=e.attempt or 1,
        )

    def progress(self, e: TaskProgress, tid: str) -> None:
        row = self.rows.get(tid)
        if row is None:
            return
        attempt_cost = None if e.cost_usd is None else self._spent.get(tid, 0.0) + e.cost_usd
        self.rows[tid] = replace(
            row,
            phase=row.phase if e.phase in _NOT_A_PHASE else e.phase,
            turns=row.turns if e.turns is None else e.turns,
            tokens_in=row.tokens_in if e.tokens_in is None else e.tokens_in,
            tokens_out=row.tokens_out if e.tokens_out is None else e.tokens_out,
            cost_usd=row.cost_usd if attempt_cost is None else attempt_cost,
            node=e.node or row.node,
        )

    def retry(self, e: TaskRetry, tid: str) -> None:
        """The attempt is over; the unit waits `delay_s`, then for a free worker."""
        row = self.rows.get(tid)
        if row is None:
            return
        self._spent[tid] = row.cost_usd
        self.rows[tid] = replace(row, worker_id="", phase=WAITING_TO_RETRY, retry_at=e.ts + e.delay_s)

    def finished(self, tid: str, final: float | None = None) -> float | None:
        """The unit is done, failed or interrupted: its row goes. Returns what it cost in all (`final`: the
        last attempt's figure, when the event has one), or None when nothing is known."""
        spent = self._spent.pop(tid, 0.0)
        row = self.rows.pop(tid, None)
        if final is not None:
            return spent + final
        return row.cost_usd if row is not None else (spent or None)

    def stop_retries(self) -> dict[str, float]:
        """A stop holds the units waiting to retry: their rows go. Returns what each of them cost."""
        ids = [t for t, r in self.rows.items() if r.phase == WAITING_TO_RETRY]
        return {tid: self.finished(tid) or 0.0 for tid in ids}

    def cost(self) -> float:
        return sum(r.cost_usd for r in self.rows.values())
