"""Every command we start: one secret-scrubbed environment, one process-group runner, one kill.

The environment. :func:`scrubbed_env` is the environment of every command the orchestrator starts (the
commands a model issues, build, install and run steps, git): the caller's environment minus every name
that looks like a secret (:func:`is_secret_name`). Claude Code sessions get their own rule
(``workers/claude_code.py``): the same names blanked, except the credential the CLI itself needs.

The process tree. A command runs in a new session, so ``killpg`` reaches everything that stayed in its
process group. A descendant that called ``setsid`` (or ``setpgid``) leaves the group; to reach it as well,
every command carries ``MARKER_VAR=<token>`` in its environment, which its descendants inherit, and the
kill also signals every process whose environment holds the marker (``/proc/PID/environ``, Linux), plus
their descendants. A process that both leaves the group and drops the marker (``env -i`` after
``setsid``) is out of reach; only an OS sandbox (cgroups) would catch it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

MARKER_VAR = "CLAUDE_ORCHESTRATOR_PROC"
TIMEOUT_STATUS = 124  # the exit status reported for a command killed at its timeout (as timeout(1))

# --- the environment -------------------------------------------------------------------------------------

# A name is secret-looking when it holds one of these words (case-insensitive) ...
_SECRET_WORDS = re.compile(
    r"API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SESSION_?KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL"
    r"|WEBHOOK|COOKIE|CONNECTION_?STRING|DATABASE_URL|_PWD$|(^|_)(AUTH|DSN|PAT|KEY)(_|$)",
    re.IGNORECASE,
)
# ... or starts with the prefix of a model or cloud provider whose variables carry credentials.
_SECRET_PREFIXES = ("ANTHROPIC_", "OPENAI_", "AWS_", "AZURE_", "GOOGLE_", "GCP_", "CLOUDSDK_", "SLACK_")
# Names that match the above but that commands legitimately need and that hold no secret.
ALLOWED_ENV = frozenset({"AWS_REGION", "AWS_DEFAULT_REGION", "SSH_AUTH_SOCK", "TOKENIZERS_PARALLELISM"})


def is_secret_name(name: str) -> bool:
    """True when an environment variable of this name must not reach a command we start."""
    if name in ALLOWED_ENV:
        return False
    return name.upper().startswith(_SECRET_PREFIXES) or bool(_SECRET_WORDS.search(name))


def scrubbed_env(
    base: Mapping[str, str] | None = None,
    *,
    extra: Mapping[str, str] | None = None,
    path_prepend: Sequence[Path | str] = (),
) -> dict[str, str]:
    """`base` (default os.environ) minus secret-looking names, plus `extra` (trusted settings of ours),
    with `path_prepend` in front of PATH."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not is_secret_name(k)}
    if extra:
        env.update(extra)
    if path_prepend:
        env["PATH"] = os.pathsep.join([*(str(p) for p in path_prepend), env.get("PATH", "")])
    return env


# --- the process tree ------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgid) of a pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), int(fields[1]), int(fields[2])
    except (OSError, IndexError, ValueError):
        return None


def _carries(pid: int, needle: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    return needle in data and needle in data.split(b"\0")


def tree_pids(pgid: int | None = None, token: str | None = None, *, var: str = MARKER_VAR) -> set[int]:
    """Live (not zombie) pids in process group `pgid` or whose environment holds ``var=token``, with all
    their descendants. Empty where there is no /proc."""
    needle = f"{var}={token}".encode() if token else None
    parent: dict[int, int] = {}
    roots: set[int] = set()
    try:
        entries = [int(e.name) for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return roots
    for pid in entries:
        st = _stat(pid)
        if st is None or st[0] == "Z":
            continue
        parent[pid] = st[1]
        if st[2] == pgid or (needle is not None and _carries(pid, needle)):
            roots.add(pid)
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(roots), list(roots)
    while todo:
        for kid in children.get(todo.pop(), ()):
            if kid not in found:
                found.add(kid)
                todo.append(kid)
    found.discard(os.getpid())
    return found


def alive(pid: int) -> bool:
    """The process is running (not gone, not a zombie); True when it cannot be told (no /proc)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is not running
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def signal_pids(pids: Iterable[int], sig: int, pgid: int | None = None) -> None:
    """Send `sig` to process group `pgid` (if given) and to each pid; the ones already gone are skipped."""
    if pgid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def wait_gone(pids: Iterable[int], limit: float) -> bool:
    """Wait (bounded) until none of `pids` is alive (zombies waiting for their reaper count as gone)."""
    left = set(pids)
    end = time.monotonic() + limit
    while left:
        left = {p for p in left if _alive(p)}
        if not left or time.monotonic() >= end:
            break
        time.sleep(0.005)
    return not left


def kill_tree(pgid: int | None, token: str | None, *, var: str = MARKER_VAR, grace: float = 2.0) -> None:
    """SIGTERM the tree (:func:`tree_pids`), give it `grace` seconds (0: no SIGTERM), then SIGKILL what
    is left until nothing is (a few rounds, for children forked in between)."""
    if grace > 0:
        pids = tree_pids(pgid, token, var=var)
        if not pids:
            return
        signal_pids(pids, signal.SIGTERM, pgid)
        wait_gone(pids, grace)
    for _ in range(5):
        pids = tree_pids(pgid, token, var=var)
        if not pids:
            return
        signal_pids(pids, signal.SIGKILL, pgid)
        wait_gone(pids, 1.0)


# --- the runner ------------------------------------------------------------------------------------------


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

    def reap(self) -> None:
        """After the leader exited: SIGKILL whatever it left running (group members and marked processes)."""
        kill_tree(self.pid, self.token, grace=0.0)


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
) -> ProcessResult:
    """Run argv in a new session, its environment `env` (default os.environ) scrubbed. On timeout, `cancel` or an exception
    (Ctrl-C), SIGTERM the whole tree, SIGKILL it after `term_grace`. With `reap`, what the command left
    running is killed once it exits, so nothing outlives the call.

    Output: captured, bounded (head and tail kept); or, with `log`, stdout and stderr appended to that
    file; or, with `on_line`, stdout and stderr merged and handed over line by line as they arrive."""
    start = time.monotonic()
    out, err = _Bounded(max_output), _Bounded(max_output)
    merged = merge_stderr or log is not None or on_line is not None
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
    stopped = None
    try:
        if on_start is not None:
            on_start(proc)
        stopped = group.wait(timeout, cancel, poll_s)
        if stopped is not None:
            group.kill(term_grace)
        elif reap:
            group.reap()
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
