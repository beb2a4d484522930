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
from . import commits, merging, paths, review, spares, worktrees
from .ahead import Ahead
from .direct import NoGitWorkspace
from .gitops import DEFAULT, GitRunner, open_repo
from .hardening import ConfigGuard
from .locks import clear_stale_locks, repo_lock
from .protocol import MergeResult
from .refs import HeadInfo, RefReader, Unknown
from .worktrees import META, TaskTree

__all__ = ["DEFAULT_IGNORE_PATHS", "GitWorkspace", "MergeResult", "NoGitWorkspace"]

DEFAULT_IGNORE_PATHS: tuple[str, ...] = (".taskmaster/",)


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
        self.lock = repo_lock(common_dir)  # ref moves of the target branch and worktree registration
        self.refs = RefReader(common_dir)
        self.trees: dict[str, TaskTree] = {}  # task id -> what this process knows of its worktree
        self.spares: list[Path] = []  # clean worktrees waiting for their next task (spares.py)
        self.spared: dict[str, TaskTree] = {}  # a task's record, its worktree a spare before its merge
        self.moves = threading.Lock()  # worktree moves and prunes (spares.py)
        self.ahead: Ahead | None = None  # worktrees made ahead for the units next in line (ahead.py)
        self.guard = threading.Lock()  # trees, the run's record, the task locks
        self.engine_tracked: bool | None = None  # any engine file (tasks.json …) tracked? (asked once)
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
            meta = paths.read_json(run_dir / META)
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
            paths.write_json(run_dir / META, meta)
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

    def task_lock(self, task_id: str) -> threading.Lock:
        """Held while one task's worktree is made, committed, reset or removed."""
        with self.guard:
            return self._task_locks.setdefault(task_id, threading.Lock())

    def worktree(self, task_id: str) -> Path:
        tree = worktrees.tree_of(self, task_id)
        if tree is None:
            raise WorkspaceError(f"task {task_id} has no worktree: call prepare() first")
        return tree.path

    def cwd(self, wt: Path) -> Path:
        """The directory a task works in: its worktree, or the same sub-folder the run started in."""
        return wt / self.prefix if self.prefix else wt

    def prepare(self, task_id: str) -> Path:
        """Create (or on resume reuse) the task's worktree; returns the directory the task works in.

        The worktree is registered under the repository lock, but its files are checked out outside it,
        so many tasks can be prepared at once. It stays locked (git's worktree lock) until checked out, so
        an interrupted checkout is redone (nothing of the task exists before prepare returns)."""
        return worktrees.prepare(self, str(task_id))

    def prepare_ahead(self, task_ids: list[str]) -> None:
        """Make these tasks' worktrees in the background, ahead of their `prepare` (see ahead.py)."""
        if self.ahead is None:
            self.ahead = Ahead(self)
        self.ahead.want([str(t) for t in task_ids])

    def existing_tasks(self) -> dict[str, Path]:
        """Tasks of this run that already have a worktree (for resuming after a crash)."""
        return worktrees.existing(self)

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
        if self.refs.usable:
            heads = self.refs.heads(self.root)
        else:
            heads = [HeadInfo(w.path, w.branch) for w in self.git.worktrees(self.root)]
        w = next((w for w in heads if w.branch == ref), None)
        return w.path.resolve() if w is not None else None

    def tip(self) -> str:
        """The target branch's commit now."""
        tip = self.ref(f"refs/heads/{self.target_branch}")
        if tip is None:
            raise WorkspaceError(f"branch {self.target_branch} no longer exists")
        return tip

    def branch_tip(self, task_id: str) -> str | None:
        """The commit of the task's branch, or None when it has none."""
        return self.ref(f"refs/heads/{self.branch(task_id)}")

    def ref(self, ref: str) -> str | None:
        """The commit `ref` points at (None: no such ref), read from git's files where it can be."""
        try:
            return self.refs.read(ref)
        except Unknown:
            return self.git.rev(self.root, ref)

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

    def merge_task(
        self,
        task_id: str,
        title: str,
        *,
        legacy: bool | None = None,
        commit_status: bool = True,
        count_left: bool = True,
    ) -> MergeResult:
        """Merge the task's branch into the target branch (fast-forward or merge commit), one at a time.
        `commit_status`: commit the engine's files first; `count_left`: the description says how many
        files its worktree still holds uncommitted."""
        return merging.merge_task(
            self, str(task_id), title, legacy=legacy, commit_status=commit_status, count_left=count_left
        )

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
        return worktrees.cleanup(self, str(task_id), keep_branch=keep_branch)

    def finish(self) -> None:
        """Remove the spare worktrees, prune stale worktree records; drop the run folder when nothing is left
        in it."""
        if self.ahead is not None:
            self.ahead.close()
        spares.drop_all(self)
        with self.lock, self.moves:
            self.git.run(self.root, "worktree", "prune", check=False)
            if self.run_dir.is_dir() and not any(p.name != META for p in self.run_dir.iterdir()):
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
