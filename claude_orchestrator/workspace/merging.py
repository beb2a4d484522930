"""Merges of a :class:`~.git.GitWorkspace`: a task's branch into the target branch, one at a time, without
touching any checked-out tree except by a fast-forward of the tree that has the target checked out."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WorkspaceError
from .gitops import GitRunner, has_merge_tree
from .paths import MAX_LISTED, listing
from .protocol import MergeResult
from .worktrees import tree_of

if TYPE_CHECKING:
    from .git import GitWorkspace


@dataclass
class MergeOutcome:
    commit: str | None  # the merged commit (None on conflict)
    conflicts: list[str]
    messages: list[str]
    fast_forward: bool = False


def merge_task(
    ws: GitWorkspace,
    task_id: str,
    title: str,
    *,
    legacy: bool | None = None,
    commit_status: bool = True,
    count_left: bool = True,
) -> MergeResult:
    """Merge the task's branch into the target branch (fast-forward or merge commit), one at a time.
    `commit_status`: commit the engine's files first; `count_left`: say how many files its worktree still
    holds uncommitted. A run's merge stage does neither (it commits statuses once per batch)."""
    git, target = ws.git, ws.target_branch
    branch = ws.branch(task_id)
    with ws.lock:
        theirs = ws.branch_tip(task_id)
        if theirs is None:
            raise WorkspaceError(f"task {task_id} has no branch {branch}: call prepare() first")
        if commit_status and ws.cfg.auto_commit:
            ws.commit_status()
        with ws.guard:  # its worktree, or the record of one handed back as a spare before the merge
            tree = ws.trees.get(task_id) or ws.spared.get(task_id)
        # the task's own commit, not merged yet: its parent is known, no need to ask git about ancestry
        parent = tree.base if tree is not None and tree.commit == theirs else None
        holder = ws.holder()
        msg = f"{ws.cfg.commit_message_prefix} Merge task {task_id}: {' '.join(title.split())}"
        for _ in range(3):
            ours = ws.tip()
            m = compute_merge(git, ws.root, ours, theirs, msg, legacy=legacy, parent=parent)
            if m.commit is None:
                why = "; ".join(m.messages[:MAX_LISTED]) or "content conflict"
                desc = (
                    f"task {task_id} conflicts with {target} in "
                    f"{len(m.conflicts)} file(s): {listing(m.conflicts)} ({why})"
                )
                return MergeResult(False, None, m.conflicts, desc, "conflict")
            if m.commit == ours:
                return MergeResult(
                    True, ours, [], f"task {task_id} has nothing new for {target}", "up-to-date"
                )
            if holder is not None:
                proc = git.run(holder, "merge", "--ff-only", "-q", m.commit, check=False)
            else:
                proc = git.run(
                    ws.root, "update-ref", "-m", msg, f"refs/heads/{target}", m.commit, ours, check=False
                )
            if proc.returncode == 0:
                if tree is not None and tree.commit == theirs:
                    tree.commit = None  # merged: a later merge of the branch asks git again
                with ws.guard:
                    ws.spared.pop(task_id, None)
                how = "fast-forward" if m.fast_forward else f"merge commit {m.commit[:10]}"
                desc = f"merged task {task_id} into {target} ({how})"
                kind = "fast-forward" if m.fast_forward else "merged"
                break
            if ws.tip() != ours:
                continue  # the branch moved under us (the user committed): merge again
            paths = refused_paths(proc.stderr)
            desc = (
                f"not merging task {task_id}: it would overwrite local changes in {holder}: "
                f"{listing(paths) or proc.stderr.strip()[:200]}; commit or stash them"
            )
            return MergeResult(False, None, paths, desc, "blocked")
        else:
            raise WorkspaceError(f"branch {target} kept moving during the merge of task {task_id}")
    return MergeResult(True, m.commit, [], desc + (_left_out(ws, task_id) if count_left else ""), kind)


def _left_out(ws: GitWorkspace, task_id: str) -> str:
    tree = tree_of(ws, task_id)
    left = ws.git.status(tree.path) if tree is not None else []
    return f"; {len(left)} uncommitted file(s) in its worktree were not merged" if left else ""


def compute_merge(
    git: GitRunner,
    root: Path,
    ours: str,
    theirs: str,
    message: str,
    *,
    legacy: bool | None = None,
    parent: str | None = None,
) -> MergeOutcome:
    """The commit that merging `theirs` into `ours` gives, without touching any checked-out tree.

    Fast-forward when possible; else `git merge-tree --write-tree` + `commit-tree` (git >= 2.38), or
    with `legacy` (older git) a merge in a throw-away detached worktree. `parent`: the one parent of
    `theirs`, a commit not merged anywhere yet (then git is not asked about ancestry)."""
    if parent is not None:
        if parent == ours:
            return MergeOutcome(theirs, [], [], fast_forward=True)
    elif git.is_ancestor(root, theirs, ours):
        return MergeOutcome(ours, [], ["already merged"])
    elif git.is_ancestor(root, ours, theirs):
        return MergeOutcome(theirs, [], [], fast_forward=True)
    if legacy is None:
        legacy = not has_merge_tree()
    if legacy:
        return _merge_in_temp_worktree(git, root, ours, theirs, message)
    args = ("merge-tree", "--write-tree", "-z", "--name-only", "--messages", ours, theirs)
    proc = git.run(root, *args, check=False)
    if proc.returncode not in (0, 1):
        raise WorkspaceError(f"git merge-tree failed: {proc.stderr.strip()}")
    head, _, info = proc.stdout.partition("\0\0")
    tree, *names = head.split("\0")
    msgs = re.findall(r"CONFLICT \([^)]*\):[^\n\0]*", info)
    if proc.returncode == 1:
        return MergeOutcome(None, sorted({n for n in names if n}), msgs)
    commit = git.out(root, "commit-tree", tree.strip(), "-p", ours, "-p", theirs, "-m", message)
    return MergeOutcome(commit, [], [])


def _merge_in_temp_worktree(git: GitRunner, root: Path, ours: str, theirs: str, message: str) -> MergeOutcome:
    tmp = Path(tempfile.mkdtemp(prefix="co-merge-"))
    wt = tmp / "wt"
    git.run(root, "worktree", "add", "-q", "--detach", str(wt), ours)
    try:
        proc = git.run(wt, "merge", "-q", "--no-ff", "--no-edit", "-m", message, theirs, check=False)
        if proc.returncode == 0:
            return MergeOutcome(git.out(wt, "rev-parse", "HEAD"), [], [])
        names = git.out(wt, "diff", "--name-only", "-z", "--diff-filter=U").split("\0")
        msgs = re.findall(r"CONFLICT \([^)]*\):[^\n]*", proc.stdout)
        git.run(wt, "merge", "--abort", check=False)
        if not any(names):
            raise WorkspaceError(f"git merge failed: {(proc.stderr or proc.stdout).strip()[:300]}")
        return MergeOutcome(None, sorted(n for n in names if n), msgs)
    finally:
        removed = git.run(root, "worktree", "remove", "--force", str(wt), check=False).returncode == 0
        shutil.rmtree(tmp, ignore_errors=True)
        if not removed:  # (a prune at any other time could drop a spare worktree being moved)
            git.run(root, "worktree", "prune", check=False)


def refused_paths(stderr: str) -> list[str]:
    """Paths git lists (tab-indented) when it refuses to overwrite local changes or untracked files."""
    return [ln.strip() for ln in stderr.splitlines() if ln.startswith("\t") and ln.strip()]
