"""The task worktrees of a :class:`~.git.GitWorkspace`: making one (or finding it again on resume), what this
process knows of each (`TaskTree`), and removing it.

A worktree is registered under the repository lock (``git worktree add --no-checkout --lock``) and its
files are checked out outside it, so many tasks are prepared at once and no merge waits for a checkout. It
stays locked until its checkout is done: git writes that lock before anything else of the worktree (even
a git that finishes after we were killed leaves it), so a worktree found locked is checked out again.
A worktree whose work is merged is kept as a spare for the next task (spares.py) rather than removed; one
that holds uncommitted work stays where it is.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WorkspaceError
from . import paths, spares
from .gitops import WorktreeInfo
from .refs import worktree_git_dir

if TYPE_CHECKING:
    from .git import GitWorkspace

META = ".workspace.json"
PENDING = "orchestrator-checkout-pending"  # the marker of earlier versions, still honoured
LOCKED = "locked"  # git's own: `worktree add --lock`, or "initializing" while a `worktree add` runs
_DIRTY = ("contains modified or untracked files", "is dirty")


@dataclass
class TaskTree:
    """What this process knows of a task's worktree. A worktree found again on resume starts with only its
    path known; the slower, asking paths of commits, views and merges serve it."""

    path: Path
    base: str | None = None
    """The commit its branch was cut from (or last reset to), while nothing else was committed on it."""

    commit: str | None = None
    """The task's commit made by commit_task, until it is merged (then None)."""

    left: list[str] = field(default_factory=list)
    """The changed files that commit left out (sensitive or engine files)."""


def registered(ws: GitWorkspace, task_id: str) -> WorktreeInfo | None:
    """The task's worktree as git lists it (never the user's main tree, even if it has the branch out, nor a
    spare that still has it out: that one is the next task's)."""
    ref = f"refs/heads/{ws.branch(task_id)}"
    found = (
        w
        for w in ws.git.worktrees(ws.root)
        if w.branch == ref and w.path.resolve() != ws.root and not w.path.name.startswith(spares.PREFIX)
    )
    return next(found, None)


def tree_of(ws: GitWorkspace, task_id: str) -> TaskTree | None:
    """The task's worktree: known to this process, or found among git's worktrees (a resumed task)."""
    with ws.guard:
        tree = ws.trees.get(task_id)
    if tree is not None and tree.path.is_dir():
        return tree
    info = registered(ws, task_id)
    if info is None or not info.path.is_dir():
        return None
    with ws.guard:
        return ws.trees.setdefault(task_id, TaskTree(info.path))


def prepare(ws: GitWorkspace, task_id: str) -> Path:
    """Create (or on resume reuse) the task's worktree; the working directory of the task."""
    with ws.task_lock(task_id):
        workdir = make(ws, task_id)
        if ws.ahead is not None and ws.ahead.handed(task_id):
            _to_tip(ws, task_id)
        return workdir


def make(ws: GitWorkspace, task_id: str) -> Path:
    """`prepare` under the task's lock (held by the caller)."""
    tree = known(ws, task_id) or _reused(ws, task_id)
    if tree is None:
        with ws.lock:
            tree = known(ws, task_id) or _add(ws, task_id)
    git_dir = worktree_git_dir(tree.path)
    marks = [git_dir / PENDING, git_dir / LOCKED] if git_dir is not None else []
    # locked or marked: its checkout may not be done; no index yet: an older version's `worktree add
    # --no-checkout` was killed before its marker
    if any(m.exists() for m in marks) or (git_dir is not None and not (git_dir / "index").exists()):
        ws.git.run(tree.path, "reset", "-q", "--hard", "HEAD")
        for m in marks:
            m.unlink(missing_ok=True)
    return ws.cwd(tree.path)


def _to_tip(ws: GitWorkspace, task_id: str) -> None:
    """A worktree made ahead (nothing done in it yet) moved on to the target's tip, as if made now."""
    tree, tip = ws.trees[task_id], ws.tip()
    if tree.base != tip:
        ws.git.run(tree.path, "checkout", "-q", "-f", "--no-track", "-B", ws.branch(task_id), tip)
        tree.base = tip


def known(ws: GitWorkspace, task_id: str) -> TaskTree | None:
    """The task's worktree if it is already there: this process made it, or its path holds a worktree on
    the task's branch (a resumed run). No git process in either case."""
    with ws.guard:
        tree = ws.trees.get(task_id)
    if tree is not None and tree.path.is_dir():
        return tree
    path = ws.run_dir / paths.sanitize(task_id)
    git_dir = worktree_git_dir(path)
    if git_dir is None or ws.refs.head(git_dir)[0] != f"refs/heads/{ws.branch(task_id)}":
        return None
    with ws.guard:
        return ws.trees.setdefault(task_id, TaskTree(path))


def _reused(ws: GitWorkspace, task_id: str) -> TaskTree | None:
    """A spare worktree made the task's (see spares.py), for a task that has neither a folder nor a branch."""
    path, branch = ws.run_dir / paths.sanitize(task_id), ws.branch(task_id)
    if path.exists() or ws.branch_tip(task_id) is not None:
        return None
    tip = spares.take(ws, path, branch)
    return None if tip is None else _record(ws, task_id, path, tip)


def _record(ws: GitWorkspace, task_id: str, path: Path, base: str | None) -> TaskTree:
    """Note the task's worktree in the run's record and in this process."""
    with ws.guard:
        meta = paths.read_json(ws.run_dir / META)
        meta.setdefault("tasks", {})[task_id] = ws.branch(task_id)
        paths.write_json(ws.run_dir / META, meta)
        tree = ws.trees[task_id] = TaskTree(path, base=base)
        ws.spared.pop(task_id, None)
    return tree


def _add(ws: GitWorkspace, task_id: str) -> TaskTree:
    """Register the task's worktree (files not checked out yet); under the repository lock."""
    git, branch = ws.git, ws.branch(task_id)
    path = ws.run_dir / paths.sanitize(task_id)
    has_branch = ws.branch_tip(task_id) is not None
    if path.exists() and any(path.iterdir()):
        if not (path / ".git").is_file():
            raise WorkspaceError(f"{path} exists and is not a worktree of this run: move it away")
        # a `git worktree add` of ours killed half-way: nothing of the task is in it yet
        git_dir = worktree_git_dir(path)
        if git_dir is not None:
            (git_dir / LOCKED).unlink(missing_ok=True)  # so that prune drops it
        shutil.rmtree(path)
        with ws.moves:  # prune would drop a worktree being moved
            git.run(ws.root, "worktree", "prune")
    elif has_branch and registered(ws, task_id) is not None:  # registered elsewhere, its folder gone
        with ws.moves:
            git.run(ws.root, "worktree", "prune")
    if has_branch and spares.reclaim(ws, path, branch):
        return _record(ws, task_id, path, None)
    if has_branch:
        where, base = [str(path), branch], None
    else:
        tip = ws.tip()
        where, base = ["--no-track", "-b", branch, str(path), tip], tip
    git.run(ws.root, "worktree", "add", "-q", "--no-checkout", "--lock", *where)
    return _record(ws, task_id, path, base)


def existing(ws: GitWorkspace) -> dict[str, Path]:
    """Tasks of this run that already have a worktree (for resuming after a crash)."""
    found = {}
    for tid in paths.read_json(ws.run_dir / META).get("tasks", {}):
        tree = tree_of(ws, tid)
        if tree is not None:
            found[tid] = ws.cwd(tree.path)
    return found


def cleanup(ws: GitWorkspace, task_id: str, *, keep_branch: bool = True) -> bool:
    """Remove the task's worktree (kept as a spare for the next task) unless it holds uncommitted work (then
    it stays and the answer is False). With keep_branch=False the branch goes too, but only once it is merged
    into the target."""
    with ws.task_lock(task_id):
        tree = tree_of(ws, task_id)
        if tree is not None:
            if ws.git.status(tree.path):  # uncommitted work: the worktree stays
                return False
            kept = keep_branch and spares.keep(ws, tree.path)  # a spare holds its old branch out
            proc = None if kept else ws.git.run(ws.root, "worktree", "remove", str(tree.path), check=False)
            if proc is not None and proc.returncode != 0:
                if any(s in proc.stderr for s in _DIRTY):
                    return False
                first = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[0]
                raise WorkspaceError(f"git worktree failed in {ws.root}: {first}")
            with ws.guard:
                gone = ws.trees.pop(task_id, None)
                if gone is not None and gone.commit is not None:  # not merged yet: merge_task wants it
                    ws.spared[task_id] = gone
        tip = ws.branch_tip(task_id)
        if not keep_branch and tip is not None:
            with ws.lock:
                if ws.git.is_ancestor(ws.root, tip, ws.tip()):
                    ws.git.run(ws.root, "branch", "-q", "-D", ws.branch(task_id))
        return True
