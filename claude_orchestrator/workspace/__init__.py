"""Where a task's work happens: a git worktree per task (:class:`Workspace`) or, without git, the directory
itself (:class:`NoGitWorkspace`), and the git layer beneath them (:mod:`.gitops`)."""

from .direct import NoGitWorkspace
from .git import DEFAULT_IGNORE_PATHS, Workspace
from .gitops import MergeResult

__all__ = ["DEFAULT_IGNORE_PATHS", "MergeResult", "NoGitWorkspace", "Workspace"]
