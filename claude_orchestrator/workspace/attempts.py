"""Best of N in a git workspace: the attempts not kept are dropped, work and all, and the kept attempt's
worktree and branch become the task's own (so its commit, review and merge are the task's)."""

from __future__ import annotations

from .git import GitWorkspace
from .paths import read_json, write_json
from .worktrees import META, tree_of


def discard(ws: GitWorkspace, task_id: str) -> None:
    """Remove the task's worktree and delete its branch, merged or not."""
    task_id = str(task_id)
    with ws.lock:
        tree = tree_of(ws, task_id)
        if tree is not None:
            with ws.moves:
                ws.git.run(ws.root, "worktree", "remove", "--force", "--force", str(tree.path), check=False)
                ws.git.run(ws.root, "worktree", "prune", check=False)
        with ws.guard:
            ws.trees.pop(task_id, None)
        ws.git.run(ws.root, "branch", "-q", "-D", ws.branch(task_id), check=False)
        _note(ws, task_id, None)


def adopt(ws: GitWorkspace, task_id: str, as_id: str) -> None:
    """Give `task_id`'s worktree and branch to `as_id`, replacing whatever `as_id` had."""
    discard(ws, as_id)
    with ws.lock:
        ws.git.run(ws.root, "branch", "-q", "-m", ws.branch(task_id), ws.branch(as_id))
        with ws.guard:  # the same worktree, on the renamed branch
            tree = ws.trees.pop(str(task_id), None)
            if tree is not None:
                ws.trees[str(as_id)] = tree
        _note(ws, str(task_id), None)
        _note(ws, str(as_id), ws.branch(as_id))


def _note(ws: GitWorkspace, task_id: str, branch: str | None) -> None:
    meta = read_json(ws.run_dir / META)
    tasks = meta.setdefault("tasks", {})
    if branch is None:
        tasks.pop(task_id, None)
    else:
        tasks[task_id] = branch
    write_json(ws.run_dir / META, meta)
