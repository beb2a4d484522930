"""Locks: the orchestrator's own repository lock, and git's lock files left behind by a killed git."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


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
_LOCK_EXISTS = re.compile(r"Unable to create '([^']+\.lock)': File exists")


def _git_lock_files(common_dir: Path) -> list[Path]:
    dirs = [common_dir, *(p for p in (common_dir / "worktrees").glob("*") if p.is_dir())]
    found = [d / n for d in dirs for n in _LOCK_FILES if (d / n).is_file()]
    refs = common_dir / "refs"
    if refs.is_dir():
        found += [p for p in refs.rglob("*.lock") if p.is_file()]
    return found


def proc_holds(paths: set[str], roots: list[str]) -> bool | None:
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


def retry_after_stale_lock(stderr: str | None, cwd: Path) -> bool:
    """When git failed on a lock file nobody holds (left by a killed git), remove it: True to retry."""
    m = _LOCK_EXISTS.search(stderr or "")
    if not m:
        return False
    lock = Path(m.group(1))
    if proc_holds({str(lock.resolve())}, [str(Path(cwd).resolve())]) is not False:
        return False
    try:
        lock.unlink()
    except OSError:
        return False
    log.warning("removed a stale git lock nobody held: %s", lock)
    return True


def clear_stale_locks(common_dir: Path, roots: Sequence[Path]) -> list[str]:
    """Remove git lock files (index.lock, ref locks …) that no live process holds: a git killed with
    its lock taken (``kill -9`` of a run) would otherwise fail every later git command. A lock is kept while
    any process has it open or any git process works in one of `roots` (the repository's working trees).
    Returns the removed paths, relative to `common_dir`."""
    locks = _git_lock_files(common_dir)
    if not locks:
        return []
    held = proc_holds({str(p.resolve()) for p in locks}, [str(Path(r).resolve()) for r in roots])
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
