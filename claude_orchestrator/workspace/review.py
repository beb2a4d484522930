"""What a reviewer sees of a task (its diff, its changed files) and the reset before a retry, for a
:class:`~.git.GitWorkspace`. They read the worktree as it is now through a snapshot tree, or, right after
commit_task, just that commit."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from . import worktrees
from .commits import head_of
from .gitops import GitRunner
from .hardening import DIFF_ARGS
from .paths import sanitize, truncate
from .worktrees import tree_of

if TYPE_CHECKING:
    from .git import GitWorkspace

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
_PATCHES = ".patches"


def snapshot_tree(git: GitRunner, wt: Path, skip: Callable[[str], bool]) -> str:
    """A tree of the worktree as it is now (HEAD + staged + unstaged + untracked), leaving out paths
    for which `skip` is true, built in a temporary index so the worktree's own index is untouched."""
    index = Path(git.out(wt, "rev-parse", "--git-path", "index"))
    index = index if index.is_absolute() else wt / index
    with tempfile.TemporaryDirectory(prefix="co-index-") as d:
        tmp = Path(d) / "index"
        if index.exists():
            shutil.copyfile(index, tmp)
        env = {"GIT_INDEX_FILE": str(tmp), **_LITERAL}
        paths = [p for e in git.status(wt) for p in e.paths() if not skip(p)]
        if paths:
            add = ("add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul")
            git.run(wt, *add, input="\0".join(paths), env=env)
        staged = git.out(
            wt, "diff", *DIFF_ARGS, "--cached", "--name-only", "-z", "--no-renames", "HEAD", env=env
        )
        drop = [p for p in staged.split("\0") if p and skip(p)]
        if drop:
            git.run(wt, "reset", "-q", "HEAD", "--", *drop, env=env)
        return git.out(wt, "write-tree", env=env)


def _view(ws: GitWorkspace, task_id: str) -> tuple[Path, str, str, list[str], list[str]]:
    git = ws.git
    wt = ws.worktree(task_id)
    base = ws.base(wt)
    tree = snapshot_tree(git, wt, ws.sensitive)
    names = [
        p
        for p in git.out(wt, "diff", *DIFF_ARGS, "--name-only", "-z", "--no-renames", base, tree).split("\0")
        if p
    ]
    hidden = {p for p in names if ws.sensitive(p)} | {
        p for e in git.status(wt) for p in e.paths() if ws.sensitive(p)
    }
    return wt, base, tree, [p for p in names if p not in hidden], sorted(hidden)


def changed_files(ws: GitWorkspace, task_id: str) -> list[str]:
    """Files the task changed against its base: committed, staged, unstaged and untracked (repo paths)."""
    _, _, _, shown, hidden = _view(ws, task_id)
    return sorted(set(shown) | set(hidden))


def diff(ws: GitWorkspace, task_id: str, max_bytes: int = 200_000) -> str:
    """The task's diff against its base for review; sensitive files are named but never shown."""
    quick = _committed_view(ws, task_id)
    if quick is not None:
        wt, base, commit, left = quick
        text = ws.git.run(wt, "diff", *DIFF_ARGS, base, commit).stdout
        if left:
            text += f"\n# not shown (sensitive files): {', '.join(left)}\n"
        return truncate(text, max_bytes)
    wt, base, tree, shown, hidden = _view(ws, task_id)
    text = ws.git.run(wt, "diff", *DIFF_ARGS, base, tree, "--", *shown, env=_LITERAL).stdout if shown else ""
    if hidden:
        text += f"\n# not shown (sensitive files): {', '.join(hidden)}\n"
    return truncate(text, max_bytes)


def _committed_view(ws: GitWorkspace, task_id: str) -> tuple[Path, str, str, list[str]] | None:
    """(worktree, base, commit, sensitive files changed) when the task's worktree holds just what
    commit_task made of it: its commit on its base, and besides it only sensitive files (never shown).
    Then the commit is the whole view."""
    with ws.guard:
        tree = ws.trees.get(task_id)
    if tree is None or tree.commit is None or tree.base is None or not tree.path.is_dir():
        return None
    if not all(ws.sensitive(p) for p in tree.left) or head_of(ws, tree.path) != tree.commit:
        return None
    now = sorted({p for e in ws.git.status(tree.path) for p in e.paths()})
    return (tree.path, tree.base, tree.commit, now) if all(ws.sensitive(p) for p in now) else None


def reset_to_base(ws: GitWorkspace, task_id: str, *, max_bytes: int | None = None) -> str:
    """Re-cut the task's branch on the target's current tip for a retry. Its previous work is saved first
    (a patch file under the run dir and a ref refs/orchestrator-saved/...); returns the patch."""
    git, sens = ws.git, ws.sensitive
    with ws.task_lock(task_id):
        if tree_of(ws, task_id) is None:  # handed back as a spare before its merge: take it back
            worktrees.make(ws, task_id)
        wt = ws.worktree(task_id)
        base = ws.base(wt)
        tree = snapshot_tree(git, wt, sens)
        names = [
            p
            for p in git.out(wt, "diff", *DIFF_ARGS, "--name-only", "-z", base, tree).split("\0")
            if p and not sens(p)
        ]
        patch = text = ""
        if names:
            patch = git.run(wt, "diff", *DIFF_ARGS, "--binary", base, tree, "--", *names, env=_LITERAL).stdout
            text = git.run(wt, "diff", *DIFF_ARGS, base, tree, "--", *names, env=_LITERAL).stdout
        pdir = ws.run_dir / _PATCHES
        pdir.mkdir(parents=True, exist_ok=True)
        refs = f"refs/orchestrator-saved/{sanitize(ws.run_id)}/{sanitize(task_id)}/"
        n = 1 + len(git.out(wt, "for-each-ref", "--format=%(refname)", refs).split())
        stem = f"{sanitize(task_id)}-{n}"
        (pdir / f"{stem}.patch").write_text(patch, encoding="utf-8", errors="surrogateescape")
        saved = git.out(
            wt, "commit-tree", tree, "-p", "HEAD", "-m", f"saved work of task {task_id} before retry {n}"
        )
        git.run(wt, "update-ref", f"{refs}{n}", saved)
        for e in git.status(wt):  # tracked sensitive files the reset would revert: keep a copy
            if not e.untracked and sens(e.path) and (wt / e.path).is_file():
                dest = pdir / f"{stem}.files" / e.path
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(wt / e.path, dest)
        tip = ws.tip()
        git.run(wt, "reset", "-q", "--hard", tip)
        keep = [a for pat in ws.cfg.sensitive_patterns for a in ("-e", pat)]
        git.run(wt, "clean", "-fdq", *keep)
        tree_state = tree_of(ws, task_id)
        if tree_state is not None:
            tree_state.base, tree_state.commit, tree_state.left = tip, None, []
        return truncate(text, max_bytes) if max_bytes is not None else text
