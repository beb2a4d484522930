"""The small worker interface every backend implements, and a process-group subprocess helper.

A worker gets a `WorkUnit` (what to do) and a `WorkContext` (where, with which cancel flag and progress
callback) and returns a `WorkResult`. It never raises for a task failure: it returns ``ok=False`` with an
error. Workers never print; progress goes through ``ctx.report`` which only emits events.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkUnit:
    """One schedulable piece of work: a task ("N") or a subtask ("P.S")."""

    unit_id: str
    task_id: str
    title: str
    description: str = ""
    details: str = ""
    test_strategy: str = ""
    acceptance_criteria: list[str] = field(default_factory=list)
    relevant_files: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    priority: str = "medium"
    backend: str = "auto"
    attempt: int = 1
    feedback: str | None = None  # review issues or a merge conflict from a previous attempt
    dependency_results: dict[str, str] = field(default_factory=dict)  # dep id -> short summary
    metadata: dict[str, Any] = field(default_factory=dict)


def _no_report(_: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class WorkContext:
    workdir: Path
    run_id: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)
    report: Callable[[dict[str, Any]], None] = _no_report  # {phase, turns, tokens_in, tokens_out, cost_usd}
    timeout_s: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    transcript_path: Path | str | None = None  # where a backend writes its transcript (JSONL)


@dataclass(frozen=True)
class WorkResult:
    ok: bool
    summary: str = ""
    error: str | None = None
    cost_usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    turns: int = 0
    duration_s: float = 0.0
    session_id: str | None = None
    transcript_path: str | None = None
    files_changed: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failure(cls, error: str, **kw: Any) -> WorkResult:
        return cls(ok=False, error=error, **kw)


@runtime_checkable
class Worker(Protocol):
    name: str

    def run(self, unit: WorkUnit, ctx: WorkContext) -> WorkResult:
        """Do the unit in ctx.workdir; return ok=False with an error instead of raising."""
        ...


def run_worker(worker: Worker, unit: WorkUnit, make_ctx: Callable[[], WorkContext]) -> WorkResult:
    """Run a worker and never raise: an exception (or a wrong return type) becomes a failed result that
    names it. `make_ctx` runs inside the call too, so a failing workdir setup is a failed attempt."""
    t0 = time.monotonic()
    try:
        res = worker.run(unit, make_ctx())
        if not isinstance(res, WorkResult):
            return WorkResult.failure(f"worker {worker.name!r} returned {type(res).__name__}, not WorkResult")
    except Exception as e:
        log.exception("worker %s raised on unit %s", getattr(worker, "name", worker), unit.unit_id)
        return WorkResult.failure(f"worker raised {type(e).__name__}: {e}", duration_s=time.monotonic() - t0)
    return res if res.duration_s else replace(res, duration_s=time.monotonic() - t0)


# --- subprocess in its own process group -------------------------------------------------------------


@dataclass(frozen=True)
class ProcessResult:
    returncode: int | None  # None if it could not be reaped
    stdout: str
    stderr: str
    timed_out: bool
    cancelled: bool
    duration_s: float
    truncated: bool
    pid: int

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.cancelled


class _Bounded:
    """Keeps the head and the tail of a stream, at most `limit` bytes in all."""

    def __init__(self, limit: int) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.limit = max(limit, 2)
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        half = self.limit // 2
        room = half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.limit - half:
                cut = len(self.tail) - (self.limit - half)
                self.dropped += cut
                del self.tail[:cut]

    def text(self) -> str:
        mid = f"\n[... {self.dropped} bytes omitted ...]\n".encode() if self.dropped else b""
        return bytes(self.head + mid + self.tail).decode("utf-8", errors="replace")


def _pump(pipe: Any, buf: _Bounded) -> None:
    try:
        for chunk in iter(lambda: pipe.read1(65536), b""):
            buf.add(chunk)
    except (OSError, ValueError):
        pass


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_group_gone(pgid: int, limit: float) -> None:
    """SIGKILL is asynchronous: wait (bounded) until no process is left in the group."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        if not _group_alive(pgid):
            return  # only zombies left, waiting for their reaper
        time.sleep(0.005)


def _group_alive(pgid: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for d in proc.iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def run_process_group(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    cancel: threading.Event | None = None,
    input: bytes | None = None,
    max_output: int = 200_000,
    merge_stderr: bool = False,
    term_grace: float = 2.0,
    poll_s: float = 0.05,
) -> ProcessResult:
    """Run argv in a new session (its own process group). On timeout or `cancel`, SIGTERM the whole
    group, then SIGKILL after `term_grace`. Leftover group members are killed once the leader exits, so
    nothing outlives the call. Output is bounded (head and tail kept)."""
    start = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        cwd=str(cwd),
        env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        start_new_session=True,
    )
    pgid = proc.pid
    out, err = _Bounded(max_output), _Bounded(max_output)
    readers = [threading.Thread(target=_pump, args=(proc.stdout, out), daemon=True)]
    if not merge_stderr:
        readers.append(threading.Thread(target=_pump, args=(proc.stderr, err), daemon=True))
    for t in readers:
        t.start()
    if input is not None and proc.stdin is not None:
        stdin = proc.stdin

        def feed() -> None:
            try:
                stdin.write(input)
                stdin.close()
            except OSError:
                pass

        threading.Thread(target=feed, daemon=True).start()

    deadline = start + timeout if timeout is not None else None
    timed_out = cancelled = False
    while True:
        try:
            proc.wait(timeout=poll_s)
            break
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel.is_set():
            cancelled = True
        elif deadline is not None and time.monotonic() >= deadline:
            timed_out = True
        if timed_out or cancelled:
            _killpg(pgid, signal.SIGTERM)
            try:
                proc.wait(timeout=term_grace)
            except subprocess.TimeoutExpired:
                _killpg(pgid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
            break
    _killpg(pgid, signal.SIGKILL)  # stragglers that outlived the leader
    _wait_group_gone(pgid, 1.0)
    for t in readers:
        t.join(timeout=2)
    stuck = any(t.is_alive() for t in readers)  # a detached grandchild still holds a pipe
    for pipe in (proc.stdout, proc.stderr, proc.stdin):
        if pipe is not None and not stuck:
            with contextlib.suppress(OSError):
                pipe.close()
    return ProcessResult(
        returncode=proc.returncode,
        stdout=out.text(),
        stderr=err.text(),
        timed_out=timed_out,
        cancelled=cancelled,
        duration_s=time.monotonic() - start,
        truncated=bool(out.dropped or err.dropped),
        pid=proc.pid,
    )
