"""The ready-queue engine: the single owner of run state.

Only the thread that calls `Scheduler.run()` reads or writes run state. Worker threads (a
ThreadPoolExecutor) and the one integration thread (which calls `on_unit_finished`, serially) hand their
results back through a queue; the progress callback only emits events. Backoff, timeouts, the admission
gate and the stop grace are timers on a heap, so nothing sleeps in the dispatcher.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from . import events as ev
from .errors import DependencyError, OrchestratorError
from .events import EventBus
from .units import FileLocks, SchedUnit, UnitGraph, build_graph, id_key
from .workers.base import WorkContext, Worker, WorkResult, WorkUnit

log = logging.getLogger(__name__)

__all__ = ["Decision", "RunOutcome", "SchedUnit", "Scheduler"]


@dataclass(frozen=True)
class Decision:
    """The integrator's answer for a unit whose worker succeeded (review/merge done)."""

    kind: Literal["done", "retry", "fail"] = "done"
    feedback: str | None = None  # for "retry": review issues or the merge conflict
    reason: str | None = None  # for "fail"
    new_units: list[SchedUnit] = field(default_factory=list)  # follow-ups added to the run
    commit: str | None = None
    branch: str | None = None


@dataclass
class RunOutcome:
    status: str  # "completed" | "failed" | "stopped"
    done: set[str]
    failed: set[str]
    blocked: set[str]
    interrupted: set[str]  # were running when the stop grace ran out (or hung past their timeout)
    pending: set[str]  # never finished: stop requested before they ran
    done_before: set[str]
    reasons: dict[str, str]  # failed/blocked/interrupted unit -> why
    blocked_by: dict[str, list[str]]
    results: dict[str, WorkResult]  # last attempt's result per unit
    attempts: dict[str, int]
    groups: set[str]  # ids above that are parents (completed through their subtasks)
    makespan_s: float


@dataclass
class _Attempt:
    uid: str
    no: int
    token: int
    slot: int
    cancel: threading.Event
    started: float
    stop_cancelled: bool = False
    fut: Future[WorkResult] | None = None


_PENDING, _READY, _RUNNING, _INTEGRATING, _BACKOFF = "pending", "ready", "running", "integrating", "backoff"
_DONE, _FAILED, _BLOCKED, _INTERRUPTED = "done", "failed", "blocked", "interrupted"
_FINAL = {_DONE, _FAILED, _BLOCKED, _INTERRUPTED}


def _call_worker(
    worker: Worker,
    unit: WorkUnit,
    workdir_for: Callable[[WorkUnit], Path],
    make_ctx: Callable[[Path], WorkContext],
) -> WorkResult:
    """Runs in a worker thread. Turns an exception into a failed result (with the type named)."""
    t0 = time.monotonic()
    try:
        res = worker.run(unit, make_ctx(workdir_for(unit)))
        if not isinstance(res, WorkResult):
            return WorkResult.failure(f"worker {worker.name!r} returned {type(res).__name__}, not WorkResult")
    except Exception as e:
        log.exception("worker %s raised on unit %s", getattr(worker, "name", worker), unit.unit_id)
        return WorkResult.failure(f"worker raised {type(e).__name__}: {e}", duration_s=time.monotonic() - t0)
    return res if res.duration_s else replace(res, duration_s=time.monotonic() - t0)


class Scheduler:
    def __init__(
        self,
        units: Iterable[SchedUnit],
        worker_for: Callable[[WorkUnit], Worker],
        *,
        bus: EventBus,
        run_id: str = "",
        max_workers: int = 3,
        max_retries: int = 3,
        retry_backoff_s: float = 2.0,
        timeout_s: float | None = None,
        timeout_margin_s: float = 5.0,
        done_before: Iterable[str] = (),
        exclusive_files: bool = False,
        on_unit_finished: Callable[[SchedUnit, WorkResult], Decision] | None = None,
        max_review_retries: int = 1,
        can_dispatch: Callable[[], str | None] | None = None,
        gate_poll_s: float = 0.5,
        grace_s: float = 30.0,
        kill_wait_s: float = 10.0,
        workdir_for: Callable[[WorkUnit], Path] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.graph: UnitGraph = build_graph(units, done_before)  # DependencyError on a cycle or dup
        self.worker_for = worker_for
        self.bus, self.run_id = bus, run_id
        self.max_workers = max(1, int(max_workers))
        self.max_retries, self.retry_backoff_s = max_retries, retry_backoff_s
        self.timeout_s, self.timeout_margin_s = timeout_s, timeout_margin_s
        self.exclusive_files = exclusive_files
        self.on_unit_finished, self.max_review_retries = on_unit_finished, max_review_retries
        self.can_dispatch, self.gate_poll_s = can_dispatch, gate_poll_s
        self.grace_s, self.kill_wait_s = grace_s, kill_wait_s
        self.workdir_for = workdir_for or (lambda _u: Path.cwd())
        self.env = dict(env or {})

        self._inbox: queue.SimpleQueue[tuple[str, int, Any]] = queue.SimpleQueue()
        self._stop_req = threading.Event()
        self._stop_grace: float | None = None
        self._started = False
        g = self.graph
        self._status: dict[str, str] = {u: _PENDING for u in g.units}
        self._left: dict[str, int] = {u: len(d) for u, d in g.deps.items()}
        self._group_left = {k: len(m) for k, m in g.group_members.items()}
        self._group_state: dict[str, str] = {}
        self._ready: list[tuple[Any, ...]] = []
        self._timers: list[tuple[float, int, str, Any]] = []
        self._backoff: set[str] = set()
        self._seq = itertools.count()
        self._running: dict[int, _Attempt] = {}
        self._zombies: dict[int, _Attempt] = {}
        self._integrating: dict[int, tuple[_Attempt, WorkResult]] = {}
        self._free_slots = list(range(self.max_workers, 0, -1))
        self._locks = FileLocks()
        self._attempts: dict[str, int] = {}
        self._failures: dict[str, int] = {}
        self._review_retries: dict[str, int] = {}
        self._feedback: dict[str, str] = {}
        self._results: dict[str, WorkResult] = {}
        self._reasons: dict[str, str] = {}
        self._blocked_by: dict[str, list[str]] = {}
        self._stopping = False
        self._stop_deadline: float | None = None
        self._kill_deadline: float | None = None
        self._gate_reason: str | None = None
        self._gate_timer = False
        self._abort: BaseException | None = None
        self._deferred: list[tuple[str, str, dict[str, Any]]] = []

    # -- public -----------------------------------------------------------------------------------------

    def request_stop(self, grace_s: float | None = None) -> None:
        """Stop dispatching; running units get `grace_s` to finish, then are cancelled. Thread- and
        signal-handler-safe."""
        self._stop_grace = grace_s
        self._stop_req.set()
        self._inbox.put(("wake", 0, None))

    def run(self) -> RunOutcome:
        if self._started:
            raise OrchestratorError("a Scheduler runs once")
        self._started = True
        t0 = time.monotonic()
        self._pool = ThreadPoolExecutor(self.max_workers * 2, thread_name_prefix=f"worker-{self.run_id}")
        self._integrator: ThreadPoolExecutor | None = None
        g = self.graph
        dead = g.unreachable()
        self._emit(
            ev.RUN_STARTED,
            None,
            total=len(g.units),
            ready=sum(1 for u in g.units if not g.deps[u] and u not in dead),
            done_before=len(g.done_before),
            critical_path=g.critical_path([u for u in g.units if u not in dead]),
            workers=self.max_workers,
        )
        self._block_missing(list(g.missing))
        for u in g.topo:
            if self._status[u] == _PENDING and self._left[u] == 0:
                self._make_ready(u)
        try:
            self._loop()
        finally:
            self._shutdown()
        if self._abort is not None:
            raise self._abort
        return self._outcome(time.monotonic() - t0)

    # -- the loop ---------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            if self._stop_req.is_set() and not self._stopping:
                self._begin_stop()
            self._dispatch()
            if self._finished():
                return
            now = time.monotonic()
            wait = (self._timers[0][0] - now) if self._timers else None
            try:
                msg = self._inbox.get(timeout=None if wait is None else max(0.0, wait))
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

    def _finished(self) -> bool:
        if self._running or self._integrating:
            return False
        if self._stopping:
            return True
        if self._ready or self._backoff:
            return False
        stuck = [u for u, s in self._status.items() if s == _PENDING]
        for u in stuck:  # cannot happen on an acyclic graph; never leave a unit unaccounted for
            self._set_blocked(u, "unreachable: its dependencies never finished", [])
        return True

    def _handle(self, msg: tuple[str, int, Any]) -> None:
        kind, token, payload = msg
        if kind == "result":
            self._on_result(token, payload)
        elif kind == "decision":
            self._on_decision(token, payload)

    def _post(self, kind: str, token: int) -> Callable[[Future[Any]], None]:
        return lambda f: self._inbox.put((kind, token, f))

    def _add_timer(self, delay: float, kind: str, arg: Any) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), kind, arg))

    def _on_timer(self, kind: str, arg: Any) -> None:
        if kind == "retry":
            if self._status.get(arg) == _BACKOFF:
                self._backoff.discard(arg)
                self._status[arg] = _PENDING
                if not self._stopping:
                    self._make_ready(arg)
        elif kind == "timeout":
            att = self._running.get(arg)
            if att is not None:
                self._time_out(att)
        elif kind == "gate":
            self._gate_timer = False
        elif kind == "stop" and self._stopping:
            self._cancel_running()

    # -- dispatch ---------------------------------------------------------------------------------------

    def _make_ready(self, uid: str) -> None:
        self._status[uid] = _READY
        heapq.heappush(self._ready, self.graph.ready_key(uid))

    def _dispatch(self) -> None:
        if self._stopping or self._gate_timer:
            return
        held = []
        while self._ready and self._free_slots:
            key = heapq.heappop(self._ready)
            uid = key[-1]
            if self._status[uid] != _READY:
                continue  # blocked after it became ready
            if self.exclusive_files and self._locks.conflicts(self.graph.files[uid]):
                held.append(key)
                continue
            if self.can_dispatch is not None and not self._gate_ok():
                held.append(key)
                break
            self._start(uid)
        for key in held:
            heapq.heappush(self._ready, key)

    def _gate_ok(self) -> bool:
        assert self.can_dispatch is not None
        try:
            reason = self.can_dispatch()
        except Exception as e:  # a broken gate holds the run rather than overspending
            reason = f"admission check failed: {type(e).__name__}: {e}"
        if reason:
            if reason != self._gate_reason:
                self._emit(ev.WARNING, None, message=f"dispatch held: {reason}", hold=reason)
            self._gate_reason = reason
            self._gate_timer = True
            self._add_timer(self.gate_poll_s, "gate", None)
            return False
        if self._gate_reason is not None:
            self._emit(ev.LOG, None, message="dispatch resumed", hold=None)
            self._gate_reason = None
        return True

    def _start(self, uid: str) -> None:
        su = self.graph.units[uid]
        no = self._attempts.get(uid, 0) + 1
        self._attempts[uid] = no
        dep_results = {d: r.summary for d in self.graph.deps[uid] if (r := self._results.get(d)) is not None}
        wu = replace(
            su.unit,
            attempt=no,
            feedback=self._feedback.get(uid, su.unit.feedback),
            dependency_results={**su.unit.dependency_results, **dep_results},
        )
        try:
            worker = self.worker_for(wu)
        except Exception as e:
            self._status[uid] = _RUNNING
            self._fail(uid, f"no worker for backend {wu.backend!r}: {e}")
            return
        slot = self._free_slots.pop()
        token = next(self._seq)
        att = _Attempt(uid, no, token, slot, threading.Event(), time.monotonic())
        self._running[token] = att
        self._status[uid] = _RUNNING
        self._locks.acquire(self.graph.files[uid])
        self._emit(
            ev.TASK_STARTED, uid, title=wu.title, backend=worker.name, worker_id=f"w{slot}", attempt=no
        )

        def report(data: dict[str, Any], _uid: str = uid, _no: int = no) -> None:
            self.bus.publish(ev.Event(ev.TASK_PROGRESS, self.run_id, _uid, {**data, "attempt": _no}))

        def make_ctx(workdir: Path) -> WorkContext:
            return WorkContext(workdir, self.run_id, att.cancel, report, self.timeout_s, dict(self.env))

        fut = att.fut = self._pool.submit(_call_worker, worker, wu, self.workdir_for, make_ctx)
        fut.add_done_callback(self._post("result", token))
        if self.timeout_s is not None:
            self._add_timer(self.timeout_s + self.timeout_margin_s, "timeout", token)

    # -- results ----------------------------------------------------------------------------------------

    def _release(self, att: _Attempt) -> None:
        self._free_slots.append(att.slot)
        self._locks.release(self.graph.files[att.uid])

    def _on_result(self, token: int, fut: Future[WorkResult]) -> None:
        res = fut.result()  # _call_worker never raises
        if self._zombies.pop(token, None) is not None:
            return  # already counted as timed out or interrupted
        att = self._running.pop(token, None)
        if att is None:
            return
        uid = att.uid
        self._results[uid] = res
        if res.ok and self.on_unit_finished is not None:
            self._free_slots.append(att.slot)  # keeps its files until the decision
            self._status[uid] = _INTEGRATING
            self._integrating[token] = (att, res)
            if self._integrator is None:
                self._integrator = ThreadPoolExecutor(1, thread_name_prefix=f"integrate-{self.run_id}")
            hook = self.on_unit_finished
            su = self.graph.units[uid]
            f2 = self._integrator.submit(hook, su, res)
            f2.add_done_callback(self._post("decision", token))
            return
        self._release(att)
        if res.ok:
            self._complete(uid, res, Decision())
        elif att.stop_cancelled:
            self._interrupt(uid, res.error or "cancelled by stop")
        else:
            self._attempt_failed(uid, res.error or "failed without an error message")

    def _on_decision(self, token: int, fut: Future[Decision]) -> None:
        att, res = self._integrating.pop(token)
        self._locks.release(self.graph.files[att.uid])
        uid = att.uid
        try:
            dec = fut.result()
        except OrchestratorError as e:
            self._fail(uid, f"integration failed: {e}")
            return
        except BaseException as e:  # a bug in the integrator stops the run, loudly
            self._abort = e
            self._fail(uid, f"integration raised {type(e).__name__}: {e}")
            return
        if dec.new_units:
            self._add_units(dec.new_units, uid)
        if dec.kind == "done":
            self._complete(uid, res, dec)
        elif dec.kind == "retry":
            used = self._review_retries.get(uid, 0)
            fb = dec.feedback or "the reviewer asked for another attempt"
            if self._stopping:
                self._interrupt(uid, f"stop requested before the review retry: {fb}")
            elif used >= self.max_review_retries:
                self._fail(uid, f"review/merge retry limit reached: {fb}")
            else:
                self._review_retries[uid] = used + 1
                self._feedback[uid] = fb
                self._emit(ev.TASK_RETRY, uid, attempt=att.no + 1, reason=f"review: {fb}", delay_s=0.0)
                self._make_ready(uid)
        else:
            self._fail(uid, dec.reason or "rejected by the integrator")

    def _add_units(self, batch: list[SchedUnit], by: str) -> None:
        try:
            new = self.graph.add(batch)
        except DependencyError as e:
            self._emit(ev.WARNING, by, message=f"follow-up units rejected: {e}", units=[s.id for s in batch])
            return
        g = self.graph
        for gid, members in g.group_members.items():
            self._group_left[gid] = sum(1 for m in members if self._status.get(m, _PENDING) != _DONE)
        for u in new:
            self._status[u] = _PENDING
            self._left[u] = sum(1 for d in g.deps[u] if self._status.get(d) != _DONE)
        self._ready = [g.ready_key(k[-1]) for k in self._ready]  # chain lengths changed
        heapq.heapify(self._ready)
        self._emit(ev.LOG, by, message=f"added {len(new)} follow-up units", units=new)
        for u in new:
            bad = [d for d in g.deps[u] if self._status.get(d) in (_FAILED, _BLOCKED, _INTERRUPTED)]
            if u in g.missing:
                self._block_missing([u])
            elif bad:
                self._set_blocked(u, f"dependency {bad[0]} did not complete", bad)
                self._block_dependents(u, bad[0])
            elif self._left[u] == 0:
                self._make_ready(u)

    def _time_out(self, att: _Attempt) -> None:
        del self._running[att.token]
        att.cancel.set()
        self._zombies[att.token] = att
        self._release(att)
        self._results[att.uid] = WorkResult.failure(f"timed out after {self.timeout_s:g}s")
        self._attempt_failed(att.uid, f"timed out after {self.timeout_s:g}s")

    def _attempt_failed(self, uid: str, reason: str) -> None:
        n = self._failures.get(uid, 0) + 1
        self._failures[uid] = n
        if n > self.max_retries:
            self._fail(uid, reason)
            return
        if self._stopping:
            self._interrupt(uid, f"stop requested after a failed attempt: {reason}")
            return
        delay = self.retry_backoff_s * (2 ** (n - 1))
        self._emit(ev.TASK_RETRY, uid, attempt=self._attempts[uid] + 1, reason=reason, delay_s=delay)
        self._status[uid] = _BACKOFF
        self._backoff.add(uid)
        if delay <= 0:
            self._on_timer("retry", uid)
        else:
            self._add_timer(delay, "retry", uid)

    def _complete(self, uid: str, res: WorkResult, dec: Decision) -> None:
        self._status[uid] = _DONE
        self._emit(
            ev.TASK_COMPLETED,
            uid,
            cost_usd=res.cost_usd,
            duration_s=res.duration_s,
            commit=dec.commit,
            branch=dec.branch,
            turns=res.turns,
        )
        for v in self.graph.dependents.get(uid, ()):
            self._left[v] -= 1
            if self._left[v] == 0 and self._status[v] == _PENDING:
                self._make_ready(v)
        for gid in self.graph.ancestors.get(uid, ()):
            self._group_left[gid] -= 1
            if self._group_left[gid] == 0 and gid not in self._group_state:
                self._group_state[gid] = _DONE
                mem = self.graph.group_members[gid]
                rs = [self._results[m] for m in mem if m in self._results]
                self._emit(
                    ev.TASK_COMPLETED,
                    gid,
                    cost_usd=sum(r.cost_usd for r in rs),
                    duration_s=sum(r.duration_s for r in rs),
                    commit=None,
                    branch=None,
                    turns=sum(r.turns for r in rs),
                    subtasks=sorted(mem, key=id_key),
                )

    # -- failure, blocking, stop ------------------------------------------------------------------------

    def _fail(self, uid: str, reason: str) -> None:
        self._status[uid] = _FAILED
        self._reasons[uid] = reason
        self._mark_groups(uid, _FAILED, f"subtask {uid} failed: {reason}", emit=False)
        blocked = self._block_dependents(uid, uid, emit=False)
        self._emit(
            ev.TASK_FAILED,
            uid,
            reason=reason,
            attempts=self._attempts.get(uid, 0),
            blocked_dependents=blocked,
        )
        for b in blocked:
            self._emit(ev.TASK_BLOCKED, b, reason=self._reasons[b], blocked_by=self._blocked_by[b])
        deferred, self._deferred = self._deferred, []
        for kind, gid, data in deferred:
            self._emit(kind, gid, **data)

    def _block_dependents(self, uid: str, cause: str, emit: bool = True) -> list[str]:
        out, stack = [], [uid]
        while stack:
            for v in self.graph.dependents.get(stack.pop(), ()):
                if self._status.get(v) in (_PENDING, _READY):
                    self._set_blocked(v, f"dependency {cause} did not complete", [cause], emit=emit)
                    out.append(v)
                    stack.append(v)
        return sorted(out, key=id_key)

    def _set_blocked(self, uid: str, reason: str, by: list[str], emit: bool = True) -> None:
        self._status[uid] = _BLOCKED
        self._reasons[uid] = reason
        self._blocked_by[uid] = by
        if emit:
            self._emit(ev.TASK_BLOCKED, uid, reason=reason, blocked_by=by)
        self._mark_groups(uid, _BLOCKED, f"subtask {uid} blocked: {reason}", emit=emit)

    def _block_missing(self, ids: list[str]) -> None:
        for u in sorted(ids, key=id_key):
            if self._status.get(u) in (_PENDING, _READY):
                miss = self.graph.missing[u]
                self._set_blocked(u, f"dependency {', '.join(miss)} is not done and not in this run", miss)
                self._block_dependents(u, u)

    def _mark_groups(self, uid: str, state: str, reason: str, emit: bool = True) -> None:
        """The first failed or blocked member decides a group's fate (events deferred if not emit)."""
        for gid in self.graph.ancestors.get(uid, ()):
            if gid in self._group_state:
                continue
            self._group_state[gid] = state
            self._reasons[gid] = reason
            if state == _FAILED:
                item = (ev.TASK_FAILED, gid, {"reason": reason, "attempts": 0, "blocked_dependents": []})
            else:
                self._blocked_by[gid] = [uid]
                item = (ev.TASK_BLOCKED, gid, {"reason": reason, "blocked_by": [uid]})
            if emit:
                self._emit(item[0], item[1], **item[2])
            else:
                self._deferred.append(item)

    def _interrupt(self, uid: str, reason: str) -> None:
        self._status[uid] = _INTERRUPTED
        self._reasons[uid] = reason

    def _begin_stop(self) -> None:
        self._stopping = True
        grace = self.grace_s if self._stop_grace is None else self._stop_grace
        for u, s in self._status.items():
            if s in (_READY, _BACKOFF):
                self._status[u] = _PENDING
        self._ready.clear()
        self._backoff.clear()
        self._emit(
            ev.WARNING,
            None,
            message=f"stop requested: waiting up to {grace:g}s for {len(self._running)} running units",
            running=sorted((a.uid for a in self._running.values()), key=id_key),
        )
        self._add_timer(grace, "stop", None)

    def _cancel_running(self) -> None:
        if self._kill_deadline is not None:  # second firing: give up on units that ignore cancel
            for att in list(self._running.values()):
                del self._running[att.token]
                self._zombies[att.token] = att
                self._release(att)
                self._interrupt(att.uid, "did not stop after cancel")
            return
        for att in self._running.values():
            att.stop_cancelled = True
            att.cancel.set()
        self._kill_deadline = time.monotonic() + self.kill_wait_s
        self._add_timer(self.kill_wait_s, "stop", None)

    def _shutdown(self) -> None:
        left = [*self._running.values(), *self._zombies.values()]
        for att in left:
            att.cancel.set()
        futs = [a.fut for a in left if a.fut is not None]
        _, stuck = wait_futures(futs, timeout=self.kill_wait_s) if futs else (set(), set())
        self._pool.shutdown(wait=not stuck, cancel_futures=True)
        if self._integrator is not None:
            self._integrator.shutdown(wait=True)
        if stuck:
            self._emit(
                ev.WARNING,
                None,
                message="workers still running after cancel (left behind)",
                units=sorted({a.uid for a in left if a.fut in stuck}, key=id_key),
            )

    # -- reporting --------------------------------------------------------------------------------------

    def _emit(self, kind: str, task_id: str | None, **data: Any) -> None:
        self.bus.emit(kind, self.run_id, task_id, **data)

    def _outcome(self, makespan: float) -> RunOutcome:
        by: dict[str, set[str]] = {s: set() for s in (_DONE, _FAILED, _BLOCKED, _INTERRUPTED, _PENDING)}
        for u, s in self._status.items():
            by[s if s in by else _PENDING].add(u)
        for gid in self.graph.groups:
            by[self._group_state.get(gid, _PENDING)].add(gid)
        if by[_INTERRUPTED] or (self._stopping and by[_PENDING]):
            status = "stopped"
        elif by[_FAILED] or by[_BLOCKED]:
            status = "failed"
        else:
            status = "completed"
        self._emit(
            ev.RUN_FINISHED,
            None,
            status=status,
            done=len(by[_DONE]),
            failed=len(by[_FAILED]),
            blocked=len(by[_BLOCKED]),
            interrupted=sorted(by[_INTERRUPTED], key=id_key),
            duration_s=makespan,
        )
        return RunOutcome(
            status=status,
            done=by[_DONE],
            failed=by[_FAILED],
            blocked=by[_BLOCKED],
            interrupted=by[_INTERRUPTED],
            pending=by[_PENDING],
            done_before=set(self.graph.done_before) | self.graph.skipped,
            reasons=dict(self._reasons),
            blocked_by=dict(self._blocked_by),
            results=dict(self._results),
            attempts=dict(self._attempts),
            groups=set(self.graph.groups),
            makespan_s=makespan,
        )
