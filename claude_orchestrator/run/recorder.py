"""TaskRecorder: the one writer of tasks.json during a run.

Every change a run makes to the task database goes through here: a unit started (in-progress), merged
(done, with what it produced in its metadata), failed for good (blocked, with the reason), the review's
follow-up tasks, and the statuses a resumed run recovers from its journal. The writes run one at a time, in
the order asked, on the recorder's own thread; each is a locked read-modify-write of the file
(`TaskStore.edit`), so edits others make meanwhile (`task-master set-status`, an editor) are kept.
Each unit's `result.json` in the run folder is written here too, next to its tasks.json record.

Stale writes by other programs (task-master-ai writes back a copy it read before taking the lock) are
undone: the recorder notes the statuses it sets (run/claims.py), re-reads the file on each later write, a
moment after each write and when flushed, and puts back what a stale copy erased, with a RunWarning.

A person may edit the file during the run. A status they set is theirs: the run sets a status only over one
it may replace (pending, in-progress, blocked); over any other (deferred, cancelled, ...) it writes only its
`metadata.orchestrator`. Every change the run makes is noted (`own`, run/owned.py) so that its status
commits hold the run's changes and nothing else. A file that cannot be read (an editor saving half of it) is
waited for, `wait_s` at most; then `on_unreadable` is told (the run stops) and the write fails.

`started`, `failed` and `done` only queue the write (a failed write becomes a WARNING event): the scheduler
thread and the merge stage must not wait for a file; `add_follow_ups` and `recover` wait for theirs and
raise its error. `flush` waits for every write queued so far. `on_settled`, when given, is called on the
writer thread once no write is queued after one or more units were recorded done (the engine commits a
tracked tasks.json there: one commit per batch of finished units).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..errors import OrchestratorError, TaskFileError
from ..events import EventBus, Log, RunWarning
from ..taskmaster import ops
from ..taskmaster.model import Subtask, TagData, Task
from ..taskmaster.store import TaskStore
from ..workers.base import WorkUnit
from .claims import Claims
from .edits import unreadable_note
from .folder import task_dir, write_json_atomic
from .owned import OwnChanges

log = logging.getLogger(__name__)
T = TypeVar("T")
THREAD_NAME = "tasks-writer"
RECHECK_S = 0.5  # a stale writer's write-back lands this soon after ours, or at the next write or flush
RUN_MAY_REPLACE = ("pending", "in-progress", "blocked")  # any other status was set by a person: theirs


class TaskRecorder:
    def __init__(
        self,
        store: TaskStore,
        tag: str,
        *,
        run_id: str,
        run_path: Path,
        bus: EventBus | None = None,
        on_settled: Callable[[], object] | None = None,
        wait_s: float = 30.0,
        on_unreadable: Callable[[str], None] | None = None,
    ) -> None:
        self.store, self.tag, self.run_id, self.run_path, self.bus = store, tag, run_id, run_path, bus
        self.on_settled = on_settled
        self.writes = 0  # tasks.json writes made (for tests and the curious)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=THREAD_NAME)
        self._lock = threading.Lock()
        self._queued = 0
        self._unsettled = False  # a unit was recorded done since on_settled was last called
        self.claims = Claims()
        self._recheck: threading.Timer | None = None
        self._closed = False
        self.own = OwnChanges(tag)
        self.wait_s, self.on_unreadable = wait_s, on_unreadable
        self._gave_up = False  # the file stayed unreadable for wait_s: writes fail at once until it is not
        self._stopped_run = False

    # -- from the scheduler thread: queued ---------------------------------------------------------

    def started(self, unit: WorkUnit) -> None:
        """An attempt of the unit was dispatched: in-progress."""
        self._queue(f"{unit.unit_id} in-progress", self._set_status, unit.unit_id, "in-progress")

    def failed(self, unit_id: str, reason: str) -> None:
        """The unit failed for good: `blocked` (a status task-master reads) with the reason."""
        self._queue(f"{unit_id} failed", self._failed, unit_id, reason)

    def done(self, unit_id: str, info: dict[str, Any]) -> None:
        """The unit is merged: done, with `info` (commit, cost, summary, ...) in its metadata."""
        self._queue(f"{unit_id} done", self._done, unit_id, info)

    @property
    def gave_up(self) -> bool:
        """tasks.json stayed unreadable for `wait_s` once (the run was told to stop)."""
        return self._stopped_run

    # -- waited for ----------------------------------------------------------------------------------

    def flush(self) -> None:
        """Wait until every write queued so far is made (and `on_settled` has run after them), then
        re-read tasks.json and restore what a stale write erased."""
        self._pool.submit(self._check).result()

    def add_follow_ups(self, unit: WorkUnit, follow_ups: Iterable[Any]) -> list[Task]:
        """The review's follow-ups as new tasks that depend on the unit's task."""
        return self._wait(self._add_follow_ups, unit, list(follow_ups))

    def recover(self, merged: Iterable[str]) -> None:
        """Units a crashed run's journal saw merged are done, even if their status write was lost."""
        ids = sorted(set(merged))
        if ids:
            self._wait(self._recover, ids)

    def close(self) -> None:
        """Wait for every queued write."""
        with self._lock:
            self._closed = True
            if self._recheck is not None:
                self._recheck.cancel()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> TaskRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the writes (on the recorder's thread) -------------------------------------------------------

    def _queue(self, what: str, fn: Callable[..., object], *args: Any) -> None:
        with self._lock:
            self._queued += 1
        fut = self._pool.submit(self._counted, fn, *args)
        fut.add_done_callback(lambda f: self._report(what, f))

    def _wait(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            self._queued += 1
        return self._pool.submit(self._counted, fn, *args).result()

    def _counted(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            out = fn(*args)
            with self._lock:
                self.writes += 1
                self._unsettled |= fn == self._done
                if self._recheck is None and not self._closed:
                    self._recheck = threading.Timer(RECHECK_S, self._schedule_check)
                    self._recheck.daemon = True
                    self._recheck.start()
            return out
        finally:
            with self._lock:
                self._queued -= 1
                settle = self._unsettled and not self._queued and self.on_settled is not None
                if settle:
                    self._unsettled = False
            if settle:
                self._settle()

    def _settle(self) -> None:
        assert self.on_settled is not None
        try:
            self.on_settled()
        except Exception as e:  # e.g. the status commit failed: the run goes on
            log.warning("after recording finished tasks: %s", e)
            if self.bus is not None:
                message = f"after recording finished tasks: {e}"
                self.bus.publish(RunWarning(run_id=self.run_id, message=message))

    def _report(self, what: str, fut: Future[Any]) -> None:
        err = fut.exception()
        if err is None or (self._gave_up and isinstance(err, TaskFileError)):
            return  # the note that stopped the run says it all; the next run recovers from the journal
        if self.bus is None:
            log.warning("could not record %s in tasks.json: %s", what, err)
        else:
            message = f"could not record {what} in tasks.json: {err}"
            self.bus.publish(RunWarning(run_id=self.run_id, message=message))

    @contextlib.contextmanager
    def _edit(self) -> Iterator[TagData]:
        """A locked read-modify-write of the tag, once the file can be read, that first restores what stale
        writes erased since ours (see the module docstring)."""
        since: float | None = None
        delay = 0.05
        while True:
            entered = False
            try:
                with self.store.edit(self.tag) as data:
                    entered = True
                    restored = self.claims.restore(data)
                    yield data
                break
            except TaskFileError as e:
                if entered or not self._may_wait(e, since):
                    raise
                since = time.monotonic() if since is None else since
                time.sleep(delay)
                delay = min(2 * delay, 1.0)
        self.own.written(data)
        for message in restored:
            self._say(RunWarning, message)
        if since is not None or self._gave_up:
            self._gave_up = False
            self._say(Log, f"{self.store.tasks_path.name} can be read again: recorded what waited")

    def _schedule_check(self) -> None:
        with self._lock:
            self._recheck = None
            if self._closed:
                return
            with contextlib.suppress(RuntimeError):  # shut down meanwhile
                self._pool.submit(self._check)

    def _check(self) -> None:
        """Re-read tasks.json (no lock, no write) and restore, under the lock, what a stale write erased."""
        try:
            if self.claims.erased(self.store.load(self.tag)):
                with self._edit():
                    pass
        except TaskFileError:  # unreadable for now: the next write waits for it, and says so
            pass
        except OrchestratorError as e:
            log.warning("could not re-read tasks.json: %s", e)

    def _may_wait(self, e: TaskFileError, since: float | None) -> bool:
        """Whether to read the unreadable file again; at the end of the wait, tell the run (once)."""
        if self._gave_up:
            return False
        if since is None:
            self._say(RunWarning, f"{e}: waiting up to {self.wait_s:g}s for a whole file")
            return True
        if time.monotonic() - since < self.wait_s:
            return True
        self._gave_up = self._stopped_run = True
        if self.on_unreadable is not None:
            self.on_unreadable(unreadable_note(self.store.tasks_path, e.problem, self.wait_s))
        return False

    def _say(self, kind: type[Log] | type[RunWarning], message: str) -> None:
        if self.bus is not None:
            self.bus.publish(kind(run_id=self.run_id, message=message))

    def _claim(self, data: TagData, uid: str, status: str, meta: dict[str, Any] | None = None) -> None:
        """Set the unit's status (unless a person set one of theirs) and its metadata.orchestrator, noting
        both as the run's own changes."""
        item = data.find(uid)
        before = item.status
        if before != status and before in RUN_MAY_REPLACE:
            ops.set_status(data, [uid], status)
            self.own.status(uid, status)
        elif before != status:
            self._say(
                Log,
                f"task {uid} stays {item.status} in tasks.json, as set there (the run would say {status})",
            )
        if meta is not None:
            _set_meta(item, meta)
            self.own.meta(uid, meta)
        if item.status != before or meta is not None:
            self.claims.note(uid, before, item.status, meta)

    def _set_status(self, unit_id: str, status: str) -> None:
        with self._edit() as data:
            self._claim(data, unit_id, status)

    def _failed(self, unit_id: str, reason: str) -> None:
        write_json_atomic(
            task_dir(self.run_path, unit_id, create=True) / "result.json",
            {"run_id": self.run_id, "status": "failed", "reason": reason},
        )
        with self._edit() as data, contextlib.suppress(OrchestratorError):
            self._claim(
                data, unit_id, "blocked", {"run_id": self.run_id, "status": "failed", "reason": reason[:1000]}
            )

    def _done(self, unit_id: str, info: dict[str, Any]) -> None:
        write_json_atomic(task_dir(self.run_path, unit_id, create=True) / "result.json", info)
        with self._edit() as data:
            self._claim(data, unit_id, "done", {k: v for k, v in info.items() if k != "status"})

    def _add_follow_ups(self, unit: WorkUnit, follow_ups: list[Any]) -> list[Task]:
        with self._edit() as data:
            added = [
                ops.add_task(
                    data,
                    f.title,
                    f.description,
                    priority=f.priority,
                    dependencies=[unit.task_id],
                    details=f"Follow-up from the review of task {unit.unit_id}.",
                )
                for f in follow_ups
            ]
            for task in added:
                self.own.added(task)
            return added

    def _recover(self, ids: list[str]) -> None:
        with self._edit() as data:
            for uid in ids:
                with contextlib.suppress(OrchestratorError):
                    self._claim(data, uid, "done")


def _set_meta(item: Task | Subtask, orchestrator: dict[str, Any]) -> None:
    meta = item.extra.get("metadata")
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta["orchestrator"] = orchestrator
    item.extra["metadata"] = meta
