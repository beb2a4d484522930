"""Where a task's work happens: the :class:`Workspace` protocol, with a git worktree per task
(:class:`GitWorkspace`) or, without git, the directory itself (:class:`NoGitWorkspace`); the git layer
beneath them is :mod:`.gitops` (hardened by :mod:`.hardening`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..config import GitConfig
from .direct import NoGitWorkspace
from .git import DEFAULT_IGNORE_PATHS, GitWorkspace
from .protocol import MergeResult, Workspace

__all__ = [
    "DEFAULT_IGNORE_PATHS",
    "GitWorkspace",
    "MergeResult",
    "NoGitWorkspace",
    "Workspace",
    "open_workspace",
]


def open_workspace(
    repo_dir: Path,
    run_id: str,
    cfg: GitConfig,
    *,
    target_branch: str | None = None,
    worktrees_dir: Path | None = None,
    ignore_paths: Sequence[str] = DEFAULT_IGNORE_PATHS,
) -> Workspace:
    """The workspace of a run in `repo_dir`: git worktrees in a git repository (with worktrees on), else
    the directory itself (its ``notice`` says why)."""
    return GitWorkspace.open(
        repo_dir,
        run_id,
        cfg,
        target_branch=target_branch,
        worktrees_dir=worktrees_dir,
        ignore_paths=ignore_paths,
    )
