"""The seam between the scheduler and the workers: the scheduler submits a `Job`, may cancel it, and gets
its progress and its result back as `Progress` / `Finished` deliveries through the callback it passed to
`Executor.open` (the scheduler puts them on its own queue; it stays the only owner of run state).

A job carries everything a worker needs as data (the unit with its attempt number, feedback and dependency
results; the run id; the time limit), so an executor may run it elsewhere: `LocalExecutor` runs it on a
thread of this process; a distributed executor (Ray) would ship the job to a node and deliver back the same
two messages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import OrchestratorError
from ..events import TaskProgress, TaskSession
from ..workers.base import WorkContext, Worker, WorkResult, WorkUnit, run_worker
from .candidates import run_candidates


@dataclass(frozen=True)
class Job:
    """One attempt of one unit, as data."""

    token: int
    """The scheduler's handle of this attempt (unique within a run)."""

    unit: WorkUnit
    """The unit as the worker gets it: attempt number, feedback, dependency results filled in."""

    run_id: str = ""
    """The run it belongs to."""

    timeout_s: float | None = None
    """Seconds the worker may take (it should stop by itself; the scheduler also cancels it later)."""


@dataclass(frozen=True)
class Progress:
    """A worker's progress report (its totals so far), or the session it works in (to journal at once);
    run, task and attempt are the scheduler's to add."""

    job: Job
    progress: TaskProgress | TaskSession


@dataclass(frozen=True)
class Finished:
    """A job's result. Delivered once per submitted job, cancelled or not (unless the executor was
    closed first)."""

    job: Job
    result: WorkResult


Delivery = Progress | Finished
Deliver = Callable[[Delivery], None]


class Executor(Protocol):
    """Runs jobs for one scheduler run: `open`, then `submit`/`cancel` from the scheduler thread, then
    `close`. Deliveries may come from any thread."""

    def open(self, deliver: Deliver, max_workers: int) -> None:
        """Get ready to run up to `max_workers` jobs at once (cancelled jobs that have not returned yet
        may hold further capacity)."""
        ...

    def submit(self, job: Job) -> None:
        """Start the job. Raises when no worker can run it (e.g. an unknown backend); then nothing runs."""
        ...

    def cancel(self, token: int) -> None:
        """Ask the job to stop; its `Finished` still comes (usually a failure). Unknown tokens are ignored."""
        ...

    def close(self, wait_s: float) -> set[int]:
        """Cancel what still runs, wait up to `wait_s` for it, release resources. Returns the tokens of
        jobs that did not return in time (left behind)."""
        ...


class LocalExecutor:
    """Jobs on a thread pool of this process. `worker_for(unit)` picks the worker (called in `submit`);
    `workdir_for(unit)` prepares the unit's working directory (called on the job's thread, so a slow or
    failing preparation is part of the attempt; for a best of N, once per attempt)."""

    def __init__(
        self,
        worker_for: Callable[[WorkUnit], Worker],
        workdir_for: Callable[[WorkUnit], Path] | None = None,
        *,
        env: dict[str, str] | None = None,
    ) -> None:
        self.worker_for = worker_for
        self.workdir_for = workdir_for or (lambda _u: Path.cwd())
        self.env = dict(env or {})
        self._pool: ThreadPoolExecutor | None = None
        self._deliver: Deliver | None = None
        self._jobs: dict[int, tuple[threading.Event, Future[None]]] = {}
        self._lock = threading.Lock()

    def open(self, deliver: Deliver, max_workers: int) -> None:
        if self._pool is not None:
            raise OrchestratorError("a LocalExecutor is opened once")
        self._deliver = deliver
        # twice the slots: a cancelled job that has not returned yet must not starve the others
        self._pool = ThreadPoolExecutor(max(1, max_workers) * 2, thread_name_prefix="worker")

    def submit(self, job: Job) -> None:
        if self._pool is None:
            raise OrchestratorError("LocalExecutor.submit before open")
        worker = self.worker_for(job.unit)
        cancel = threading.Event()
        with self._lock:
            fut = self._pool.submit(self._run, job, worker, cancel)
            self._jobs[job.token] = (cancel, fut)

    def cancel(self, token: int) -> None:
        with self._lock:
            entry = self._jobs.get(token)
        if entry is not None:
            entry[0].set()

    def close(self, wait_s: float) -> set[int]:
        with self._lock:
            left = dict(self._jobs)
        for cancel, _ in left.values():
            cancel.set()
        futs = {fut: token for token, (_, fut) in left.items()}
        _, stuck = wait_futures(list(futs), timeout=wait_s) if futs else (set(), set())
        if self._pool is not None:
            self._pool.shutdown(wait=not stuck, cancel_futures=True)
        return {futs[f] for f in stuck}

    def _run(self, job: Job, worker: Worker, cancel: threading.Event) -> None:
        assert self._deliver is not None
        deliver = self._deliver

        def report(progress: TaskProgress) -> None:
            if not cancel.is_set():  # a cancelled attempt's progress is noise
                deliver(Progress(job, progress))

        def journal(session: TaskSession) -> None:
            deliver(Progress(job, session))

        def make_ctx(unit: WorkUnit = job.unit) -> WorkContext:  # on this thread: a worktree takes time
            workdir = self.workdir_for(unit)
            return WorkContext(
                workdir, job.run_id, cancel, report, job.timeout_s, dict(self.env), journal=journal
            )

        if job.unit.best_of > 1:  # best of N: N attempts at once, each in its own worktree
            res = run_candidates(worker, job.unit, make_ctx)
        else:
            res = run_worker(worker, job.unit, make_ctx, cancel.is_set)  # never raises
        with self._lock:
            self._jobs.pop(job.token, None)
        deliver(Finished(job, res))
