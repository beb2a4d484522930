"""Commits of a :class:`~.git.GitWorkspace`: one commit per task in its worktree, and the status commits of
the engine's own files (tasks.json …) in the main tree."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WorkspaceError
from .gitops import StatusEntry
from .hardening import DIFF_ARGS
from .paths import listing, under
from .refs import worktree_git_dir
from .worktrees import TaskTree, tree_of

if TYPE_CHECKING:
    from .git import GitWorkspace

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}


def commit_task(ws: GitWorkspace, task_id: str, title: str, *, allow_empty: bool = False) -> str | None:
    """One commit of the task's changes (worker commits squashed in), sensitive and engine files left out
    (listed in ``ws.skipped[task_id]``). Returns the sha, or None when there was nothing."""
    with ws.task_lock(task_id):
        tree = tree_of(ws, task_id)
        if tree is None:
            raise WorkspaceError(f"task {task_id} has no worktree: call prepare() first")
        wt = tree.path
        head = head_of(ws, wt)
        base = head if tree.base is not None and head == tree.base else ws.base(wt)
        entries = ws.git.status(wt)
        if head == base and not allow_empty and all(e.code[0] in " ?" for e in entries):
            sha = _commit_changes(ws, task_id, title, tree, entries)  # nothing staged or committed yet
        else:
            sha = _squash(ws, task_id, title, wt, base, head, entries, allow_empty)
        tree.commit, tree.left = sha, ws.skipped[task_id]
        if sha is not None:
            tree.base = base
        return sha


def _commit_changes(
    ws: GitWorkspace, task_id: str, title: str, tree: TaskTree, entries: list[StatusEntry]
) -> str | None:
    """The usual case: the worker only changed files. Stage what is to be committed and commit it."""
    candidates = sorted({p for e in entries for p in e.paths()})
    to_add = [p for p in candidates if not ws.skip(p)]
    ws.skipped[task_id] = sorted(p for p in candidates if ws.skip(p))
    if not to_add:
        return None
    add = ("add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul")
    ws.git.run(tree.path, *add, input="\0".join(to_add), env=_LITERAL)
    message = _message(ws.cfg.commit_message_prefix, task_id, title, to_add, ws.skipped[task_id], [])
    ws.git.run(tree.path, "commit", "-q", "--allow-empty", "-m", message)
    return head_of(ws, tree.path)


def _squash(
    ws: GitWorkspace,
    task_id: str,
    title: str,
    wt: Path,
    base: str,
    head: str,
    entries: list[StatusEntry],
    allow_empty: bool,
) -> str | None:
    """The general case: worker commits (squashed into one), staged files, an empty commit asked for."""
    git = ws.git
    subjects = git.out(wt, "log", "--format=%s", f"{base}..{head}").splitlines() if head != base else []
    if head != base:
        git.run(wt, "reset", "-q", "--soft", base)
        entries = git.status(wt)
    candidates = sorted({p for e in entries for p in e.paths()})
    to_add = [p for p in candidates if not ws.skip(p)]
    if to_add:
        add = ("add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul")
        git.run(wt, *add, input="\0".join(to_add), env=_LITERAL)
    names = git.out(wt, "diff", *DIFF_ARGS, "--cached", "--name-only", "-z", "--no-renames", base)
    staged = [p for p in names.split("\0") if p]
    drop = [p for p in staged if ws.skip(p)]
    if drop:
        git.run(wt, "reset", "-q", base, "--", *drop, env=_LITERAL)
    staged = [p for p in staged if p not in drop]
    skipped = sorted({p for p in candidates + drop if ws.skip(p)})
    ws.skipped[task_id] = skipped
    if not staged and not allow_empty:
        return None
    mine = f"{ws.cfg.commit_message_prefix} Task {task_id}: "
    same = len(subjects) == 1 and subjects[0].startswith(mine) and not allow_empty
    if same and git.out(wt, "write-tree") == git.out(wt, "rev-parse", f"{head}^{{tree}}"):
        git.run(wt, "reset", "-q", "--soft", head)  # already committed as it is: keep that commit
        return None
    message = _message(ws.cfg.commit_message_prefix, task_id, title, staged, skipped, subjects)
    git.run(wt, "commit", "-q", "--allow-empty", "-m", message)
    return head_of(ws, wt)


def head_of(ws: GitWorkspace, wt: Path) -> str:
    """The commit checked out in the worktree `wt`."""
    git_dir = worktree_git_dir(wt)
    sha = ws.refs.head(git_dir)[1] if git_dir is not None else None
    return sha or ws.git.out(wt, "rev-parse", "HEAD")


def _message(
    prefix: str, task_id: str, title: str, staged: list[str], skipped: list[str], subjects: list[str]
) -> str:
    title_line = " ".join(title.split()) or "(untitled)"
    more = f" (+{len(staged) - 20} more)" if len(staged) > 20 else ""
    body = [f"Files: {', '.join(staged[:20])}{more}"]
    if skipped:
        body.append(f"Not committed (sensitive or engine files): {listing(skipped)}")
    if subjects:
        body.append("Worker commits: " + "; ".join(reversed(subjects)))
    return f"{prefix} Task {task_id}: {title_line}\n\n" + "\n".join(body)


def commit_status(ws: GitWorkspace) -> str | None:
    """Commit tracked engine files (tasks.json …) modified in the main tree, when the target branch is
    checked out there; returns the sha or None. Nothing to do (and no git process) when no engine file
    was tracked when the run started."""
    with ws.lock:
        if ws.holder() != ws.root:
            return None
        if ws.engine_tracked is None:  # engine files the run found untracked are never committed by it
            listed = ws.git.run(ws.root, "ls-files", "-z", "--", *ws.ignore_paths, env=_LITERAL).stdout
            ws.engine_tracked = bool(listed.strip("\0"))
        if not ws.engine_tracked:
            return None
        entries = ws.git.status(ws.root, *ws.ignore_paths, untracked=False)
        changed = {p for e in entries for p in e.paths() if under(p, ws.ignore_paths)}
        if not changed:
            return None
        texts: dict[str, str] = {}
        if ws.status_text is not None:  # the run's own changes only, rebuilt on the committed version
            head = ws.git.out(ws.root, "rev-parse", "HEAD")
            for p in sorted(changed):
                shown = ws.git.run(ws.root, "show", f"{head}:{p}", check=False)
                text = ws.status_text(p, shown.stdout if shown.returncode == 0 else None)
                if text is not None:
                    texts[p] = text
            changed = set(texts)
            if not changed:
                return None
        message = f"{ws.cfg.commit_message_prefix} Update task status"
        return _commit_exact(ws, sorted(changed), message, texts)


def _commit_exact(
    ws: GitWorkspace, paths: list[str], message: str, texts: dict[str, str] | None = None
) -> str | None:
    """Commit `paths` of the main tree as they are at this instant (or, for a path in `texts`, that text), by
    plumbing: each file is read once (``hash-object -w``), and that very blob goes into the commit and into
    the index. A file rewritten meanwhile cannot make the index fall behind HEAD (``git commit --only`` reads
    it twice)."""
    git, root = ws.git, ws.root
    head = git.out(root, "rev-parse", "HEAD")
    modes = {}
    for line in git.out(root, "ls-tree", "-z", head, "--", *paths, env=_LITERAL).split("\0"):
        meta, _, name = line.partition("\t")
        if name:
            modes[name] = meta.split()[0]
    entries = []
    for p in paths:
        f = root / p
        if texts and p in texts:
            blob = git.run(root, "hash-object", "-w", "--stdin", input=texts[p]).stdout.strip()
            entries.append(f"{modes.get(p, '100644')} {blob}\t{p}")
        elif f.is_file() and not f.is_symlink():
            blob = git.out(root, "hash-object", "-w", "--", p, env=_LITERAL)
            entries.append(f"{modes.get(p, '100644')} {blob}\t{p}")
        else:
            entries.append(f"0 {'0' * len(head)}\t{p}")  # deleted: drop it from the tree
    info = "\0".join(entries) + "\0"
    with tempfile.TemporaryDirectory(prefix="co-status-") as d:
        env = {"GIT_INDEX_FILE": str(Path(d) / "index")}
        git.run(root, "read-tree", head, env=env)
        git.run(root, "update-index", "-z", "--index-info", input=info, env=env)
        tree = git.out(root, "write-tree", env=env)
    if tree == git.out(root, "rev-parse", f"{head}^{{tree}}"):
        git.run(root, "update-index", "-z", "--index-info", input=info)  # index catches up with HEAD
        return None
    commit = git.out(root, "commit-tree", tree, "-p", head, "-m", message)
    git.run(root, "update-ref", "-m", message, f"refs/heads/{ws.target_branch}", commit, head)
    git.run(root, "update-index", "-z", "--index-info", input=info)
    return commit
