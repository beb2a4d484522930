"""The one process-group runner: a command in a new session, its output bounded, nothing left running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .env import scrubbed_env
from .tree import MARKER_VAR, kill_tree

TIMEOUT_STATUS = 124  # the exit status reported for a command killed at its timeout (as timeout(1))


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


def _pump(pipe: Any, sink: Callable[[bytes], None], lines: bool) -> None:
    try:
        read = pipe.readline if lines else (lambda: pipe.read1(65536))
        for chunk in iter(read, b""):
            sink(chunk)
    except (OSError, ValueError):
        pass


class ProcessGroup:
    """One command started in a new session (its own process group), tagged with a marker token."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | str,
        env: Mapping[str, str] | None = None,
        stdin: Any = subprocess.DEVNULL,
        stdout: Any = subprocess.PIPE,
        stderr: Any = subprocess.PIPE,
    ) -> None:
        """The command's environment is `env` (default os.environ), always scrubbed of secret-looking
        names: nothing started here can be handed a secret."""
        self.token = uuid.uuid4().hex
        full = scrubbed_env(env)
        full[MARKER_VAR] = self.token
        self.proc = subprocess.Popen(
            [str(a) for a in argv],
            cwd=str(cwd),
            env=full,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        self.pid = self.proc.pid

    def wait(self, timeout: float | None, cancel: threading.Event | None, poll_s: float) -> str | None:
        """Wait for the leader to exit: None, or "timeout" / "cancelled" (then it is still running)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = poll_s if cancel is not None else None
            if deadline is not None:
                left = max(deadline - time.monotonic(), 0.0)
                step = left if step is None else min(step, left)
            try:
                self.proc.wait(timeout=step)
                return None
            except subprocess.TimeoutExpired:
                pass
            if cancel is not None and cancel.is_set():
                return "cancelled"
            if deadline is not None and time.monotonic() >= deadline:
                return "timeout"

    def kill(self, grace: float) -> None:
        """SIGTERM the whole tree, SIGKILL it after `grace` seconds, and reap the leader."""
        kill_tree(self.pid, self.token, grace=grace)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def reap(self, sweep: bool = True) -> None:
        """After the leader exited: SIGKILL whatever it left running in its group and, with `sweep`, the
        marked processes that left the group (a scan of /proc)."""
        if sweep:
            kill_tree(self.pid, self.token, grace=0.0)
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)


class _HeldSignals:
    """In the main thread, SIGINT and SIGTERM that arrive between `hold()` and `release()` are held, and
    handed to their handlers by `release()`; elsewhere (signals only reach the main thread) nothing
    changes. Not a context manager: a signal handled as a `with` block ends would raise outside the
    caller's `try`."""

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.held: list[int] = []
        self.old: dict[int, Any] = {}

    def hold(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for sig in self._SIGNALS:
                if signal.getsignal(sig) is not None:  # None: a handler not set from Python, left alone
                    self.old[sig] = signal.signal(sig, lambda signum, _frame: self.held.append(signum))

    def release(self) -> None:
        """Put the handlers back, then hand each held signal to its handler (which may raise)."""
        old, self.old = self.old, {}
        for sig, handler in old.items():
            signal.signal(sig, handler)
        held, self.held = self.held, []
        for signum in held:
            handler = old.get(signum)
            if callable(handler):
                handler(signum, None)  # Python's own for SIGINT raises KeyboardInterrupt
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), signum)


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
    log: IO[bytes] | None = None,
    on_line: Callable[[str], None] | None = None,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
    reap: bool = True,
    sweep: bool = True,
) -> ProcessResult:
    """Run argv in a new session, its environment `env` (default os.environ) scrubbed. On timeout, `cancel` or an exception
    (Ctrl-C), SIGTERM the whole tree, SIGKILL it after `term_grace`. With `reap`, what the command left
    running is killed once it exits, so nothing outlives the call; without `sweep`, only what stayed in its
    process group (for commands that never start a new session, such as git with hooks off).

    Output: captured, bounded (head and tail kept); or, with `log`, stdout and stderr appended to that
    file; or, with `on_line`, stdout and stderr merged and handed over line by line as they arrive."""
    start = time.monotonic()
    out, err = _Bounded(max_output), _Bounded(max_output)
    merged = merge_stderr or log is not None or on_line is not None
    held = _HeldSignals()
    held.hold()  # a Ctrl-C between the start and `try` below would leave the group running
    group: ProcessGroup | None = None
    try:
        group = ProcessGroup(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=log if log is not None else subprocess.PIPE,
            stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        )
        proc = group.proc
        readers = _start_io(proc, out, err, on_line, input)
    except BaseException:
        if group is not None:
            group.kill(term_grace)
        held.release()  # the command did not start: nothing left to kill, a held signal still counts
        raise
    stopped = None
    try:
        held.release()  # inside `try`: a signal held while it started is handled here, killing the group
        if on_start is not None:
            on_start(proc)
        stopped = group.wait(timeout, cancel, poll_s)
        if stopped is not None:
            group.kill(term_grace)
        elif reap:
            group.reap(sweep)
    except BaseException:
        group.kill(term_grace)
        raise
    finally:
        _finish_io(proc, readers)
    return ProcessResult(
        returncode=proc.returncode,
        stdout=out.text(),
        stderr=err.text(),
        timed_out=stopped == "timeout",
        cancelled=stopped == "cancelled",
        duration_s=time.monotonic() - start,
        truncated=bool(out.dropped or err.dropped),
        pid=proc.pid,
    )


def _start_io(
    proc: subprocess.Popen[bytes],
    out: _Bounded,
    err: _Bounded,
    on_line: Callable[[str], None] | None,
    input: bytes | None,
) -> list[threading.Thread]:
    def line(raw: bytes) -> None:
        if on_line is not None:
            on_line(raw.decode("utf-8", errors="replace").rstrip("\n"))

    pipes = [(proc.stdout, line if on_line is not None else out.add), (proc.stderr, err.add)]
    readers = [
        threading.Thread(target=_pump, args=(pipe, sink, on_line is not None), daemon=True)
        for pipe, sink in pipes
        if pipe is not None
    ]
    for t in readers:
        t.start()
    if input is not None and proc.stdin is not None:
        stdin = proc.stdin

        def feed() -> None:
            with contextlib.suppress(OSError):
                stdin.write(input)
                stdin.close()

        threading.Thread(target=feed, daemon=True).start()
    return readers


def _finish_io(proc: subprocess.Popen[bytes], readers: list[threading.Thread]) -> None:
    for t in readers:
        t.join(timeout=2)
    stuck = any(t.is_alive() for t in readers)  # a process out of reach still holds a pipe
    for pipe in (proc.stdout, proc.stderr, proc.stdin):
        if pipe is not None and not stuck:
            with contextlib.suppress(OSError):
                pipe.close()
