"""tasks.json as a person leaves it during a run: re-read before each decision the run makes.

The scheduler asks `edits()` before it dispatches; when the file changed since the last look (its size or
modification time), it is read again and the run state gets every status in it (run/state.py honours the ones
a person set: deferred or cancelled means not started, done means done) and the pending units a person added
whose dependencies are done or part of the run (they join it). A file that cannot be read (an editor saving
half of it) holds new work (`hold_reason`) until it can, for `wait_s` at most; then `on_give_up` is told,
which stops the run. The TaskRecorder waits the same way for the file before it writes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import TaskFileError
from ..taskmaster.model import TagData
from ..taskmaster.store import TaskStore
from .selection import BackendRule, select_units
from .state import DONE, NOT_STARTED, RUNNING, WITHDRAWN, RunState
from .units import SchedUnit

LEAVE = ("deferred", "cancelled", "review")  # statuses a person sets to keep a task out of a run


@dataclass(frozen=True)
class FileEdits:
    """tasks.json as it is now: the status of every task and subtask, and the pending units a person added
    that may join the run."""

    statuses: Mapping[str, str]
    new_units: Sequence[SchedUnit] = ()


def apply_edits(st: RunState, edits: FileEdits) -> dict[str, str]:
    """Honour what a person set (on the scheduler thread): a unit not started yet that they deferred or
    cancelled leaves the run, with the units that wait for it; one they set done counts as done, unrun; one
    they set back to pending comes back. New pending units join. Returns the running units they took out,
    with the status they set (the scheduler cancels those)."""
    running: dict[str, str] = {}
    for uid, now in list(st.status.items()):
        found = _file_status(st, uid, edits.statuses)
        if now in NOT_STARTED and found in LEAVE:
            st.withdraw(uid, str(found))
        elif now in NOT_STARTED and found == DONE:
            st.done_outside(uid)
        elif now == RUNNING and found in LEAVE:
            running[uid] = str(found)
        elif now == WITHDRAWN and uid in st.by_person and found not in LEAVE:
            st.readmit(uid)
    if edits.new_units:
        g = st.g
        g.done_before |= {u for u, s in edits.statuses.items() if s == DONE and u not in g.units}
        st.add_units(list(edits.new_units), None, person=True)
    return running


def _file_status(st: RunState, uid: str, statuses: Mapping[str, str]) -> str | None:
    """The unit's status in the file; its parent's when the parent is out (deferred, cancelled)."""
    for gid in st.g.ancestors.get(uid, ()):
        if statuses.get(gid) in LEAVE:
            return statuses[gid]
    return statuses.get(uid)


def unreadable_note(path: Path, problem: str, waited_s: float) -> str:
    """The one line a person reads when tasks.json stayed unreadable."""
    return (
        f"{path} cannot be read ({problem}) after waiting {waited_s:g}s for a whole file: fix it, then "
        "`claude-orchestrator run` resumes this run (what was merged is kept)"
    )


class TaskFileWatch:
    """`known()` gives the ids the run already has (its units, groups and the ids done before it), so that
    only new tasks are offered; `pick_new` is off when the run was asked for given tasks (`run --id`)."""

    def __init__(
        self,
        store: TaskStore,
        tag: str,
        rule: BackendRule,
        known: Callable[[], set[str]],
        *,
        pick_new: bool = True,
        wait_s: float = 30.0,
        on_give_up: Callable[[str], None] | None = None,
    ) -> None:
        self.store, self.tag, self.rule, self.known, self.pick_new = store, tag, rule, known, pick_new
        self.wait_s, self.on_give_up = wait_s, on_give_up
        self._seen: tuple[int, int] | None = self._signature()
        self._broken_since: float | None = None
        self._problem = ""
        self._gave_up = False
        self._lock = threading.Lock()

    @property
    def gave_up(self) -> bool:
        """The file stayed unreadable for `wait_s` (the run was told to stop)."""
        return self._gave_up

    def _signature(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.store.tasks_path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def edits(self) -> FileEdits | None:
        """tasks.json as it is now, when it changed since the last look and can be read; else None."""
        sig = self._signature()
        with self._lock:
            if sig == self._seen and self._broken_since is None:
                return None
            try:
                data = self.store.load(self.tag)
            except TaskFileError as e:
                self._broken(e.problem)
                return None
            self._seen, self._broken_since = sig, None
        return FileEdits(statuses=_statuses(data), new_units=self._new_units(data))

    def _broken(self, problem: str) -> None:
        now = time.monotonic()
        if self._broken_since is None:
            self._broken_since = now
        self._problem = problem
        if now - self._broken_since >= self.wait_s and not self._gave_up:
            self._gave_up = True
            if self.on_give_up is not None:
                self.on_give_up(unreadable_note(self.store.tasks_path, problem, self.wait_s))

    def hold_reason(self) -> str | None:
        """While the file cannot be read (as `edits()` last found it), no new work starts: the file may
        defer the next task."""
        with self._lock:
            if self._broken_since is None:
                return None
            return f"{self.store.tasks_path.name} cannot be read ({self._problem}): waiting for a whole file"

    def _new_units(self, data: TagData) -> list[SchedUnit]:
        """Pending units a person added, whose dependencies are done or in the run."""
        if not self.pick_new:
            return []
        known = self.known()
        sel = select_units(data, rule=self.rule)
        fresh = [su for su in sel.units if su.id not in known and su.id not in sel.done_before]
        ids = {su.id for su in fresh}
        ok = known | sel.done_before | ids
        out = []
        for su in fresh:
            if all(d in ok or _sibling(d, su) in ok for d in su.unit.dependencies):
                out.append(su)
        by_id = {su.id: su for su in out}
        # a subtask whose parent cannot join does not join either
        return [su for su in out if su.parent is None or su.parent in by_id or su.parent in known]


def _sibling(dep: str, su: SchedUnit) -> str:
    """A bare number in a subtask's dependencies names a sibling ("1" of "3.2" is "3.1")."""
    if su.parent is not None and "." not in dep:
        return f"{su.parent}.{dep}"
    return dep


def _statuses(data: TagData) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in data.tasks:
        out[t.uid] = t.status
        for s in t.subtasks:
            out[s.uid] = s.status
    return out
