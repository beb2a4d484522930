"""The git side of a run: a worktree and branch per task, scoped commits, one merge at a time.

``Workspace.open()`` returns a :class:`Workspace` in a git repository, else a
:class:`~claude_orchestrator.workspace.direct.NoGitWorkspace` that runs tasks in the directory itself (``is_git``
False, ``notice`` says why). Task branches are ``<branch_prefix>/<run>/<task>`` cut from the target
branch (the branch checked out at start, or ``--branch NAME``); merges fast-forward or make a merge
commit, and a target checked out in a working tree is moved with ``git merge --ff-only`` so that tree
follows and no local change is ever overwritten. Low-level git calls live in :mod:`.gitops`.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ..config import GitConfig
from ..errors import DirtyWorktreeError, RepoStateError, WorkspaceError
from . import gitops
from .direct import NoGitWorkspace
from .gitops import MergeResult, git, listing, out

__all__ = ["DEFAULT_IGNORE_PATHS", "MergeResult", "NoGitWorkspace", "Workspace"]

DEFAULT_IGNORE_PATHS: tuple[str, ...] = (".taskmaster/",)
_META = ".workspace.json"
_PATCHES = ".patches"
_PENDING = "orchestrator-checkout-pending"


class Workspace:
    is_git = True

    def __init__(
        self,
        *,
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
        self.root = root
        self.repo_dir = repo_dir
        self.prefix = "" if repo_dir == root else repo_dir.relative_to(root).as_posix()
        self.run_id = run_id
        self.cfg = cfg
        self.target_branch = target_branch
        self.start_branch = start_branch
        self.run_dir = run_dir
        self.ignore_paths = ignore_paths
        self.notice = notice
        self.skipped: dict[str, list[str]] = {}  # task id -> files commit_task left out
        self._lock = gitops.repo_lock(common_dir)
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
    ) -> Workspace | NoGitWorkspace:
        repo_dir = Path(repo_dir).resolve()
        if not repo_dir.is_dir():
            raise RepoStateError(f"{repo_dir}: not a directory")
        if not cfg.use_worktrees:
            return NoGitWorkspace(repo_dir, "git.use_worktrees is off: tasks run in the working directory")
        if shutil.which("git") is None:
            return NoGitWorkspace(repo_dir, "git is not installed: tasks run in the working directory")
        proc = git(repo_dir, "rev-parse", "--show-toplevel", check=False)
        if proc.returncode != 0 or not proc.stdout.strip():
            return NoGitWorkspace(
                repo_dir, f"{repo_dir} is not in a git repository: tasks run in it directly"
            )
        root = Path(proc.stdout.strip()).resolve()
        common = Path(out(root, "rev-parse", "--git-common-dir"))
        common = common if common.is_absolute() else (root / common).resolve()
        prefix = "" if repo_dir == root else repo_dir.relative_to(root).as_posix() + "/"
        ignore = tuple(prefix + p for p in ignore_paths)
        base_dir = Path(worktrees_dir).resolve() if worktrees_dir else repo_dir / ".taskmaster" / "worktrees"
        run_dir = base_dir / gitops.sanitize(run_id)
        with gitops.repo_lock(common):
            roots = [root, *(w.path for w in gitops.worktrees(root))]
            cleared = gitops.clear_stale_locks(common, roots)
            if gitops.rev(root, "HEAD") is None:
                raise RepoStateError(f"{root} has no commit yet: make a first commit before running tasks")
            if gitops.rev(root, "MERGE_HEAD") is not None:
                raise DirtyWorktreeError(
                    f"a merge is in progress in {root}: finish it or run 'git merge --abort'"
                )
            excl = gitops.inside(base_dir, root)
            dirty = sorted(
                {
                    p
                    for e in gitops.status(root)
                    for p in e.paths()
                    if not gitops.under(p, ignore) and not (excl and gitops.under(p, [excl]))
                }
            )
            if dirty:
                raise DirtyWorktreeError(
                    f"uncommitted changes in {root}: {listing(dirty)}; commit or stash them "
                    "(or add them to .gitignore) before running",
                    paths=dirty,
                )
            if cfg.auto_commit and not gitops.ok(root, "var", "GIT_AUTHOR_IDENT"):
                raise RepoStateError(
                    "git does not know who you are: set git config user.name and user.email (auto_commit is on)"
                )
            meta = gitops.read_json(run_dir / _META)
            start = git(root, "symbolic-ref", "--short", "-q", "HEAD", check=False).stdout.strip() or None
            notices = (
                [f"removed stale git lock(s) left by a killed git: {', '.join(cleared)}"] if cleared else []
            )
            if target_branch:
                if not gitops.ok(root, "check-ref-format", "--branch", target_branch):
                    raise RepoStateError(f"invalid branch name: {target_branch!r}")
                if gitops.rev(root, f"refs/heads/{target_branch}") is None:
                    git(root, "branch", "--no-track", target_branch, "HEAD")
                    notices.append(
                        f"created branch {target_branch} from {start or 'HEAD'}; tasks merge into it"
                    )
            elif meta.get("target_branch") and gitops.rev(root, f"refs/heads/{meta['target_branch']}"):
                target_branch = str(meta["target_branch"])
            elif start is None:
                raise RepoStateError("HEAD is detached: check out a branch or pass --branch NAME")
            else:
                target_branch = start
            if excl:
                gitops.add_exclude(common, "/" + excl)
            meta.update(
                run_id=run_id, target_branch=target_branch, start_branch=meta.get("start_branch", start)
            )
            meta.setdefault("tasks", {})
            gitops.write_json(run_dir / _META, meta)
        return cls(
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
        return f"{self.cfg.branch_prefix}/{gitops.sanitize(self.run_id)}/{gitops.sanitize(str(task_id))}"

    def _registered(self, task_id: str) -> gitops.WorktreeInfo | None:
        ref = f"refs/heads/{self.branch(task_id)}"  # never the user's main tree, even if it has it out
        found = (w for w in gitops.worktrees(self.root) if w.branch == ref and w.path.resolve() != self.root)
        return next(found, None)

    def _wt(self, task_id: str) -> Path:
        info = self._registered(task_id)
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
        branch = self.branch(task_id)
        with self._guard:
            task_lock = self._task_locks.setdefault(task_id, threading.Lock())
        with task_lock:
            with self._lock:
                info = self._registered(task_id)
                if info is not None and info.path.is_dir():
                    path = info.path
                else:
                    if info is not None:
                        git(self.root, "worktree", "prune")
                    path = self.run_dir / gitops.sanitize(task_id)
                    if path.exists() and any(path.iterdir()):
                        if not (path / ".git").is_file():
                            raise WorkspaceError(
                                f"{path} exists and is not a worktree of this run: move it away"
                            )
                        # a `git worktree add` of ours killed half-way: nothing of the task is in it yet
                        shutil.rmtree(path)
                        git(self.root, "worktree", "prune")
                    if gitops.rev(self.root, f"refs/heads/{branch}") is not None:
                        where = [str(path), branch]
                    else:
                        where = ["--no-track", "-b", branch, str(path), self._tip()]
                    git(self.root, "worktree", "add", "-q", "--no-checkout", *where)
                    (Path(out(path, "rev-parse", "--absolute-git-dir")) / _PENDING).touch()
                    meta = gitops.read_json(self.run_dir / _META)
                    meta.setdefault("tasks", {})[task_id] = branch
                    gitops.write_json(self.run_dir / _META, meta)
            pending = Path(out(path, "rev-parse", "--absolute-git-dir")) / _PENDING
            if pending.exists():
                git(path, "reset", "-q", "--hard", "HEAD")
                pending.unlink()
            return self._cwd(path)

    def existing_tasks(self) -> dict[str, Path]:
        """Tasks of this run that already have a worktree (for resuming after a crash)."""
        tasks = gitops.read_json(self.run_dir / _META).get("tasks", {})
        found = {}
        for tid in tasks:
            info = self._registered(tid)
            if info is not None and info.path.is_dir():
                found[tid] = self._cwd(info.path)
        return found

    def has_changes(self, task_id: str) -> bool:
        """True when the task's worktree holds uncommitted changes (untracked files included)."""
        return bool(gitops.status(self._wt(str(task_id))))

    @contextlib.contextmanager
    def task_slot(self, task_id: str, paths: Iterable[str] | None = None) -> Iterator[None]:
        """Worktrees isolate tasks, so any number may run at once."""
        yield

    def _tip(self) -> str:
        tip = gitops.rev(self.root, f"refs/heads/{self.target_branch}")
        if tip is None:
            raise WorkspaceError(f"branch {self.target_branch} no longer exists")
        return tip

    def _base(self, wt: Path) -> str:
        return out(wt, "merge-base", self._tip(), "HEAD")

    def _sensitive(self, path: str) -> bool:
        return gitops.is_sensitive(path, self.cfg.sensitive_patterns)

    def _skip(self, path: str) -> bool:
        return gitops.is_sensitive(path, self.cfg.sensitive_patterns) or gitops.under(path, self.ignore_paths)

    # ---- commits ---------------------------------------------------------------------------------

    def commit_task(self, task_id: str, title: str, *, allow_empty: bool = False) -> str | None:
        """One commit of the task's changes (worker commits squashed in), sensitive and engine files left
        out (listed in ``self.skipped[task_id]``). Returns the sha, or None when there was nothing."""
        task_id = str(task_id)
        with self._lock:
            wt = self._wt(task_id)
            base = self._base(wt)
            head = out(wt, "rev-parse", "HEAD")
            subjects = out(wt, "log", "--format=%s", f"{base}..{head}").splitlines() if head != base else []
            if head != base:
                git(wt, "reset", "-q", "--soft", base)
            entries = gitops.status(wt)
            candidates = sorted({p for e in entries for p in e.paths()})
            lit = {"GIT_LITERAL_PATHSPECS": "1"}
            to_add = [p for p in candidates if not self._skip(p)]
            if to_add:
                git(
                    wt,
                    "add",
                    "-A",
                    "--pathspec-from-file=-",
                    "--pathspec-file-nul",
                    input="\0".join(to_add),
                    env=lit,
                )
            staged = [
                p
                for p in out(wt, "diff", "--cached", "--name-only", "-z", "--no-renames", base).split("\0")
                if p
            ]
            drop = [p for p in staged if self._skip(p)]
            if drop:
                git(wt, "reset", "-q", base, "--", *drop, env=lit)
            staged = [p for p in staged if p not in drop]
            skipped = sorted({p for p in candidates + drop if self._skip(p)})
            self.skipped[task_id] = skipped
            if not staged and not allow_empty:
                return None
            mine = f"{self.cfg.commit_message_prefix} Task {task_id}: "
            same = len(subjects) == 1 and subjects[0].startswith(mine) and not allow_empty
            if same and out(wt, "write-tree") == out(wt, "rev-parse", f"{head}^{{tree}}"):
                git(wt, "reset", "-q", "--soft", head)  # already committed as it is: keep that commit
                return None
            title_line = " ".join(title.split()) or "(untitled)"
            body = [
                f"Files: {', '.join(staged[:20])}"
                + (f" (+{len(staged) - 20} more)" if len(staged) > 20 else "")
            ]
            if skipped:
                body.append(f"Not committed (sensitive or engine files): {listing(skipped)}")
            if subjects:
                body.append("Worker commits: " + "; ".join(reversed(subjects)))
            message = f"{self.cfg.commit_message_prefix} Task {task_id}: {title_line}\n\n" + "\n".join(body)
            git(wt, "commit", "-q", "--allow-empty", "-m", message)
            return out(wt, "rev-parse", "HEAD")

    def commit_status(self) -> str | None:
        """Commit tracked engine files (tasks.json …) modified in the main tree, when the target branch is
        checked out there. Called before each merge; returns the sha or None."""
        with self._lock:
            if self._holder() != self.root:
                return None
            paths = sorted(
                {
                    p
                    for e in gitops.status(self.root)
                    if not e.untracked
                    for p in e.paths()
                    if gitops.under(p, self.ignore_paths)
                }
            )
            if not paths:
                return None
            msg = f"{self.cfg.commit_message_prefix} Update task status"
            return self._commit_exact(paths, msg)

    def _commit_exact(self, paths: list[str], message: str) -> str | None:
        """Commit `paths` of the main tree as they are at this instant, by plumbing: each file is read once
        (``hash-object -w``), and that very blob goes into the commit and into the index. A file rewritten
        meanwhile cannot make the index fall behind HEAD (``git commit --only`` reads it twice)."""
        root = self.root
        head = out(root, "rev-parse", "HEAD")
        lit = {"GIT_LITERAL_PATHSPECS": "1"}
        modes = {}
        for line in out(root, "ls-tree", "-z", head, "--", *paths, env=lit).split("\0"):
            meta, _, name = line.partition("\t")
            if name:
                modes[name] = meta.split()[0]
        entries = []
        for p in paths:
            f = root / p
            if f.is_file() and not f.is_symlink():
                blob = out(root, "hash-object", "-w", "--", p, env=lit)
                entries.append(f"{modes.get(p, '100644')} {blob}\t{p}")
            else:
                entries.append(f"0 {'0' * len(head)}\t{p}")  # deleted: drop it from the tree
        info = "\0".join(entries) + "\0"
        with tempfile.TemporaryDirectory(prefix="co-status-") as d:
            env = {"GIT_INDEX_FILE": str(Path(d) / "index")}
            git(root, "read-tree", head, env=env)
            git(root, "update-index", "-z", "--index-info", input=info, env=env)
            tree = out(root, "write-tree", env=env)
        if tree == out(root, "rev-parse", f"{head}^{{tree}}"):
            git(root, "update-index", "-z", "--index-info", input=info)  # index catches up with HEAD
            return None
        commit = out(root, "commit-tree", tree, "-p", head, "-m", message)
        git(root, "update-ref", "-m", message, f"refs/heads/{self.target_branch}", commit, head)
        git(root, "update-index", "-z", "--index-info", input=info)
        return commit

    # ---- merging ---------------------------------------------------------------------------------

    def _holder(self) -> Path | None:
        """The working tree that has the target branch checked out, if any."""
        ref = f"refs/heads/{self.target_branch}"
        w = next((w for w in gitops.worktrees(self.root) if w.branch == ref), None)
        return w.path.resolve() if w is not None else None

    def merge_task(self, task_id: str, title: str, *, legacy: bool | None = None) -> MergeResult:
        """Merge the task's branch into the target branch (fast-forward or merge commit), one at a time."""
        task_id = str(task_id)
        branch = self.branch(task_id)
        with self._lock:
            theirs = gitops.rev(self.root, f"refs/heads/{branch}")
            if theirs is None:
                raise WorkspaceError(f"task {task_id} has no branch {branch}: call prepare() first")
            if self.cfg.auto_commit:
                self.commit_status()
            holder = self._holder()
            msg = f"{self.cfg.commit_message_prefix} Merge task {task_id}: {' '.join(title.split())}"
            for _ in range(3):
                ours = self._tip()
                m = gitops.compute_merge(self.root, ours, theirs, msg, legacy=legacy)
                if m.commit is None:
                    why = "; ".join(m.messages[: gitops.MAX_LISTED]) or "content conflict"
                    desc = (
                        f"task {task_id} conflicts with {self.target_branch} in "
                        f"{len(m.conflicts)} file(s): {listing(m.conflicts)} ({why})"
                    )
                    return MergeResult(False, None, m.conflicts, desc, "conflict")
                if m.commit == ours:
                    desc = f"task {task_id} has nothing new for {self.target_branch}"
                    return MergeResult(True, ours, [], desc, "up-to-date")
                if holder is not None:
                    proc = git(holder, "merge", "--ff-only", "-q", m.commit, check=False)
                else:
                    ref = f"refs/heads/{self.target_branch}"
                    proc = git(self.root, "update-ref", "-m", msg, ref, m.commit, ours, check=False)
                if proc.returncode == 0:
                    how = "fast-forward" if m.fast_forward else f"merge commit {m.commit[:10]}"
                    desc = f"merged task {task_id} into {self.target_branch} ({how})" + self._left_out(
                        task_id
                    )
                    return MergeResult(
                        True, m.commit, [], desc, "fast-forward" if m.fast_forward else "merged"
                    )
                if self._tip() != ours:
                    continue  # the branch moved under us (the user committed): merge again
                paths = gitops.refused_paths(proc.stderr)
                desc = (
                    f"not merging task {task_id}: it would overwrite local changes in {holder}: "
                    f"{listing(paths) or proc.stderr.strip()[:200]}; commit or stash them"
                )
                return MergeResult(False, None, paths, desc, "blocked")
            raise WorkspaceError(
                f"branch {self.target_branch} kept moving during the merge of task {task_id}"
            )

    def _left_out(self, task_id: str) -> str:
        info = self._registered(task_id)
        left = gitops.status(info.path) if info is not None and info.path.is_dir() else []
        return f"; {len(left)} uncommitted file(s) in its worktree were not merged" if left else ""

    def reset_to_base(self, task_id: str, *, max_bytes: int | None = None) -> str:
        """Re-cut the task's branch on the target's current tip for a retry. Its previous work is saved
        first (a patch file under the run dir and a ref refs/orchestrator-saved/...); returns the patch."""
        task_id = str(task_id)
        with self._lock:
            wt = self._wt(task_id)
            base = self._base(wt)
            sens = self._sensitive
            tree = gitops.snapshot_tree(wt, sens)
            names = [
                p for p in out(wt, "diff", "--name-only", "-z", base, tree).split("\0") if p and not sens(p)
            ]
            lit = {"GIT_LITERAL_PATHSPECS": "1"}
            patch = git(wt, "diff", "--binary", base, tree, "--", *names, env=lit).stdout if names else ""
            text = git(wt, "diff", base, tree, "--", *names, env=lit).stdout if names else ""
            pdir = self.run_dir / _PATCHES
            pdir.mkdir(parents=True, exist_ok=True)
            refs = f"refs/orchestrator-saved/{gitops.sanitize(self.run_id)}/{gitops.sanitize(task_id)}/"
            n = 1 + len(out(wt, "for-each-ref", "--format=%(refname)", refs).split())
            stem = f"{gitops.sanitize(task_id)}-{n}"
            (pdir / f"{stem}.patch").write_text(patch, encoding="utf-8", errors="surrogateescape")
            saved = out(
                wt, "commit-tree", tree, "-p", "HEAD", "-m", f"saved work of task {task_id} before retry {n}"
            )
            git(wt, "update-ref", f"{refs}{n}", saved)
            for e in gitops.status(wt):  # tracked sensitive files the reset would revert: keep a copy
                if not e.untracked and sens(e.path) and (wt / e.path).is_file():
                    dest = pdir / f"{stem}.files" / e.path
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(wt / e.path, dest)
            git(wt, "reset", "-q", "--hard", self._tip())
            keep = [a for pat in self.cfg.sensitive_patterns for a in ("-e", pat)]
            git(wt, "clean", "-fdq", *keep)
            if max_bytes is not None:
                return gitops.truncate(text, max_bytes)
            return text

    # ---- views for review ------------------------------------------------------------------------

    def _view(self, task_id: str) -> tuple[Path, str, str, list[str], list[str]]:
        wt = self._wt(str(task_id))
        base = self._base(wt)
        sens = self._sensitive
        tree = gitops.snapshot_tree(wt, sens)
        names = [p for p in out(wt, "diff", "--name-only", "-z", "--no-renames", base, tree).split("\0") if p]
        hidden = {p for p in names if sens(p)} | {p for e in gitops.status(wt) for p in e.paths() if sens(p)}
        return wt, base, tree, [p for p in names if p not in hidden], sorted(hidden)

    def changed_files(self, task_id: str) -> list[str]:
        """Files the task changed against its base: committed, staged, unstaged and untracked (repo paths)."""
        _, _, _, shown, hidden = self._view(task_id)
        return sorted(set(shown) | set(hidden))

    def diff(self, task_id: str, max_bytes: int = 200_000) -> str:
        """The task's diff against its base for review; sensitive files are named but never shown."""
        wt, base, tree, shown, hidden = self._view(task_id)
        text = (
            git(wt, "diff", base, tree, "--", *shown, env={"GIT_LITERAL_PATHSPECS": "1"}).stdout
            if shown
            else ""
        )
        if hidden:
            text += f"\n# not shown (sensitive files): {', '.join(hidden)}\n"
        return gitops.truncate(text, max_bytes)

    # ---- cleanup ---------------------------------------------------------------------------------

    def cleanup(self, task_id: str, *, keep_branch: bool = True) -> bool:
        """Remove the task's worktree unless it holds uncommitted work (then keep it and return False).
        With keep_branch=False the branch goes too, but only once it is merged into the target."""
        task_id = str(task_id)
        with self._lock:
            info = self._registered(task_id)
            if info is not None and info.path.is_dir():
                if gitops.status(info.path):
                    return False
                git(self.root, "worktree", "remove", str(info.path))
            branch = self.branch(task_id)
            tip = gitops.rev(self.root, f"refs/heads/{branch}")
            if not keep_branch and tip is not None and gitops.is_ancestor(self.root, tip, self._tip()):
                git(self.root, "branch", "-q", "-D", branch)
            return True

    def finish(self) -> None:
        """Prune stale worktree records; drop the run folder when nothing is left in it."""
        with self._lock:
            git(self.root, "worktree", "prune", check=False)
            if self.run_dir.is_dir() and not any(p.name != _META for p in self.run_dir.iterdir()):
                shutil.rmtree(self.run_dir, ignore_errors=True)
