"""Spare worktrees: a task's worktree, once its work is committed (the run's pipeline: reviewed too; the merge
needs only the branch) and nothing uncommitted is left in it, is kept for the next task instead of being
removed. While its branch is not merged, its record stays in ``ws.spared`` for the merge, and a retry after
a conflict takes the spare back (`reclaim`): it still has the branch out.

Checking out a whole tree writes every file (on a repository of 500 files about half a second of system
time); switching a spare to the next task's branch rewrites only the files that differ. A spare waits in
the run folder as ``.spare-N`` (a task's folder never starts with a dot). It becomes a task's worktree in an
order that a kill at any point leaves recoverable: moved to the task's path (still on its old branch, so a
resume does not take it for the task's and makes a fresh one), emptied of everything git does not track
(ignored files too: a task starts as in a new checkout), then switched to the task's new branch at the
target's tip. Moving a worktree touches no ref, so it does not wait for merges (the repository lock);
`ws.moves` keeps it apart from `git worktree prune`. Spares left at the end of a run, or by a run that was killed, are removed by `finish`.
"""

from __future__ import annotations

import itertools
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OrchestratorError
from .refs import worktree_git_dir

if TYPE_CHECKING:
    from .git import GitWorkspace

log = logging.getLogger(__name__)

PREFIX = ".spare-"
MAX_SPARES = 64  # more are removed: a run rarely has more worktrees in flight than workers
_seq = itertools.count(1)


def keep(ws: GitWorkspace, path: Path) -> bool:
    """Move the clean worktree at `path` into the spares (True), or leave it where it is (False: the pool
    is full or git refused the move). The caller has checked that nothing uncommitted is in it."""
    with ws.guard:
        if len(ws.spares) >= MAX_SPARES:
            return False
    with ws.moves:
        spare = _free_name(ws.run_dir)
        if ws.git.run(ws.root, "worktree", "move", str(path), str(spare), check=False).returncode != 0:
            return False
    with ws.guard:
        ws.spares.append(spare)
    return True


def take(ws: GitWorkspace, path: Path, branch: str) -> str | None:
    """Make a spare the worktree at `path` on a new `branch` cut from the target's tip; returns that tip,
    or None when there is no spare (or it could not be used: then it is removed)."""
    with ws.guard:
        spare = ws.spares.pop() if ws.spares else None
    if spare is None:
        return None
    with ws.moves:
        moved = ws.git.run(ws.root, "worktree", "move", str(spare), str(path), check=False).returncode == 0
    tip = ws.tip()
    if not moved:
        _remove(ws, spare)
        return None
    try:
        ws.git.run(path, "clean", "-ffdxq")
        ws.git.run(path, "checkout", "-q", "-f", "--no-track", "-B", branch, tip)
    except OrchestratorError as e:
        log.warning("a spare worktree could not be reused (%s); a new one is made", e)
        _remove(ws, path)
        return None
    return tip


def reclaim(ws: GitWorkspace, path: Path, branch: str) -> bool:
    """A task whose worktree became a spare is run again (its status set back to pending): the spare still
    has its branch out, so it becomes the task's worktree again, as it was. False when no spare has it."""
    ref = f"refs/heads/{branch}"
    with ws.guard:
        mine = list(ws.spares)
    found = ws.run_dir.glob(f"{PREFIX}*") if ws.run_dir.is_dir() else iter(())  # a killed run's too
    for spare in dict.fromkeys([*mine, *found]):
        git_dir = worktree_git_dir(spare)
        if git_dir is None or ws.refs.head(git_dir)[0] != ref:
            continue
        with ws.guard:
            if spare in ws.spares:
                ws.spares.remove(spare)
        with ws.moves:
            ws.git.run(ws.root, "worktree", "move", str(spare), str(path))
        ws.git.run(path, "clean", "-ffdxq")
        return True
    return False


def drop_all(ws: GitWorkspace) -> None:
    """Remove every spare of the run: this process's and any a killed run left in its folder. A spare
    holds nothing uncommitted, so its folder is deleted, without a git process each: the caller's
    `git worktree prune` then drops their records."""
    with ws.guard:
        mine, ws.spares[:] = list(ws.spares), []
    found = ws.run_dir.glob(f"{PREFIX}*") if ws.run_dir.is_dir() else iter(())
    for spare in sorted({*mine, *found}):
        shutil.rmtree(spare, ignore_errors=True)


def _remove(ws: GitWorkspace, path: Path) -> None:
    with ws.moves:
        ws.git.run(ws.root, "worktree", "remove", "--force", "--force", str(path), check=False)
    if path.exists():  # not a worktree git knows (any more): the folder alone
        shutil.rmtree(path, ignore_errors=True)


def _free_name(run_dir: Path) -> Path:
    while True:
        spare = run_dir / f"{PREFIX}{next(_seq)}"
        if not spare.exists():
            return spare
