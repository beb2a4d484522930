"""Running without git (or with git.use_worktrees off): tasks work in the directory itself.

Nothing is isolated, so :meth:`NoGitWorkspace.task_slot` makes tasks whose files overlap (or whose files
are unknown) take turns. The other methods of the :class:`~.protocol.Workspace` protocol do nothing: there
is no branch to commit to or merge.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from .protocol import MergeResult


class NoGitWorkspace:
    """No git (or worktrees off): tasks run in the directory; overlapping tasks take turns."""

    is_git = False
    target_branch: str | None = None
    start_branch: str | None = None

    def __init__(self, directory: Path, notice: str) -> None:
        self.repo_dir = directory
        self.root = directory
        self.notice = notice
        self.skipped: dict[str, list[str]] = {}
        self._cond = threading.Condition()
        self._held: set[str] = set()
        self._active = 0
        self._exclusive = False

    def branch(self, task_id: str) -> str | None:
        return None

    def prepare(self, task_id: str) -> Path:
        return self.repo_dir

    @contextlib.contextmanager
    def task_slot(self, task_id: str, paths: Iterable[str] | None = None) -> Iterator[None]:
        """Hold while a task runs: tasks whose `paths` overlap, or with unknown paths (None), run one at a time."""
        want = None if paths is None else {str(p) for p in paths}
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    not self._exclusive and (self._active == 0 if want is None else not (want & self._held))
                )
            )
            self._active += 1
            if want is None:
                self._exclusive = True
            else:
                self._held |= want
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                if want is None:
                    self._exclusive = False
                else:
                    self._held -= want
                self._cond.notify_all()

    def prepare_ahead(self, task_ids: list[str]) -> None:
        return None  # one folder for every task: nothing to make

    def existing_tasks(self) -> dict[str, Path]:
        return {}

    def has_changes(self, task_id: str) -> bool:
        return False

    def commit_task(self, task_id: str, title: str, *, allow_empty: bool = False) -> str | None:
        return None

    def commit_status(self) -> str | None:
        return None

    def merge_task(
        self,
        task_id: str,
        title: str,
        *,
        legacy: bool | None = None,
        commit_status: bool = True,
        count_left: bool = True,
    ) -> MergeResult:
        return MergeResult(
            True, None, [], f"task {task_id} worked in {self.repo_dir} directly (no git)", "in-place"
        )

    def reset_to_base(self, task_id: str, *, max_bytes: int | None = None) -> str:
        return ""

    def changed_files(self, task_id: str) -> list[str]:
        return []

    def diff(self, task_id: str, max_bytes: int = 200_000) -> str:
        return ""

    def cleanup(self, task_id: str, *, keep_branch: bool = True) -> bool:
        return True

    def finish(self) -> None:
        return None
