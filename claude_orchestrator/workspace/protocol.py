"""The :class:`Workspace` protocol: what the run pipeline asks of the place where tasks work.

Two implementations: :class:`~.git.GitWorkspace` (a git worktree and branch per task, merged into a target
branch) and :class:`~.direct.NoGitWorkspace` (no git: tasks work in the directory itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class MergeResult:
    """What merge_task did. `conflict_files` names the files in a conflict, or those git would not
    overwrite (kind "blocked")."""

    ok: bool
    commit: str | None
    conflict_files: list[str] = field(default_factory=list)
    description: str = ""
    # merged | fast-forward | up-to-date | conflict | blocked (local changes in the way) | in-place
    kind: str = "merged"


@runtime_checkable
class Workspace(Protocol):
    """Where a run's tasks work, and how their work reaches the target."""

    @property
    def is_git(self) -> bool:
        """True for git worktrees (commits, branches and merges); False when tasks work in place."""

    @property
    def root(self) -> Path:
        """The top of the working tree (the repository's, or the directory itself without git)."""

    @property
    def target_branch(self) -> str | None:
        """The branch tasks merge into (None without git)."""

    @property
    def notice(self) -> str | None:
        """Something the run should tell the user at its start (no git, a stale lock removed …)."""

    @property
    def skipped(self) -> dict[str, list[str]]:
        """Task id -> the files its last commit_task left out (sensitive or engine files)."""

    def branch(self, task_id: str) -> str | None:
        """The task's branch (None without git)."""

    def prepare(self, task_id: str) -> Path:
        """Make the task's working directory ready (reused on resume) and return it."""

    def task_slot(self, task_id: str, paths: Iterable[str] | None = None) -> AbstractContextManager[None]:
        """Held while the task runs: tasks that must not run at once take turns here."""

    def prepare_ahead(self, task_ids: list[str]) -> None:
        """A hint: these tasks start soon; their working directories may be made in the background."""

    def existing_tasks(self) -> dict[str, Path]:
        """Tasks of this run that already have a working directory (for a resume)."""

    def has_changes(self, task_id: str) -> bool:
        """True when the task's working directory holds uncommitted changes."""

    def commit_task(self, task_id: str, title: str, *, allow_empty: bool = False) -> str | None:
        """Commit the task's work; the commit id, or None when there was nothing to commit."""

    def commit_status(self) -> str | None:
        """Commit the engine's own files (tasks.json …) where the target branch is checked out."""

    def merge_task(
        self,
        task_id: str,
        title: str,
        *,
        legacy: bool | None = None,
        commit_status: bool = True,
        count_left: bool = True,
    ) -> MergeResult:
        """Bring the task's work into the target branch (first committing the engine's files, unless
        `commit_status` is False; naming what its worktree still holds, unless `count_left` is False)."""

    def reset_to_base(self, task_id: str, *, max_bytes: int | None = None) -> str:
        """Save the task's work and start it again from the target's tip; returns its diff."""

    def changed_files(self, task_id: str) -> list[str]:
        """Files the task changed, committed or not."""

    def diff(self, task_id: str, max_bytes: int = 200_000) -> str:
        """The task's diff for review (sensitive files named, never shown)."""

    def cleanup(self, task_id: str, *, keep_branch: bool = True) -> bool:
        """Remove the task's working directory unless it holds uncommitted work (then False)."""

    def finish(self) -> None:
        """End of the run: tidy up what is left."""
