"""Best of N in a git workspace: the attempts not kept are dropped, work and all, and the kept attempt's
worktree and branch become the task's own (so its commit, review and merge are the task's)."""

from __future__ import annotations

from .git import _META, GitWorkspace
from .paths import read_json, write_json


def discard(ws: GitWorkspace, task_id: str) -> None:
    """Remove the task's worktree and delete its branch, merged or not."""
    task_id = str(task_id)
    with ws.lock:
        info = ws.registered(task_id)
        if info is not None:
            ws.git.run(ws.root, "worktree", "remove", "--force", "--force", str(info.path), check=False)
            ws.git.run(ws.root, "worktree", "prune", check=False)
        ws.git.run(ws.root, "branch", "-q", "-D", ws.branch(task_id), check=False)
        _note(ws, task_id, None)


def adopt(ws: GitWorkspace, task_id: str, as_id: str) -> None:
    """Give `task_id`'s worktree and branch to `as_id`, replacing whatever `as_id` had."""
    discard(ws, as_id)
    with ws.lock:
        ws.git.run(ws.root, "branch", "-q", "-m", ws.branch(task_id), ws.branch(as_id))
        _note(ws, str(task_id), None)
        _note(ws, str(as_id), ws.branch(as_id))


def _note(ws: GitWorkspace, task_id: str, branch: str | None) -> None:
    meta = read_json(ws.run_dir / _META)
    tasks = meta.setdefault("tasks", {})
    if branch is None:
        tasks.pop(task_id, None)
    else:
        tasks[task_id] = branch
    write_json(ws.run_dir / _META, meta)
