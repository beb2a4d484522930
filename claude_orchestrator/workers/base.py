"""The small worker interface every backend implements.

A worker gets a `WorkUnit` (what to do) and a `WorkContext` (where, with which cancel flag and progress
callback) and returns a `WorkResult`. It never raises for a task failure: it returns ``ok=False`` with an
error. Workers never print; progress goes through ``ctx.report`` (a `TaskProgress` with the attempt's totals
so far; the scheduler adds the run, the task and the attempt number) which only emits events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import GitInterruptedError
from ..events import TaskProgress, TaskSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkUnit:
    """One schedulable piece of work: a task ("N") or a subtask ("P.S")."""

    unit_id: str
    task_id: str
    title: str
    description: str = ""
    details: str = ""
    test_strategy: str = ""
    acceptance_criteria: list[str] = field(default_factory=list)
    relevant_files: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    priority: str = "medium"
    backend: str = "auto"
    attempt: int = 1
    feedback: str | None = None  # review issues or a merge conflict from a previous attempt
    dependency_results: dict[str, str] = field(default_factory=dict)  # dep id -> short summary
    metadata: dict[str, Any] = field(default_factory=dict)
    best_of: int = 1  # attempts that run at once in separate worktrees; the best passing one is kept
    candidate: int = 0  # which of those attempts this is (1..best_of); 0 for a unit run once

    @property
    def work_id(self) -> str:
        """The unit's key in the workspace (its worktree and branch): one per attempt of a best of N."""
        return f"{self.unit_id}-c{self.candidate}" if self.candidate else self.unit_id


def _no_report(_: TaskProgress) -> None:
    return None


def _no_journal(_: TaskSession) -> None:
    return None


@dataclass(frozen=True)
class WorkContext:
    workdir: Path
    run_id: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)
    report: Callable[[TaskProgress], None] = _no_report  # phase, turns, tokens_in, tokens_out, cost_usd
    timeout_s: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    transcript_path: Path | str | None = None  # where a backend writes its transcript (JSONL)
    journal: Callable[[TaskSession], None] = _no_journal  # a session to record at once (resume after a crash)
    resume_session: str | None = None  # an interrupted session to continue in this workdir, if still there
    budget_usd: float | None = None  # what the attempt may spend at most (the task's budget left)


@dataclass(frozen=True)
class WorkResult:
    ok: bool
    summary: str = ""
    error: str | None = None
    cost_usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    turns: int = 0
    duration_s: float = 0.0
    session_id: str | None = None
    transcript_path: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failure(cls, error: str, **kw: Any) -> WorkResult:
        return cls(ok=False, error=error, **kw)


@runtime_checkable
class Worker(Protocol):
    name: str

    def run(self, unit: WorkUnit, ctx: WorkContext) -> WorkResult:
        """Do the unit in ctx.workdir; return ok=False with an error instead of raising."""
        ...


def run_worker(
    worker: Worker,
    unit: WorkUnit,
    make_ctx: Callable[[], WorkContext],
    stopped: Callable[[], bool] | None = None,
) -> WorkResult:
    """Run a worker and never raise: an exception (or a wrong return type) becomes a failed result that
    names it. `make_ctx` runs inside the call too, so a failing workdir setup is a failed attempt. When
    `stopped()` is true (the attempt was cancelled: its processes are being killed), an exception is the
    stop's doing and is logged without a traceback; so is a git killed by the terminal's Ctrl-C (the
    stop has not reached `stopped` yet)."""
    t0 = time.monotonic()
    try:
        res = worker.run(unit, make_ctx())
        if not isinstance(res, WorkResult):
            return WorkResult.failure(f"worker {worker.name!r} returned {type(res).__name__}, not WorkResult")
    except Exception as e:
        name = getattr(worker, "name", worker)
        if isinstance(e, GitInterruptedError) or (stopped is not None and stopped()):
            log.info("worker %s stopped on unit %s: %s", name, unit.unit_id, e)
        else:
            log.exception("worker %s raised on unit %s", name, unit.unit_id)
        return WorkResult.failure(f"worker raised {type(e).__name__}: {e}", duration_s=time.monotonic() - t0)
    return res if res.duration_s else replace(res, duration_s=time.monotonic() - t0)
