"""A fake worker for tests and benchmarks: sleeps, fails N times, hangs, or runs a command in a process
group — and counts what it did, thread-safely, so tests can check "every unit ran exactly once"."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..events import TaskProgress
from ..process import run_process_group
from ..workers.base import WorkContext, WorkResult, WorkUnit


@dataclass(frozen=True)
class FakeSpec:
    duration: float = 0.0
    fail_times: int = 0  # the first N attempts fail
    hang: bool = False  # wait until cancelled
    command: list[str] | None = None  # run in a process group (killed on cancel)
    raises: bool = False  # raise instead of returning a failure (a buggy backend)
    summary: str | None = None
    cost_usd: float = 0.0


@dataclass
class Interval:
    unit_id: str
    attempt: int
    start: float
    end: float
    ok: bool


@dataclass
class FakeWorker:
    """Behaviour per unit comes from `specs[unit_id]`, else `unit.metadata["fake"]`, else `default`."""

    name: str = "fake"
    default: FakeSpec = field(default_factory=FakeSpec)
    specs: dict[str, FakeSpec] = field(default_factory=dict)
    record: bool = True  # keep intervals (turn off for very large benchmarks)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.intervals: list[Interval] = []
        self.units: list[WorkUnit] = []
        self.pids: list[int] = []
        self.active = 0
        self.max_active = 0
        self.finished = 0

    def spec_for(self, unit: WorkUnit) -> FakeSpec:
        if unit.unit_id in self.specs:
            return self.specs[unit.unit_id]
        meta: Any = unit.metadata.get("fake") if unit.metadata else None
        return FakeSpec(**meta) if isinstance(meta, dict) else self.default

    def run(self, unit: WorkUnit, ctx: WorkContext) -> WorkResult:
        spec = self.spec_for(unit)
        t0 = time.monotonic()
        with self._lock:
            n = self.calls[unit.unit_id] = self.calls.get(unit.unit_id, 0) + 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            if self.record:
                self.units.append(unit)
        ok, err = True, None
        try:
            ctx.report(TaskProgress(phase="working", turns=0, tokens_in=0, tokens_out=0, cost_usd=0.0))
            if spec.command is not None:
                # only ctx.cancel stops it, so tests see the scheduler's own timeout at work
                pr = run_process_group(spec.command, cwd=ctx.workdir, cancel=ctx.cancel)
                with self._lock:
                    self.pids.append(pr.pid)
                ok = pr.ok
                err = None if ok else f"command exited {pr.returncode} (timed_out={pr.timed_out})"
            elif spec.hang:
                ctx.cancel.wait()
            elif spec.duration > 0:
                ctx.cancel.wait(spec.duration)
            if ctx.cancel.is_set():
                ok, err = False, "cancelled"
            elif n <= spec.fail_times:
                if spec.raises:
                    raise RuntimeError(f"fake failure {n} of {unit.unit_id}")
                ok, err = False, f"fake failure {n} of {spec.fail_times}"
        finally:
            t1 = time.monotonic()
            with self._lock:
                self.active -= 1
                self.finished += 1
                if self.record:
                    self.intervals.append(Interval(unit.unit_id, unit.attempt, t0, t1, ok))
        return WorkResult(
            ok=ok,
            summary=spec.summary or f"did {unit.unit_id}",
            error=err,
            cost_usd=spec.cost_usd,
            turns=1,
            duration_s=t1 - t0,
        )
