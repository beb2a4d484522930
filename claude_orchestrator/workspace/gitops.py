"""The git layer: every git command the orchestrator runs goes through :class:`GitRunner`.

Commands run through GitPython (``Git.execute`` with an argument list, never a shell) with:

- the hardened configuration of :mod:`.hardening` on the command line (hooks off, no fsmonitor, …) and,
  for a repository, the overrides of its :class:`~.hardening.ConfigGuard`;
- a scrubbed environment: no secret-looking variable (:func:`~claude_orchestrator.process.is_secret_name`, the
  rule of every command we start), none of the variables that would point git at another repository or index
  (``GIT_DIR`` …), ``LC_ALL=C``, no prompt, no editor;
- a timeout, stdin input, output decoded as UTF-8 with ``surrogateescape``;
- one retry after removing a lock file that nobody holds (left by a killed git).

Every failure is a :class:`WorkspaceError` naming the git command and its first error line.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import GitInterruptedError, WorkspaceError
from ..process import is_secret_name
from . import hardening
from .locks import retry_after_stale_lock
from .watchdog import WATCHDOG

if TYPE_CHECKING:
    from git import Git, Repo

GIT_TIMEOUT = 300.0
_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})

# Variables that would point git at another repository, index or object store than the one we mean.
_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_CEILING_DIRECTORIES",
)
_FIXED_ENV = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true", "GIT_MERGE_AUTOEDIT": "no"}
_env_cache: tuple[frozenset[str], dict[str, str], list[str]] = (frozenset(), {}, [])


def environment(extra: Mapping[str, str] | None) -> tuple[dict[str, str], list[str]]:
    """What git's environment changes from ours: (overrides, names to unset).

    GitPython starts every command from ``os.environ`` and can only override it, so a secret is
    overridden with an empty value (GitPython's way to unset); the location variables, which git cannot
    take empty, are returned to be unset (``env -u``; they are normally absent). Worked out once per set
    of variable names."""
    global _env_cache
    names = frozenset(os.environ)
    if names != _env_cache[0]:
        blank = {k: "" for k in names if is_secret_name(k)}
        _env_cache = (names, blank, [k for k in _LOCATION_VARS if k in names])
    _, blank, location = _env_cache
    overrides = {**blank, **_FIXED_ENV, **(extra or {})}
    return overrides, [k for k in location if k not in overrides]


@dataclass(frozen=True)
class GitResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class StatusEntry:
    code: str  # the two porcelain letters, e.g. " M", "??", "R "
    path: str
    orig: str | None = None

    @property
    def untracked(self) -> bool:
        return self.code == "??"

    def paths(self) -> list[str]:
        return [self.path] if self.orig is None else [self.path, self.orig]


@dataclass
class WorktreeInfo:
    path: Path
    head: str | None = None
    branch: str | None = None  # full ref, e.g. refs/heads/main
    flags: list[str] = field(default_factory=list)


def _gitpython() -> Any:
    """GitPython's ``git`` package, imported on first use (its import fails where git is missing)."""
    try:
        import git
    except ImportError as e:
        raise WorkspaceError(f"git is not usable: {str(e).splitlines()[0]}") from None
    return git


def open_repo(root: Path) -> Repo:
    """``git.Repo`` of the working tree at `root`; GitPython's errors become WorkspaceError."""
    git = _gitpython()
    try:
        return git.Repo(root)  # type: ignore[no-any-return]
    except git.exc.NoSuchPathError:
        raise WorkspaceError(f"{root}: no such directory") from None
    except git.exc.GitError as e:
        raise WorkspaceError(f"{root}: not a git repository ({type(e).__name__})") from None


def mapped_error(e: Exception, cwd: Path, args: tuple[str, ...]) -> WorkspaceError:
    """A GitPython error as our WorkspaceError: the git command and its first error line."""
    git = _gitpython()
    if isinstance(e, git.exc.GitCommandNotFound):
        if shutil.which("git") is None:
            return WorkspaceError("git is not installed (no 'git' on PATH)")
        return WorkspaceError(f"cannot run git in {cwd}: {e.status}")
    if isinstance(e, git.exc.GitCommandError):
        text = str(e.stderr).partition("stderr: '")[2].rstrip("'") or str(e.stdout)
        return _failed(cwd, args, int(e.status) if isinstance(e.status, int) else -1, text)
    return WorkspaceError(f"git {args[0] if args else ''} failed in {cwd}: {e}")


def _failed(cwd: Path, args: tuple[str, ...], status: int, text: str) -> WorkspaceError:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first = lines[0].strip() if lines else f"exit status {status}"
    return WorkspaceError(f"git {args[0]} failed in {cwd}: {first}", args=list(args), returncode=status)


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "surrogateescape")


class GitRunner:
    """Runs git commands; bound to a repository (`repo`, `guard`) it also applies that repository's
    config overrides and runs its commands from ``repo.git``."""

    def __init__(self, repo: Repo | None = None, guard: hardening.ConfigGuard | None = None) -> None:
        self.repo = repo
        self.guard = guard
        self._root = Path(repo.working_tree_dir) if repo is not None and repo.working_tree_dir else None
        self._gits: dict[Path, Git] = {}

    def run(
        self,
        cwd: Path,
        *args: str,
        check: bool = True,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> GitResult:
        """``git <args>`` in `cwd`; WorkspaceError on a non-zero exit when `check`. A failure on a stale
        lock file (its git was killed) removes the lock and runs the command once more."""
        result = self._execute(cwd, args, input, env)
        if result.returncode != 0 and retry_after_stale_lock(result.stderr, cwd):
            result = self._execute(cwd, args, input, env)
        if check and result.returncode != 0:
            raise _failed(cwd, args, result.returncode, result.stderr or result.stdout)
        return result

    def _execute(
        self, cwd: Path, args: tuple[str, ...], input: str | None, env: Mapping[str, str] | None
    ) -> GitResult:
        git = _gitpython()
        overrides, unset = environment(env)
        extra = self.guard.args() if self.guard is not None else ()
        cmd = [git.Git.GIT_PYTHON_GIT_EXECUTABLE, "-C", str(cwd), *hardening.BASE_ARGS, *extra, *args]
        if unset:
            cmd = ["env", *(a for k in unset for a in ("-u", k)), *cmd]
        try:
            # as a process, so that stdin, the timeout and the output are ours to handle (no watchdog thread)
            handle: Any = self._git(cwd).execute(
                cmd,
                as_process=True,
                istream=None if input is None else subprocess.PIPE,
                env=overrides,
                start_new_session=True,  # the terminal's Ctrl-C is the orchestrator's to handle, not git's
            )
        except git.exc.GitError as e:
            raise mapped_error(e, cwd, args) from None
        proc: subprocess.Popen[bytes] = handle.proc
        data = None if input is None else input.encode("utf-8", "surrogateescape")
        with WATCHDOG.watch(proc, GIT_TIMEOUT) as killed:
            out, err = proc.communicate(data)
        if killed() and proc.returncode != 0:
            raise WorkspaceError(f"git {args[0]} timed out after {GIT_TIMEOUT:g}s in {cwd}")
        if -proc.returncode in _STOP_SIGNALS:
            name = signal.Signals(-proc.returncode).name
            raise GitInterruptedError(f"git {args[0]} was interrupted by {name} in {cwd}")
        if proc.returncode != 0 and not Path(cwd).is_dir():
            raise WorkspaceError(f"cannot run git in {cwd}: no such directory")
        return GitResult(list(args), proc.returncode, _text(out), _text(err))

    def _git(self, cwd: Path) -> Git:
        """GitPython's command object for `cwd`: ``repo.git`` at the repository's root."""
        if self.repo is not None and cwd == self._root:
            return self.repo.git
        g = self._gits.get(cwd)
        if g is None:
            g = self._gits.setdefault(cwd, _gitpython().Git(cwd))
        return g

    def out(self, cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
        return self.run(cwd, *args, env=env).stdout.strip()

    def ok(self, cwd: Path, *args: str) -> bool:
        return self.run(cwd, *args, check=False).returncode == 0

    def status(self, cwd: Path, *paths: str, untracked: bool = True) -> list[StatusEntry]:
        """Porcelain status of the worktree at `cwd` (paths relative to its root), of `paths` only when
        given (literal paths), untracked files listed unless `untracked` is False."""
        args = ["status", "--porcelain=v1", "-z", f"--untracked-files={'all' if untracked else 'no'}"]
        args += ["--no-renames", *(["--", *paths] if paths else [])]
        raw = self.run(cwd, *args, env={"GIT_LITERAL_PATHSPECS": "1"} if paths else None).stdout
        entries: list[StatusEntry] = []
        parts = raw.split("\0")
        i = 0
        while i < len(parts):
            item = parts[i]
            i += 1
            if len(item) < 4:
                continue
            code, path = item[:2], item[3:]
            orig = None
            if code[0] in "RC":
                orig = parts[i]
                i += 1
            entries.append(StatusEntry(code, path, orig))
        return entries

    def worktrees(self, cwd: Path) -> list[WorktreeInfo]:
        """`git worktree list --porcelain`, the main worktree first."""
        result: list[WorktreeInfo] = []
        for block in self.run(cwd, "worktree", "list", "--porcelain").stdout.split("\n\n"):
            cur: WorktreeInfo | None = None
            for line in block.splitlines():
                key, _, value = line.partition(" ")
                if key == "worktree":
                    cur = WorktreeInfo(Path(value))
                    result.append(cur)
                elif cur is not None and key == "HEAD":
                    cur.head = value
                elif cur is not None and key == "branch":
                    cur.branch = value
                elif cur is not None and key:
                    cur.flags.append(key)
        return result

    def rev(self, cwd: Path, what: str) -> str | None:
        proc = self.run(cwd, "rev-parse", "--verify", "-q", what + "^{commit}", check=False)
        if proc.returncode != 0:
            return None
        return proc.stdout.strip() or None

    def is_ancestor(self, cwd: Path, a: str, b: str) -> bool:
        return self.ok(cwd, "merge-base", "--is-ancestor", a, b)


DEFAULT = GitRunner()  # outside a run's workspace: finding a repository, the version, `clean`
out = DEFAULT.out
ok = DEFAULT.ok
status = DEFAULT.status
worktrees = DEFAULT.worktrees
rev = DEFAULT.rev
is_ancestor = DEFAULT.is_ancestor


def git(
    cwd: Path,
    *args: str,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
) -> GitResult:
    """``git <args>`` in `cwd` outside a repository's runner (see :meth:`GitRunner.run`)."""
    return DEFAULT.run(cwd, *args, check=check, input=input, env=env)


@lru_cache(maxsize=1)
def version() -> tuple[int, int]:
    m = re.search(r"(\d+)\.(\d+)", DEFAULT.out(Path(os.path.abspath(os.sep)), "--version"))
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def has_merge_tree() -> bool:
    """`git merge-tree --write-tree` (a merge without a working tree) needs git 2.38."""
    return version() >= (2, 38)
