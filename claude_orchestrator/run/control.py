"""A run seen from another process: which run is going on in a project, and `claude-orchestrator stop`.

A stop is asked for as Ctrl-C asks for it (SIGINT to the run's process): the first one stops new work and
gives the running units their grace period (execution.shutdown_grace_seconds); a second one stops them at
once. The run then ends as "stopped", and the next `run` resumes it."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..process import alive
from .folder import RUN_FILE, find_run, list_runs

ASK_WAIT_S = 10.0  # how long `stop --now` waits for the run to take in its first request


def run_meta(run_path: Path) -> dict[str, Any]:
    try:
        data = json.loads((run_path / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_live(run_path: Path) -> bool:
    """The run's process is running it now."""
    meta = run_meta(run_path)
    pid = meta.get("pid")
    return meta.get("status") == "running" and isinstance(pid, int) and alive(pid)


def live_runs(root: Path) -> list[Path]:
    """Runs going on in the project, newest first."""
    return [p for p in list_runs(root) if is_live(p)]


def stop_requests(run_path: Path) -> int:
    """How many stop requests the run has taken in (its event log's stop warnings)."""
    from ..events import RunWarning
    from ..observers.eventlog import read_events

    return sum(1 for e in read_events(run_path) if isinstance(e, RunWarning) and e.grace_s is not None)


@dataclass(frozen=True)
class StopAnswer:
    run_id: str
    pid: int
    now: bool  # the running units are cancelled at once (not given their grace)
    ended: bool | None  # with wait: whether the run's process has ended
    status: str  # run.json's status after the wait ("running" while it goes on)


def stop_run(root: Path, run_id: str | None = None, *, now: bool = False, wait_s: float = 0.0) -> StopAnswer:
    """Ask the run (the named one, else the one going on) to stop; `now`: cancel its running units at once.
    With `wait_s`, wait that long for its process to end. InputError when no such run is going on."""
    if run_id is not None:
        path = find_run(root, run_id)
        if not is_live(path):
            status = run_meta(path).get("status", "unknown")
            raise InputError(f"run {path.name} is not going on (its status: {status})")
    else:
        live = live_runs(root)
        if not live:
            raise InputError(f"no run is going on in {root}")
        path = live[0]
    pid = int(run_meta(path)["pid"])
    seen = stop_requests(path)
    _signal(pid)
    if now and seen == 0:  # the first request gives a grace; a second one ends it
        deadline = time.monotonic() + ASK_WAIT_S
        while stop_requests(path) == 0 and alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal(pid)
    ended: bool | None = None
    if wait_s > 0:
        deadline = time.monotonic() + wait_s
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        ended = not alive(pid)
    status = str(run_meta(path).get("status", "unknown"))
    return StopAnswer(path.name, pid, now or seen > 0, ended, status)


def _signal(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    except PermissionError:
        raise InputError(f"not allowed to signal the run's process (pid {pid})") from None
