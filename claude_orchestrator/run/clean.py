"""`claude-orchestrator clean`: the worktrees and task branches that runs leave behind, removed.

A run works on `<branch_prefix>/<run>/<task>` branches in worktrees under `.taskmaster/worktrees/<run>/`;
it removes a task's worktree once the task is merged and keeps its branch. A stopped, failed or killed run
leaves more. `clean` takes away what belongs to runs that are not going on (never a live one): worktrees
with no uncommitted changes, and branches whose work is merged into the run's target branch. Work that is
not merged anywhere (a failed task's branch, an interrupted task's uncommitted changes) is kept unless
`force`, and listed. The run folders (events, transcripts, summaries) stay: they are the runs' history.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RepoStateError
from ..workspace import gitops
from ..workspace.gitops import git
from ..workspace.locks import repo_lock
from ..workspace.paths import read_json
from .control import is_live, run_meta
from .folder import run_dir

WORKTREES = Path(".taskmaster") / "worktrees"


@dataclass
class CleanReport:
    worktrees: list[str] = field(default_factory=list)  # removed (paths)
    branches: list[str] = field(default_factory=list)  # removed
    kept: list[str] = field(default_factory=list)  # "<what>: <why>"
    live: list[str] = field(default_factory=list)  # run ids left alone: going on


def _runs_of(root: Path, prefix: str) -> dict[str, dict[str, list[str]]]:
    """run id -> {"branches": [...], "worktrees": [...]} for everything under the branch prefix."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"branches": [], "worktrees": []})
    heads = f"refs/heads/{prefix}/"
    refs = git(root, "for-each-ref", "--format=%(refname)", heads).stdout.split()
    for ref in refs:
        run = ref[len(heads) :].split("/", 1)[0]
        found[run]["branches"].append(ref[len("refs/heads/") :])
    for w in gitops.worktrees(root)[1:]:
        if w.branch and w.branch.startswith(heads):
            run = w.branch[len(heads) :].split("/", 1)[0]
            found[run]["worktrees"].append(str(w.path))
    folder = root / WORKTREES
    for d in folder.iterdir() if folder.is_dir() else []:
        if d.is_dir():
            found[d.name]  # noqa: B018 (a run folder with nothing registered: removed if empty)
    return found


def _target(root: Path, run: str) -> str | None:
    meta = run_meta(run_dir(root, run)) if run else {}
    ws = read_json(root / WORKTREES / run / ".workspace.json")
    target = meta.get("target_branch") or ws.get("target_branch")
    return str(target) if target else None


def clean(
    root: Path, *, branch_prefix: str = "orchestrator", force: bool = False, dry_run: bool = False
) -> CleanReport:
    """Remove the worktrees and branches of runs that are not going on (see the module docstring)."""
    top = gitops.git(root, "rev-parse", "--show-toplevel", check=False).stdout.strip()
    if not top:
        raise RepoStateError(
            f"{root} is not in a git repository: there are no worktrees or branches to clean"
        )
    repo = Path(top)
    report = CleanReport()
    common = Path(gitops.out(repo, "rev-parse", "--git-common-dir"))
    common = common if common.is_absolute() else (repo / common).resolve()
    with repo_lock(common):
        for run, things in sorted(_runs_of(root, branch_prefix).items()):
            if (run_dir(root, run)).is_dir() and is_live(run_dir(root, run)):
                report.live.append(run)
                continue
            for path in things["worktrees"]:
                _worktree(repo, Path(path), report, force=force, dry_run=dry_run)
            target = _target(root, run)
            tip = gitops.rev(repo, f"refs/heads/{target}") if target else None
            for branch in things["branches"]:
                _branch(repo, branch, tip, target, report, force=force, dry_run=dry_run)
            _folder(root / WORKTREES / run, dry_run)
        if not dry_run:
            git(repo, "worktree", "prune", check=False)
    return report


def _worktree(repo: Path, path: Path, report: CleanReport, *, force: bool, dry_run: bool) -> None:
    if path.is_dir() and gitops.status(path) and not force:
        report.kept.append(f"{path}: uncommitted changes (clean --force removes them)")
        return
    if not dry_run:
        # twice: also when left locked (a run killed before the worktree's checkout was done)
        git(repo, "worktree", "remove", "--force", "--force", str(path), check=False)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
    report.worktrees.append(str(path))


def _branch(
    repo: Path,
    branch: str,
    tip: str | None,
    target: str | None,
    report: CleanReport,
    *,
    force: bool,
    dry_run: bool,
) -> None:
    mine = gitops.rev(repo, f"refs/heads/{branch}")
    merged = mine is not None and tip is not None and gitops.is_ancestor(repo, mine, tip)
    if not merged and not force:
        where = f"not merged into {target}" if target else "its run's target branch is unknown"
        report.kept.append(f"{branch}: {where} (clean --force removes it)")
        return
    holders = [w for w in gitops.worktrees(repo) if w.branch == f"refs/heads/{branch}"]
    if any(str(w.path) not in report.worktrees for w in holders):
        report.kept.append(f"{branch}: checked out in a worktree")
        return
    if not dry_run:
        git(repo, "branch", "-q", "-D", branch)
    report.branches.append(branch)


def _folder(path: Path, dry_run: bool) -> None:
    """The run's worktrees folder, once nothing but its bookkeeping is left in it."""
    if dry_run or not path.is_dir():
        return
    if not any(p.name != ".workspace.json" for p in path.iterdir()):
        shutil.rmtree(path, ignore_errors=True)
