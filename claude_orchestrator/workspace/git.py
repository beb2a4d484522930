"""The git side of a run: a worktree and branch per task, scoped commits, one merge at a time.

``GitWorkspace.open()`` returns a :class:`GitWorkspace` in a git repository, else a
:class:`~claude_orchestrator.workspace.direct.NoGitWorkspace` that runs tasks in the directory itself (``is_git``
False, ``notice`` says why). Task branches are ``<branch_prefix>/<run>/<task>`` cut from the target
branch (the branch checked out at start, or ``--branch NAME``); merges fast-forward or make a merge
commit, and a target checked out in a working tree is moved with ``git merge --ff-only`` so that tree
follows and no local change is ever overwritten. Commits live in :mod:`.commits`, merges in
:mod:`.merging`, review views and retries in :mod:`.review`; git itself is run by :mod:`.gitops`.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from ..config import GitConfig
from ..errors import DirtyWorktreeError, RepoStateError, WorkspaceError
from . import commits, merging, paths, review
from .direct import NoGitWorkspace
from .gitops import DEFAULT, GitRunner, WorktreeInfo, open_repo
from .hardening import ConfigGuard
from .locks import clear_stale_locks, repo_lock
from .protocol import MergeResult

__all__ = ["DEFAULT_IGNORE_PATHS", "GitWorkspace", "MergeResult", "NoGitWorkspace"]

DEFAULT_IGNORE_PATHS: tuple[str, ...] = (".taskmaster/",)
_META = ".workspace.json"
_PENDING = "orchestrator-checkout-pending"


class GitWorkspace:
    """A git worktree and branch per task, merged into the target branch (see the module docstring)."""

    is_git = True

    def __init__(
        self,
        *,
        git: GitRunner,
        root: Path,
        repo_dir: Path,
        run_id: str,
        cfg: GitConfig,
        target_branch: str,
        start_branch: str | None,
        run_dir: Path,
        ignore_paths: tuple[str, ...],
        common_dir: Path,
        notice: str | None,
    ) -> None:
        self.git = git
        self.root = root
        self.repo_dir = repo_dir
        self.prefix = "" if repo_dir == self.root else repo_dir.relative_to(self.root).as_posix()
        self.run_id = run_id
        self.cfg = cfg
        self.target_branch = target_branch
        self.start_branch = start_branch
        self.run_dir = run_dir
        self.ignore_paths = ignore_paths
        self.notice = notice
        self.skipped: dict[str, list[str]] = {}  # task id -> files commit_task left out
        # (path, its text at HEAD or None) -> what a status commit holds for that engine file, or None to
        # leave it out; None here: commit the files as they are (the run sets it: its own changes only)
        self.status_text: Callable[[str, str | None], str | None] | None = None
        self.lock = repo_lock(common_dir)
        self._guard = threading.Lock()
        self._task_locks: dict[str, threading.Lock] = {}

    # ---- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        repo_dir: Path,
        run_id: str,
        cfg: GitConfig,
        *,
        target_branch: str | None = None,
        worktrees_dir: Path | None = None,
        ignore_paths: Sequence[str] = DEFAULT_IGNORE_PATHS,
    ) -> GitWorkspace | NoGitWorkspace:
        repo_dir = Path(repo_dir).resolve()
        found = _find_root(repo_dir, cfg)
        if isinstance(found, NoGitWorkspace):
            return found
        root = found
        common = Path(DEFAULT.out(root, "rev-parse", "--git-common-dir"))
        common = common if common.is_absolute() else (root / common).resolve()
        guard = ConfigGuard(
            root, common, lambda: DEFAULT.run(root, "config", "-z", "--show-origin", "--list").stdout
        )
        runner = GitRunner(open_repo(root), guard)
        prefix = "" if repo_dir == root else repo_dir.relative_to(root).as_posix() + "/"
        ignore = tuple(prefix + p for p in ignore_paths)
        base_dir = Path(worktrees_dir).resolve() if worktrees_dir else repo_dir / ".taskmaster" / "worktrees"
        run_dir = base_dir / paths.sanitize(run_id)
        with repo_lock(common):
            notices = _check_state(runner, root, common, ignore, paths.inside(base_dir, root), cfg)
            programs = guard.start()
            if programs:
                names = ", ".join(sorted({e.key for e in programs}))
                notices.append(
                    f"this repository's git config runs programs ({names}): kept as set before the run"
                )
            meta = paths.read_json(run_dir / _META)
            start = (
                runner.run(root, "symbolic-ref", "--short", "-q", "HEAD", check=False).stdout.strip() or None
            )
            target_branch = _choose_target(runner, root, target_branch, meta, start, notices)
            excl = paths.inside(base_dir, root)
            if excl:
                paths.add_exclude(common, "/" + excl)
            meta.update(
                run_id=run_id, target_branch=target_branch, start_branch=meta.get("start_branch", start)
            )
            meta.setdefault("tasks", {})
            paths.write_json(run_dir / _META, meta)
        return cls(
            git=runner,
            root=root,
            repo_dir=repo_dir,
            run_id=run_id,
            cfg=cfg,
            target_branch=target_branch,
            start_branch=meta.get("start_branch"),
            run_dir=run_dir,
            ignore_paths=ignore,
            common_dir=common,
            notice="; ".join(notices) or None,
        )

    # ---- per-task worktrees ----------------------------------------------------------------------

    def branch(self, task_id: str) -> str:
        return f"{self.cfg.branch_prefix}/{paths.sanitize(self.run_id)}/{paths.sanitize(str(task_id))}"

    def registered(self, task_id: str) -> WorktreeInfo | None:
        """The task's worktree as git lists it (never the user's main tree, even if it has the branch out)."""
        ref = f"refs/heads/{self.branch(task_id)}"
        found = (
            w for w in self.git.worktrees(self.root) if w.branch == ref and w.path.resolve() != self.root
        )
        return next(found, None)

    def worktree(self, task_id: str) -> Path:
        info = self.registered(task_id)
        if info is None or not info.path.is_dir():
            raise WorkspaceError(f"task {task_id} has no worktree: call prepare() first")
        return info.path

    def _cwd(self, wt: Path) -> Path:
        return wt / self.prefix if self.prefix else wt

    def prepare(self, task_id: str) -> Path:
        """Create (or on resume reuse) the task's worktree; returns the directory the task works in.

        The worktree is registered under the repository lock, but its files are checked out outside it,
        so many tasks can be prepared at once. A marker in its git dir makes an interrupted checkout
        be redone (nothing of the task exists before prepare returns)."""
        task_id = str(task_id)
        with self._guard:
            task_lock = self._task_locks.setdefault(task_id, threading.Lock())
        with task_lock:
            with self.lock:
                info = self.registered(task_id)
                path = (
                    info.path
                    if info is not None and info.path.is_dir()
                    else self._add_worktree(task_id, info)
                )
            gitdir = Path(self.git.out(path, "rev-parse", "--absolute-git-dir"))
            pending = gitdir / _PENDING
            # no index yet: `worktree add --no-checkout` was killed before the marker was written
            if pending.exists() or not (gitdir / "index").exists():
                self.git.run(path, "reset", "-q", "--hard", "HEAD")
                pending.unlink(missing_ok=True)
            return self._cwd(path)

    def _add_worktree(self, task_id: str, stale: WorktreeInfo | None) -> Path:
        """Register the task's worktree (files not checked out yet); under the repository lock."""
        git, branch = self.git, self.branch(task_id)
        if stale is not None:
            git.run(self.root, "worktree", "prune")
        path = self.run_dir / paths.sanitize(task_id)
        if path.exists() and any(path.iterdir()):
            if not (path / ".git").is_file():
                raise WorkspaceError(f"{path} exists and is not a worktree of this run: move it away")
            # a `git worktree add` of ours killed half-way: nothing of the task is in it yet
            shutil.rmtree(path)
            git.run(self.root, "worktree", "prune")
        if git.rev(self.root, f"refs/heads/{branch}") is not None:
            where = [str(path), branch]
        else:
            where = ["--no-track", "-b", branch, str(path), self.tip()]
        git.run(self.root, "worktree", "add", "-q", "--no-checkout", *where)
        (Path(git.out(path, "rev-parse", "--absolute-git-dir")) / _PENDING).touch()
        meta = paths.read_json(self.run_dir / _META)
        meta.setdefault("tasks", {})[task_id] = branch
        paths.write_json(self.run_dir / _META, meta)
        return path

    def existing_tasks(self) -> dict[str, Path]:
        """Tasks of this run that already have a worktree (for resuming after a crash)."""
        tasks = paths.read_json(self.run_dir / _META).get("tasks", {})
        found = {}
        for tid in tasks:
            info = self.registered(tid)
            if info is not None and info.path.is_dir():
                found[tid] = self._cwd(info.path)
        return found

    def has_changes(self, task_id: str) -> bool:
        """True when the task's worktree holds uncommitted changes (untracked files included)."""
        return bool(self.git.status(self.worktree(str(task_id))))

    @contextlib.contextmanager
    def task_slot(self, task_id: str, paths: Iterable[str] | None = None) -> Iterator[None]:
        """Worktrees isolate tasks, so any number may run at once."""
        yield

    def holder(self) -> Path | None:
        """The working tree that has the target branch checked out, if any."""
        ref = f"refs/heads/{self.target_branch}"
        w = next((w for w in self.git.worktrees(self.root) if w.branch == ref), None)
        return w.path.resolve() if w is not None else None

    def tip(self) -> str:
        """The target branch's commit now."""
        tip = self.git.rev(self.root, f"refs/heads/{self.target_branch}")
        if tip is None:
            raise WorkspaceError(f"branch {self.target_branch} no longer exists")
        return tip

    def base(self, wt: Path) -> str:
        """Where the task's branch in `wt` left the target branch."""
        return self.git.out(wt, "merge-base", self.tip(), "HEAD")

    def sensitive(self, path: str) -> bool:
        return paths.is_sensitive(path, self.cfg.sensitive_patterns)

    def skip(self, path: str) -> bool:
        """Never committed by a task: sensitive files and the engine's own files."""
        return self.sensitive(path) or paths.under(path, self.ignore_paths)

    # ---- commits, merges, views (see commits.py, merging.py, review.py) --------------------------

    def commit_task(self, task_id: str, title: str, *, allow_empty: bool = False) -> str | None:
        """One commit of the task's changes (worker commits squashed in), sensitive and engine files left
        out (listed in ``self.skipped[task_id]``). Returns the sha, or None when there was nothing."""
        return commits.commit_task(self, str(task_id), title, allow_empty=allow_empty)

    def commit_status(self) -> str | None:
        """Commit tracked engine files (tasks.json …) modified in the main tree, when the target branch is
        checked out there. Called before each merge; returns the sha or None."""
        return commits.commit_status(self)

    def merge_task(self, task_id: str, title: str, *, legacy: bool | None = None) -> MergeResult:
        """Merge the task's branch into the target branch (fast-forward or merge commit), one at a time."""
        return merging.merge_task(self, str(task_id), title, legacy=legacy)

    def reset_to_base(self, task_id: str, *, max_bytes: int | None = None) -> str:
        """Re-cut the task's branch on the target's current tip for a retry. Its previous work is saved
        first (a patch file under the run dir and a ref refs/orchestrator-saved/...); returns the patch."""
        return review.reset_to_base(self, str(task_id), max_bytes=max_bytes)

    def changed_files(self, task_id: str) -> list[str]:
        """Files the task changed against its base: committed, staged, unstaged and untracked (repo paths)."""
        return review.changed_files(self, str(task_id))

    def diff(self, task_id: str, max_bytes: int = 200_000) -> str:
        """The task's diff against its base for review; sensitive files are named but never shown."""
        return review.diff(self, str(task_id), max_bytes)

    # ---- cleanup ---------------------------------------------------------------------------------

    def cleanup(self, task_id: str, *, keep_branch: bool = True) -> bool:
        """Remove the task's worktree unless it holds uncommitted work (then keep it and return False).
        With keep_branch=False the branch goes too, but only once it is merged into the target."""
        task_id = str(task_id)
        with self.lock:
            info = self.registered(task_id)
            if info is not None and info.path.is_dir():
                if self.git.status(info.path):
                    return False
                self.git.run(self.root, "worktree", "remove", str(info.path))
            branch = self.branch(task_id)
            tip = self.git.rev(self.root, f"refs/heads/{branch}")
            if not keep_branch and tip is not None and self.git.is_ancestor(self.root, tip, self.tip()):
                self.git.run(self.root, "branch", "-q", "-D", branch)
            return True

    def finish(self) -> None:
        """Prune stale worktree records; drop the run folder when nothing is left in it."""
        with self.lock:
            self.git.run(self.root, "worktree", "prune", check=False)
            if self.run_dir.is_dir() and not any(p.name != _META for p in self.run_dir.iterdir()):
                shutil.rmtree(self.run_dir, ignore_errors=True)
        if self.git.repo is not None:
            self.git.repo.close()


# ---- opening, step by step -------------------------------------------------------------------------


def _find_root(repo_dir: Path, cfg: GitConfig) -> Path | NoGitWorkspace:
    """The top of the repository holding `repo_dir`, or the NoGitWorkspace to use instead (and why)."""
    if not repo_dir.is_dir():
        raise RepoStateError(f"{repo_dir}: not a directory")
    if not cfg.use_worktrees:
        return NoGitWorkspace(repo_dir, "git.use_worktrees is off: tasks run in the working directory")
    if shutil.which("git") is None:
        return NoGitWorkspace(repo_dir, "git is not installed: tasks run in the working directory")
    proc = DEFAULT.run(repo_dir, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        return NoGitWorkspace(repo_dir, f"{repo_dir} is not in a git repository: tasks run in it directly")
    return Path(proc.stdout.strip()).resolve()


def _check_state(
    git: GitRunner, root: Path, common: Path, ignore: tuple[str, ...], excl: str | None, cfg: GitConfig
) -> list[str]:
    """Refuse a repository a run cannot start from; clear stale git locks (returns the notice)."""
    cleared = clear_stale_locks(common, [root, *(w.path for w in git.worktrees(root))])
    if git.rev(root, "HEAD") is None:
        raise RepoStateError(f"{root} has no commit yet: make a first commit before running tasks")
    if git.rev(root, "MERGE_HEAD") is not None:
        raise DirtyWorktreeError(f"a merge is in progress in {root}: finish it or run 'git merge --abort'")
    dirty = sorted(
        {
            p
            for e in git.status(root)
            for p in e.paths()
            if not paths.under(p, ignore) and not (excl and paths.under(p, [excl]))
        }
    )
    if dirty:
        raise DirtyWorktreeError(
            f"uncommitted changes in {root}: {paths.listing(dirty)}; commit or stash them "
            "(or add them to .gitignore) before running",
            paths=dirty,
        )
    if cfg.auto_commit and not git.ok(root, "var", "GIT_AUTHOR_IDENT"):
        raise RepoStateError(
            "git does not know who you are: set git config user.name and user.email (auto_commit is on)"
        )
    return [f"removed stale git lock(s) left by a killed git: {', '.join(cleared)}"] if cleared else []


def _choose_target(
    git: GitRunner,
    root: Path,
    wanted: str | None,
    meta: dict[str, object],
    start: str | None,
    notices: list[str],
) -> str:
    """The branch tasks merge into: --branch (created when missing), a resumed run's, or the one checked out."""
    if wanted:
        if not git.ok(root, "check-ref-format", "--branch", wanted):
            raise RepoStateError(f"invalid branch name: {wanted!r}")
        if git.rev(root, f"refs/heads/{wanted}") is None:
            git.run(root, "branch", "--no-track", wanted, "HEAD")
            notices.append(f"created branch {wanted} from {start or 'HEAD'}; tasks merge into it")
        return wanted
    recorded = meta.get("target_branch")
    if recorded and git.rev(root, f"refs/heads/{recorded}"):
        return str(recorded)
    if start is None:
        raise RepoStateError("HEAD is detached: check out a branch or pass --branch NAME")
    return start
