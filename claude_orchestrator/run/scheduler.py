"""The ready-queue engine: the single owner of run state.

Only the thread that calls `Scheduler.run()` reads or writes run state (`RunState`). Workers run behind an
`Executor` (run/executor.py), which delivers their progress and results back onto the scheduler's queue;
the integration pipeline (run/pipeline.py: `hooks.prepare` for many units at once, then `hooks.integrate`
one unit at a time) answers through the same queue.
Backoff, timeouts, the admission gate and the stop grace are timers on a heap, so nothing sleeps in the
dispatcher.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from ..errors import GitInterruptedError, OrchestratorError
from ..events import EventBus, Log, RunFinished, RunWarning, TaskRetry, TaskStarted
from ..taskmaster.ids import id_key
from ..workers.base import WorkResult
from .edits import apply_edits
from .executor import Executor, Finished, Job, Progress
from .pipeline import Decided, IntegrationPipeline
from .retry import AttemptRetries
from .scheduler_config import SchedulerConfig, SchedulerHooks
from .slots import Attempt, WorkerSlots
from .state import BACKOFF, INTEGRATING, PENDING, READY, RUNNING, Decision, RunOutcome, RunState
from .units import FileLocks, SchedUnit, UnitGraph, build_graph

__all__ = ["Decision", "RunOutcome", "SchedUnit", "Scheduler", "SchedulerConfig", "SchedulerHooks"]


_WAKE = "wake"


class Scheduler:
    """Runs a graph of units on an executor, most urgent first, as soon as their dependencies are done.

    `units`: the units, or a `UnitGraph` already built (with the ids done before the run). Raises
    DependencyError on a cycle or a duplicate id. Worker-attempt retries follow `config`; a unit that
    integration sends back is retried exactly as `hooks.integrate` decides."""

    def __init__(
        self,
        units: Iterable[SchedUnit] | UnitGraph,
        executor: Executor,
        *,
        bus: EventBus,
        config: SchedulerConfig | None = None,
        hooks: SchedulerHooks | None = None,
    ) -> None:
        self.graph: UnitGraph = units if isinstance(units, UnitGraph) else build_graph(units)
        self.executor = executor
        self.bus = bus
        self.cfg = config or SchedulerConfig()
        self.hooks = hooks or SchedulerHooks()
        self.run_id = self.cfg.run_id
        self.state = RunState(self.graph, bus.publish, run_id=self.run_id, on_failed=self.hooks.failed)
        self._retries = AttemptRetries(self.cfg.max_retries, self.cfg.retry_backoff_s)

        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stop_requests: list[float | None] = []  # appended by request_stop (any thread)
        self._stops_seen = 0
        self._started = self._stopping = self._gate_timer = False
        self._kill_deadline: float | None = None
        self._timers: list[tuple[float, int, str, Any]] = []
        self._seq = itertools.count(1)
        self._running: dict[int, Attempt] = {}
        self._zombies: dict[int, Attempt] = {}  # cancelled, not back yet; their result is ignored
        self._integrating: dict[int, tuple[Attempt, WorkResult]] = {}
        self._slots = WorkerSlots(self.cfg.max_workers)
        self._locks = FileLocks()
        self._feedback: dict[str, str] = {}
        self._gate_reason: str | None = None
        self._abort: BaseException | None = None
        parallel = self.cfg.integrate_parallel or max(2, self.cfg.max_workers)
        self._pipeline = IntegrationPipeline(self.hooks, parallel, self._inbox.put, self.run_id)

    # -- public -----------------------------------------------------------------------------------------

    def request_stop(self, grace_s: float | None = None) -> None:
        """Stop dispatching; running units get `grace_s` (default: the config's) to finish, then are
        cancelled. A second call can shorten the grace. Safe from any thread and from a signal handler."""
        self._stop_requests.append(grace_s)
        self._inbox.put(_WAKE)

    def run(self) -> RunOutcome:
        if self._started:
            raise OrchestratorError("a Scheduler runs once")
        self._started = True
        t0 = time.monotonic()
        self.bus.publish(self.state.started_event(self.cfg.max_workers))
        try:
            self.executor.open(self._inbox.put, self.cfg.max_workers)
            self.state.start()
            self._loop()
        except BaseException as e:  # a bug, or Ctrl-C with no handler: cancel everything, then re-raise
            self._abort = e
        finally:
            self._shutdown()
        if self._abort is not None:
            err = f"{type(self._abort).__name__}: {self._abort}"
            took = time.monotonic() - t0
            self.bus.publish(RunFinished(run_id=self.run_id, status="error", error=err, duration_s=took))
            raise self._abort
        return self.state.outcome(time.monotonic() - t0, self._stopping)

    # -- the loop ---------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            while len(self._stop_requests) > self._stops_seen:
                self._begin_stop(self._stop_requests[self._stops_seen])
                self._stops_seen += 1
            self._dispatch()
            if self._abort is not None or self._finished():
                return
            wait = min(1.0, self._timers[0][0] - time.monotonic()) if self._timers else 1.0
            try:
                msg: Any = self._inbox.get(timeout=max(0.0, wait))
            except queue.Empty:
                msg = None
            while msg is not None:
                self._handle(msg)
                if self._abort is not None:
                    return
                try:
                    msg = self._inbox.get_nowait()
                except queue.Empty:
                    msg = None
            now = time.monotonic()
            while self._timers and self._timers[0][0] <= now:
                _, _, kind, arg = heapq.heappop(self._timers)
                self._on_timer(kind, arg)

    def _handle(self, msg: Any) -> None:
        if isinstance(msg, Finished):
            self._on_result(msg.job.token, msg.result)
        elif isinstance(msg, Progress):
            att = self._running.get(msg.job.token)
            if att is not None and not att.stop_cancelled:  # a cancelled attempt's progress is noise
                p = replace(msg.progress, run_id=self.run_id, task_id=att.uid, attempt=att.no)
                self.bus.publish(p)
        elif isinstance(msg, Decided):
            self._on_decision(msg.token, msg.fut)

    def _finished(self) -> bool:
        if self._running or self._integrating:
            return False
        if self._stopping:
            return True
        if self.state.ready or self.state.backoff:
            return False
        self.state.block_unreachable()
        return True

    def _add_timer(self, delay: float, kind: str, arg: Any) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), kind, arg))

    def _on_timer(self, kind: str, arg: Any) -> None:
        st = self.state
        if kind == "retry" and st.status.get(arg) == BACKOFF:
            st.backoff.discard(arg)
            st.status[arg] = PENDING
            if not self._stopping:
                st.make_ready(arg)
        elif kind == "timeout" and arg in self._running:
            att = self._running.pop(arg)
            self.executor.cancel(att.token)
            self._zombies[att.token] = att
            self._release(att)
            reason = f"timed out after {self.cfg.timeout_s:g}s"
            st.results[att.uid] = WorkResult.failure(reason)
            self._attempt_failed(att.uid, reason)
        elif kind == "gate":
            self._gate_timer = False
        elif kind == "stop" and self._stopping:
            self._cancel_running()

    # -- dispatch ---------------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        if self._stopping or self._gate_timer:
            return
        st, held = self.state, []
        edits = self.hooks.edits() if self.hooks.edits is not None else None
        if edits is not None:  # a person changed tasks.json: honour it before deciding anything
            gone = apply_edits(st, edits)
            for att in (a for a in self._running.values() if a.uid in gone and not a.withdrawn):
                att.withdrawn = gone[att.uid]
                self.executor.cancel(att.token)
        while st.ready and self._slots.free:
            key = heapq.heappop(st.ready)
            uid = key[-1]
            if st.status[uid] != READY:
                continue  # blocked after it became ready
            if self.cfg.exclusive_files and self._locks.conflicts(self.graph.files[uid]):
                held.append(key)
                continue
            if self._slots.need(self.graph.units[uid].unit) > self._slots.free:
                held.append(key)
                break  # a best of N waits for its N slots, ahead of less urgent units
            if self.hooks.hold_reason is not None and not self._gate_ok():
                held.append(key)
                break
            self._start(uid)
        for key in held:
            heapq.heappush(st.ready, key)
        if self.hooks.upcoming is not None and st.ready:
            soon = heapq.nsmallest(self.cfg.max_workers, st.ready)
            self.hooks.upcoming([self.graph.units[k[-1]].unit for k in soon if st.status[k[-1]] == READY])

    def _gate_ok(self) -> bool:
        assert self.hooks.hold_reason is not None
        try:
            reason = self.hooks.hold_reason()
        except Exception as e:  # a broken gate is a bug: stop the run loudly rather than overspend
            self._abort = e
            return False
        if reason:
            if reason != self._gate_reason:
                self._warn(f"dispatch held: {reason}", hold=reason)
            self._gate_reason = reason
            self._gate_timer = True
            self._add_timer(self.cfg.gate_poll_s, "gate", None)
            return False
        if self._gate_reason is not None:
            self.bus.publish(Log(run_id=self.run_id, message="dispatch resumed"))
            self._gate_reason = None
        return True

    def _start(self, uid: str) -> None:
        st, su = self.state, self.graph.units[uid]
        no = st.attempts[uid] = st.attempts.get(uid, 0) + 1
        wu = replace(
            su.unit,
            attempt=no,
            best_of=self._slots.need(su.unit),
            feedback=self._feedback.get(uid, su.unit.feedback),
            dependency_results={**su.unit.dependency_results, **st.dependency_results(uid)},
        )
        job = Job(next(self._seq), wu, self.run_id, self.cfg.timeout_s)
        try:
            self.executor.submit(job)
        except Exception as e:
            st.fail(uid, f"no worker for backend {wu.backend!r}: {e}")
            return
        att = Attempt(uid, no, job.token, self._slots.take(wu.best_of), wu)
        self._running[att.token] = att
        st.status[uid] = RUNNING
        self._locks.acquire(self.graph.files[uid])
        self.bus.publish(
            TaskStarted(
                run_id=self.run_id,
                task_id=uid,
                title=wu.title,
                backend=wu.backend,
                worker_id=f"w{att.slot}",
                attempt=no,
            )
        )
        if self.hooks.started is not None:
            self.hooks.started(wu)
        if self.cfg.timeout_s is not None:
            self._add_timer(self.cfg.timeout_s + self.cfg.timeout_margin_s, "timeout", att.token)

    # -- results ----------------------------------------------------------------------------------------

    def _release(self, att: Attempt) -> None:
        self._slots.give(att.slots)
        self._locks.release(self.graph.files[att.uid])

    def _on_result(self, token: int, res: WorkResult) -> None:
        if self._zombies.pop(token, None) is not None:
            return  # already counted as timed out or interrupted
        att = self._running.pop(token)
        st, uid = self.state, att.uid
        st.results[uid] = res
        if res.ok and self._pipeline.active and not att.withdrawn:
            self._slots.give(att.slots)  # its files stay locked until the decision
            st.status[uid] = INTEGRATING
            self._integrating[token] = (att, res)
            self._pipeline.submit(att.unit, res, token)
            return
        self._release(att)
        if att.withdrawn:
            st.withdraw(uid, att.withdrawn)
        elif res.ok:
            st.complete(uid, res)
        elif att.stop_cancelled:
            st.interrupt(uid, res.error or "cancelled by stop")
        else:
            self._attempt_failed(uid, res.error or "failed without an error message")

    def _on_decision(self, token: int, fut: Future[Decision]) -> None:
        att, res = self._integrating.pop(token)
        self._locks.release(self.graph.files[att.uid])
        st, uid = self.state, att.uid
        try:
            dec = fut.result()
        except OrchestratorError as e:  # during a stop, likely a command the stop killed: redo it later
            stopped = self._stopping or isinstance(e, GitInterruptedError)  # the stop is on its way
            (st.interrupt if stopped else st.fail)(uid, f"integration failed: {e}")
            return
        except BaseException as e:  # a bug in the integrator stops the run, loudly
            self._abort = e
            st.fail(uid, f"integration raised {type(e).__name__}: {e}")
            return
        if dec.new_units:
            st.add_units(list(dec.new_units), uid)
        if dec.kind == "done":
            st.complete(uid, dec.result or res, dec.commit, dec.branch)
        elif dec.kind == "retry":  # integration's retry policy decided; obey it
            fb = dec.feedback or "the reviewer asked for another attempt"
            if self._stopping:
                st.interrupt(uid, f"stop requested before the review retry: {fb}")
            else:
                self._feedback[uid] = fb
                self._retry(uid, att.no + 1, f"review: {fb}", 0.0)
                st.make_ready(uid)
        else:
            st.fail(uid, dec.reason or "rejected by the integrator")

    def _attempt_failed(self, uid: str, reason: str) -> None:
        st = self.state
        delay = self._retries.after_failure(uid)
        if self._stopping:  # the stop may be why it failed (a killed command): an interruption
            st.interrupt(uid, f"stop requested after a failed attempt: {reason}")
        elif delay is None:
            st.fail(uid, reason)
        else:
            self._retry(uid, st.attempts[uid] + 1, reason, delay)
            st.status[uid] = BACKOFF
            st.backoff.add(uid)
            if delay <= 0:
                self._on_timer("retry", uid)
            else:
                self._add_timer(delay, "retry", uid)

    # -- stop -------------------------------------------------------------------------------------------

    def _begin_stop(self, grace_s: float | None) -> None:
        grace = self.cfg.grace_s if grace_s is None else grace_s
        if not self._stopping:
            self._stopping = True
            self.state.hold_all()
        n = len(self._running)
        units = f"{n} running unit{'' if n == 1 else 's'}"
        self._warn(
            f"stop requested: waiting up to {grace:g}s for {units}"
            if grace > 0
            else f"stopping now: cancelling {units}",
            running=sorted((a.uid for a in self._running.values()), key=id_key),
            grace_s=grace,
        )
        self._add_timer(grace, "stop", None)

    def _cancel_running(self) -> None:
        if self._kill_deadline is None:
            for att in self._running.values():
                att.stop_cancelled = True
                self.executor.cancel(att.token)
            self._kill_deadline = time.monotonic() + self.cfg.kill_wait_s
            self._add_timer(self.cfg.kill_wait_s, "stop", None)
        elif time.monotonic() >= self._kill_deadline:  # give up on units that ignore cancel
            for att in list(self._running.values()):
                del self._running[att.token]
                self._zombies[att.token] = att
                self._release(att)
                self.state.interrupt(att.uid, "did not stop after cancel")

    def _shutdown(self) -> None:
        left = {a.token: a for a in (*self._running.values(), *self._zombies.values())}
        stuck = self.executor.close(self.cfg.kill_wait_s)
        self._pipeline.close()  # queued hooks only on abort
        if stuck:
            self._warn(
                "workers still running after cancel (left behind)",
                units=sorted({left[t].uid for t in stuck if t in left}, key=id_key),
            )

    def _warn(self, message: str, **fields: Any) -> None:
        self.bus.publish(RunWarning(run_id=self.run_id, message=message, **fields))

    def _retry(self, uid: str, attempt: int, reason: str, delay_s: float) -> None:
        self.bus.publish(
            TaskRetry(run_id=self.run_id, task_id=uid, attempt=attempt, reason=reason, delay_s=delay_s)
        )
