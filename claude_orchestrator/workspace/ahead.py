"""Worktrees made ahead: while the workers are busy (mostly waiting for the model), the worktrees of the
units next in line are prepared in the background, so a unit starts in a worktree that is already there.

A worktree made ahead is brought to the target's tip when its unit starts (only the files that changed
since are rewritten), so a unit's base is the tip at its start, as without this. Worktrees made ahead for
units that never started are removed, branch and all, at the end of the run. A failure here is not
reported: the unit's own prepare makes the worktree (and reports what goes wrong).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .git import GitWorkspace

log = logging.getLogger(__name__)

THREADS = 2  # checkouts are mostly file writes by git: two keep ahead of the workers on a small machine


class Ahead:
    def __init__(self, ws: GitWorkspace) -> None:
        self.ws = ws
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="worktree-ahead")
        self._lock = threading.Lock()
        self._wanted: set[str] = set()  # asked for, not made yet
        self._made: set[str] = set()  # made here, not handed to its unit yet
        self._closed = False

    def want(self, task_ids: list[str]) -> None:
        """Make these tasks' worktrees in the background (those not asked for before)."""
        with self._lock:
            if self._closed:
                return
            new = [t for t in task_ids if t not in self._wanted and t not in self._made]
            self._wanted.update(new)
        for tid in new:
            self._pool.submit(self._make, tid)

    def handed(self, task_id: str) -> bool:
        """True (once) when the task's worktree was made here: its unit takes it now."""
        with self._lock:
            if task_id in self._made:
                self._made.discard(task_id)
                return True
            self._wanted.discard(task_id)  # its unit prepares it: nothing more to do here
            return False

    def close(self) -> None:
        """Stop making worktrees; remove those no unit took."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            unused, self._made = sorted(self._made), set()
        for tid in unused:
            try:
                self.ws.cleanup(tid, keep_branch=False)
            except Exception as e:  # noqa: BLE001 (a leftover worktree is untidy, never a failure)
                log.warning("could not remove the worktree made ahead for %s: %s", tid, e)

    def _make(self, task_id: str) -> None:
        from . import worktrees

        try:
            with self.ws.task_lock(task_id):
                with self._lock:
                    if self._closed or task_id not in self._wanted:
                        return  # its unit started (and prepared it) first, or the run ends
                if worktrees.known(self.ws, task_id) is not None:
                    return  # a resumed run's worktree: its unit takes it as it is
                worktrees.make(self.ws, task_id)
                tree = self.ws.trees.get(task_id)
                with self._lock:
                    self._wanted.discard(task_id)
                    if tree is not None and tree.base is not None:  # a new branch cut from the tip
                        self._made.add(task_id)
        except Exception as e:  # noqa: BLE001
            log.debug("worktree ahead for %s: %s", task_id, e)
            with self._lock:
                self._wanted.discard(task_id)
