"""The process tree of a command: its group and the processes that carry its marker; the kill of both."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable

MARKER_VAR = "CLAUDE_ORCHESTRATOR_PROC"


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
    st = _stat(pid)
    if st is not None:
        return st[0] != "Z"  # a zombie (killed, not yet reaped) is not running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not os.path.isdir("/proc")  # no /proc: running, as far as can be told; else it just went


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
        left = {p for p in left if alive(p)}
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
