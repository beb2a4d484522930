"""Durable runs: finding an interrupted run to resume, replaying its journal, and Ctrl-C handling."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, OrchestratorError
from ..events import TaskBlocked, TaskCompleted, TaskFailed, TaskMerged, TaskPicked, TaskRetry, TaskSession
from ..process import alive
from .folder import RUN_FILE, runs_root


def unfinished_run(root: Path, tag: str) -> str | None:
    """The newest run of this tag that never finished (crash or kill -9) or that a person stopped (Ctrl-C,
    `claude-orchestrator stop`), to resume."""
    base = runs_root(root)
    if not base.is_dir():
        return None
    for path in sorted((p for p in base.iterdir() if p.is_dir()), reverse=True):
        meta_file = path / RUN_FILE
        if not meta_file.is_file():
            continue
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if meta.get("tag") == tag:
            resumable = meta.get("status") == "stopped" and meta.get("resumable") is True
            if meta.get("status") != "running" and not resumable:
                return None
            pid = meta.get("pid")
            if isinstance(pid, int) and pid != os.getpid() and alive(pid):
                raise InputError(
                    f"run {path.name} is still running (pid {pid}); wait for it or stop it first"
                )
            return path.name
    return None


def journal_merged(run_path: Path) -> set[str]:
    """Units the journal saw merged (their status write may have been lost in a crash)."""
    from ..observers.eventlog import read_events

    merged = set()
    with contextlib.suppress(OrchestratorError, OSError):
        for e in read_events(run_path):
            match e:
                case TaskMerged(task_id=str(uid)) | TaskCompleted(task_id=str(uid)) if uid:
                    merged.add(uid)
    return merged


class StopKeys:
    """What the person pressed: each Ctrl-C (or SIGTERM) during the run."""

    def __init__(self) -> None:
        self.presses = 0


@dataclass(frozen=True)
class SessionRef:
    session_id: str
    workdir: str


def interrupted_sessions(run_path: Path) -> dict[str, SessionRef]:
    """Work id ("3", or "3-c2" for an attempt of a best of N) -> the Claude Code session it was in when
    the run stopped: journaled, and its attempt never ended (no retry, completion, failure or pick after)."""
    from ..observers.eventlog import read_events

    open_: dict[str, SessionRef] = {}
    with contextlib.suppress(OrchestratorError, OSError):
        for e in read_events(run_path):
            match e:
                case TaskSession(task_id=str(uid), session_id=sid, workdir=wd) if sid:
                    open_[f"{uid}-c{e.candidate}" if e.candidate else uid] = SessionRef(sid, wd)
                case (
                    TaskRetry(task_id=str(uid))
                    | TaskCompleted(task_id=str(uid))
                    | TaskFailed(task_id=str(uid))
                    | TaskBlocked(task_id=str(uid))
                    | TaskPicked(task_id=str(uid))
                ):
                    for key in [k for k in open_ if k == uid or k.startswith(f"{uid}-c")]:
                        del open_[key]
    return open_


class Sessions:
    """The interrupted sessions a resumed run may continue, each at most once (its unit's first attempt
    in this run); thread-safe."""

    def __init__(self, found: dict[str, SessionRef] | None = None) -> None:
        self._found = dict(found or {})
        self._lock = threading.Lock()

    def take(self, work_id: str, workdir: Path) -> str | None:
        """The session to continue in `workdir`, when it was journaled there (the worktree is intact)."""
        with self._lock:
            ref = self._found.pop(work_id, None)
        if ref is None or not workdir.is_dir():
            return None
        return ref.session_id if Path(ref.workdir).resolve() == workdir.resolve() else None


@contextlib.contextmanager
def sigint_stops(sched: Any) -> Iterator[StopKeys]:
    """Ctrl-C: stop dispatching and give running tasks their grace; a second Ctrl-C stops them at once."""
    keys = StopKeys()
    if threading.current_thread() is not threading.main_thread():
        yield keys
        return

    def handler(signum: int, frame: Any) -> None:
        keys.presses += 1
        sched.request_stop(None if keys.presses == 1 else 0.0)

    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield keys
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
