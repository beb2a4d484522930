"""Small typed wrappers over the git CLI: argument lists only, never a shell string.

Used by :mod:`claude_orchestrator.workspace.git`. Every failure is a :class:`WorkspaceError` naming the git
command and its first error line.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import files
from ..errors import WorkspaceError

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

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
_BASE_ARGS = ("-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "core.quotepath=off")
GIT_TIMEOUT = 300.0


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARS}
    env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_EDITOR="true", GIT_MERGE_AUTOEDIT="no")
    if extra:
        env.update(extra)
    return env


def git(
    cwd: Path,
    *args: str,
    check: bool = True,
    input: str | None = None,
    env: dict[str, str] | None = None,
    _retry: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``git <args>`` in `cwd`; raise WorkspaceError on a non-zero exit when `check`. A failure on a
    stale lock file (its git was killed) removes the lock and runs the command once more."""
    cmd = ["git", *_BASE_ARGS, *args]
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            env=_env(env),
            timeout=GIT_TIMEOUT,
            check=False,
            start_new_session=True,  # the terminal's Ctrl-C is the orchestrator's to handle, not git's
        )
    except FileNotFoundError:
        if shutil.which("git") is None:
            raise WorkspaceError("git is not installed (no 'git' on PATH)") from None
        raise WorkspaceError(f"cannot run git in {cwd}: no such directory") from None
    except subprocess.TimeoutExpired:
        raise WorkspaceError(f"git {args[0]} timed out after {GIT_TIMEOUT:.0f}s in {cwd}") from None
    if proc.returncode != 0 and _retry and _retry_after_stale_lock(proc.stderr, cwd):
        return git(cwd, *args, check=check, input=input, env=env, _retry=False)
    if check and proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        first = lines[0].strip() if lines else f"exit status {proc.returncode}"
        raise WorkspaceError(
            f"git {args[0]} failed in {cwd}: {first}", args=list(args), returncode=proc.returncode
        )
    return proc


_LOCK_EXISTS = re.compile(r"Unable to create '([^']+\.lock)': File exists")


def _retry_after_stale_lock(stderr: str | None, cwd: Path) -> bool:
    """When git failed on a lock file nobody holds (left by a killed git), remove it: True to retry."""
    m = _LOCK_EXISTS.search(stderr or "")
    if not m:
        return False
    lock = Path(m.group(1))
    if _proc_holds({str(lock.resolve())}, [str(Path(cwd).resolve())]) is not False:
        return False
    try:
        lock.unlink()
    except OSError:
        return False
    log.warning("removed a stale git lock nobody held: %s", lock)
    return True


def out(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return git(cwd, *args, env=env).stdout.strip()


def ok(cwd: Path, *args: str) -> bool:
    return git(cwd, *args, check=False).returncode == 0


@lru_cache(maxsize=1)
def version() -> tuple[int, int]:
    m = re.search(r"(\d+)\.(\d+)", out(Path(os.path.abspath(os.sep)), "--version"))
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def has_merge_tree() -> bool:
    """`git merge-tree --write-tree` (a merge without a working tree) needs git 2.38."""
    return version() >= (2, 38)


# ---- paths ---------------------------------------------------------------------------------------


def sanitize(name: str) -> str:
    """A name safe as one path component and one ref component."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "_"
    s = s.replace("..", "_")
    return s[:-5] + "_lock" if s.endswith(".lock") else s


def is_sensitive(path: str, patterns: Sequence[str]) -> bool:
    """True when the file name (or the whole path) matches a sensitive pattern, case-insensitively."""
    p = path.lower()
    name = p.rsplit("/", 1)[-1]
    for pat in patterns:
        pat = pat.lower()
        if fnmatch.fnmatchcase(name, pat) or ("/" in pat and fnmatch.fnmatchcase(p, pat)):
            return True
    return False


def under(path: str, prefixes: Iterable[str]) -> bool:
    """True when `path` equals a prefix or lies below one ending in '/'."""
    return any(path == pre.rstrip("/") or (pre.endswith("/") and path.startswith(pre)) for pre in prefixes)


# ---- status and worktrees ------------------------------------------------------------------------


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


def status(cwd: Path) -> list[StatusEntry]:
    """Porcelain status of the worktree at `cwd` (paths relative to its root, untracked files listed)."""
    raw = git(cwd, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames").stdout
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


@dataclass
class WorktreeInfo:
    path: Path
    head: str | None = None
    branch: str | None = None  # full ref, e.g. refs/heads/main
    flags: list[str] = field(default_factory=list)


def worktrees(cwd: Path) -> list[WorktreeInfo]:
    """`git worktree list --porcelain`, the main worktree first."""
    result: list[WorktreeInfo] = []
    for block in git(cwd, "worktree", "list", "--porcelain").stdout.split("\n\n"):
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


def rev(cwd: Path, what: str) -> str | None:
    proc = git(cwd, "rev-parse", "--verify", "-q", what + "^{commit}", check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def is_ancestor(cwd: Path, a: str, b: str) -> bool:
    return ok(cwd, "merge-base", "--is-ancestor", a, b)


class RepoLock:
    """Re-entrant in a thread, and while held an exclusive flock on ``<git-common-dir>/orchestrator.lock``
    so two orchestrator processes on one repository take turns too (no file lock where fcntl is missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._rlock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> RepoLock:
        self._rlock.acquire()
        try:
            if self._depth == 0 and fcntl is not None:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except BaseException:
                    os.close(fd)
                    raise
                self._fd = fd
        except BaseException:
            self._rlock.release()
            raise
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None and fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._rlock.release()


_REPO_LOCKS: dict[str, RepoLock] = {}
_REPO_LOCKS_GUARD = threading.Lock()


def repo_lock(common_dir: Path) -> RepoLock:
    """One lock per repository for the process (and across processes): worktree add/remove, ref moves,
    commits and merges go under it."""
    key = common_dir.resolve()
    with _REPO_LOCKS_GUARD:
        return _REPO_LOCKS.setdefault(str(key), RepoLock(key / "orchestrator.lock"))


# ---- stale locks left by a killed git ------------------------------------------------------------

_LOCK_FILES = ("index.lock", "HEAD.lock", "packed-refs.lock", "ORIG_HEAD.lock", "config.lock")
_NO_PROC_STALE_S = 60.0  # without /proc, a lock this old is taken for stale


def _git_lock_files(common_dir: Path) -> list[Path]:
    dirs = [common_dir, *(p for p in (common_dir / "worktrees").glob("*") if p.is_dir())]
    found = [d / n for d in dirs for n in _LOCK_FILES if (d / n).is_file()]
    refs = common_dir / "refs"
    if refs.is_dir():
        found += [p for p in refs.rglob("*.lock") if p.is_file()]
    return found


def _proc_holds(paths: set[str], roots: list[str]) -> bool | None:
    """True when a live process has one of `paths` open or is a git process working under one of `roots`;
    None when this system has no /proc to ask."""
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return None
    me = str(os.getpid())
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit() or pid_dir.name == me:
            continue
        try:
            if (pid_dir / "comm").read_text().strip().startswith("git"):
                cwd = os.readlink(pid_dir / "cwd")
                if any(cwd == r or cwd.startswith(r.rstrip("/") + "/") for r in roots):
                    return True
            for fd in (pid_dir / "fd").iterdir():
                if os.readlink(fd) in paths:
                    return True
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return False


def clear_stale_locks(common_dir: Path, roots: Sequence[Path]) -> list[str]:
    """Remove git lock files (index.lock, ref locks …) that no live process holds: a git killed with
    its lock taken (``kill -9`` of a run) would otherwise fail every later git command. A lock is kept while
    any process has it open or any git process works in one of `roots` (the repository's working trees).
    Returns the removed paths, relative to `common_dir`."""
    locks = _git_lock_files(common_dir)
    if not locks:
        return []
    held = _proc_holds({str(p.resolve()) for p in locks}, [str(Path(r).resolve()) for r in roots])
    removed = []
    for lock in locks:
        try:
            if held or (held is None and time.time() - lock.stat().st_mtime < _NO_PROC_STALE_S):
                continue
            lock.unlink()
        except OSError:
            continue
        removed.append(lock.relative_to(common_dir).as_posix())
    return removed


# ---- snapshots and merges ------------------------------------------------------------------------


def snapshot_tree(wt: Path, skip: Callable[[str], bool]) -> str:
    """A tree of the worktree as it is now (HEAD + staged + unstaged + untracked), leaving out paths
    for which `skip` is true, built in a temporary index so the worktree's own index is untouched."""
    index = Path(out(wt, "rev-parse", "--git-path", "index"))
    index = index if index.is_absolute() else wt / index
    with tempfile.TemporaryDirectory(prefix="co-index-") as d:
        tmp = Path(d) / "index"
        if index.exists():
            shutil.copyfile(index, tmp)
        env = {"GIT_INDEX_FILE": str(tmp), "GIT_LITERAL_PATHSPECS": "1"}
        paths = [p for e in status(wt) for p in e.paths() if not skip(p)]
        if paths:
            git(
                wt,
                "add",
                "-A",
                "--pathspec-from-file=-",
                "--pathspec-file-nul",
                input="\0".join(paths),
                env=env,
            )
        staged = out(wt, "diff", "--cached", "--name-only", "-z", "--no-renames", "HEAD", env=env)
        drop = [p for p in staged.split("\0") if p and skip(p)]
        if drop:
            git(wt, "reset", "-q", "HEAD", "--", *drop, env=env)
        return out(wt, "write-tree", env=env)


@dataclass
class MergeOutcome:
    commit: str | None  # the merged commit (None on conflict)
    conflicts: list[str]
    messages: list[str]
    fast_forward: bool = False


def compute_merge(
    root: Path, ours: str, theirs: str, message: str, *, legacy: bool | None = None
) -> MergeOutcome:
    """The commit that merging `theirs` into `ours` gives, without touching any checked-out tree.

    Fast-forward when possible; else `git merge-tree --write-tree` + `commit-tree` (git >= 2.38), or
    with `legacy` (older git) a merge in a throw-away detached worktree."""
    if is_ancestor(root, theirs, ours):
        return MergeOutcome(ours, [], ["already merged"])
    if is_ancestor(root, ours, theirs):
        return MergeOutcome(theirs, [], [], fast_forward=True)
    if legacy is None:
        legacy = not has_merge_tree()
    if legacy:
        return _merge_in_temp_worktree(root, ours, theirs, message)
    proc = git(
        root, "merge-tree", "--write-tree", "-z", "--name-only", "--messages", ours, theirs, check=False
    )
    if proc.returncode not in (0, 1):
        raise WorkspaceError(f"git merge-tree failed: {proc.stderr.strip()}")
    head, _, info = proc.stdout.partition("\0\0")
    tree, *names = head.split("\0")
    msgs = re.findall(r"CONFLICT \([^)]*\):[^\n\0]*", info)
    if proc.returncode == 1:
        return MergeOutcome(None, sorted({n for n in names if n}), msgs)
    commit = out(root, "commit-tree", tree.strip(), "-p", ours, "-p", theirs, "-m", message)
    return MergeOutcome(commit, [], [])


def _merge_in_temp_worktree(root: Path, ours: str, theirs: str, message: str) -> MergeOutcome:
    tmp = Path(tempfile.mkdtemp(prefix="co-merge-"))
    wt = tmp / "wt"
    git(root, "worktree", "add", "-q", "--detach", str(wt), ours)
    try:
        proc = git(wt, "merge", "-q", "--no-ff", "--no-edit", "-m", message, theirs, check=False)
        if proc.returncode == 0:
            return MergeOutcome(out(wt, "rev-parse", "HEAD"), [], [])
        names = out(wt, "diff", "--name-only", "-z", "--diff-filter=U").split("\0")
        msgs = re.findall(r"CONFLICT \([^)]*\):[^\n]*", proc.stdout)
        git(wt, "merge", "--abort", check=False)
        if not any(names):
            raise WorkspaceError(f"git merge failed: {(proc.stderr or proc.stdout).strip()[:300]}")
        return MergeOutcome(None, sorted(n for n in names if n), msgs)
    finally:
        git(root, "worktree", "remove", "--force", str(wt), check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        git(root, "worktree", "prune", check=False)


def refused_paths(stderr: str) -> list[str]:
    """Paths git lists (tab-indented) when it refuses to overwrite local changes or untracked files."""
    return [ln.strip() for ln in stderr.splitlines() if ln.startswith("\t") and ln.strip()]


# ---- results and small helpers -------------------------------------------------------------------

MAX_LISTED = 5


@dataclass(frozen=True)
class MergeResult:
    """What merge_task did. `conflict_files` names the files in a conflict, or those git would not
    overwrite (kind "blocked")."""

    ok: bool
    commit: str | None
    conflict_files: list[str] = field(default_factory=list)
    description: str = ""
    # merged | fast-forward | up-to-date | conflict | blocked (local changes in the way) | in-place
    kind: str = "merged"


def listing(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:MAX_LISTED])
    return shown + (f" (+{len(paths) - MAX_LISTED} more)" if len(paths) > MAX_LISTED else "")


def inside(path: Path, root: Path) -> str | None:
    """`path` relative to `root` with a trailing '/', or None when it lies outside."""
    try:
        rel = path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None
    return rel.rstrip("/") + "/" if rel not in ("", ".") else None


def add_exclude(common_dir: Path, pattern: str) -> None:
    """Add `pattern` to .git/info/exclude once (the user's .gitignore is left alone)."""
    f = common_dir / "info" / "exclude"
    text = f.read_text(encoding="utf-8") if f.is_file() else ""
    if pattern in text.splitlines():
        return
    f.parent.mkdir(parents=True, exist_ok=True)
    sep = "" if not text or text.endswith("\n") else "\n"
    f.write_text(f"{text}{sep}# claude-orchestrator task worktrees\n{pattern}\n", encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`, or {} when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace a metadata file atomically (keys sorted)."""
    files.write_json(path, data, sort_keys=True, fsync=False)


def truncate(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= max_bytes:
        return text
    cut = data[:max_bytes].decode("utf-8", "ignore")
    return cut + f"\n[diff truncated: {max_bytes} of {len(data)} bytes shown]\n"
