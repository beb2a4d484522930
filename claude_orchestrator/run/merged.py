"""Work that is already merged is done: a unit whose commit the target branch already contains never
runs again.

Two ways a unit's work can be merged while tasks.json does not say done: a run killed between a merge and
its record (the resumed run finds the unit's branch ending in the unit's own commit, inside the target),
and a finished task set back to pending by hand (its metadata names the commit it was merged as). Running
either again would change nothing, and "no changes, twice" would fail it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..workspace import gitops

_SHA = re.compile(r"[0-9a-f]{7,64}")


def _recorded_commit(task: Mapping[str, Any]) -> str | None:
    meta = task.get("metadata")
    orch = meta.get("orchestrator") if isinstance(meta, dict) else None
    commit = orch.get("commit") if isinstance(orch, dict) else None
    return commit if isinstance(commit, str) and _SHA.fullmatch(commit) else None


def merged_commit(ws: Any, unit_id: str, task: Mapping[str, Any], tip: str) -> str | None:
    """The commit holding the unit's work if the target branch (at `tip`) contains it, else None. Branches
    are read through the workspace (from git's files where it can): a unit that never ran costs no git
    process."""
    recorded = _recorded_commit(task)
    if recorded is not None:
        full = gitops.rev(ws.root, recorded)
        if full is not None and gitops.is_ancestor(ws.root, full, tip):
            return full
    branch_tip = ws.branch_tip(unit_id)
    if branch_tip is None or not gitops.is_ancestor(ws.root, branch_tip, tip):
        return None
    subject = gitops.out(ws.root, "log", "-1", "--format=%s", branch_tip)
    own = f"{ws.cfg.commit_message_prefix} Task {unit_id}: "
    return branch_tip if subject.startswith(own) else None


def already_merged(
    ws: Any, unit_ids: Iterable[str], tasks: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """Unit id -> commit, for the units among `unit_ids` whose work the target branch already holds."""
    if not getattr(ws, "is_git", False):
        return {}
    tip = ws.ref(f"refs/heads/{ws.target_branch}")
    if tip is None:
        return {}
    found = {}
    for uid in unit_ids:
        commit = merged_commit(ws, uid, tasks.get(uid, {}), tip)
        if commit is not None:
            found[uid] = commit
    return found
