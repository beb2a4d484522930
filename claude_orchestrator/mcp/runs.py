"""Runs started from an MCP session: `claude-orchestrator run` as a detached process (its own session, so it
outlives the tool call and the MCP server), found again through its run folder, stopped as Ctrl-C stops it.

A launch is recorded in `.taskmaster/runs/.mcp/<pid>.json` with the process's output beside it (`<pid>.log`),
so that a run that never got as far as its run folder can still be reported. One run per project at a time."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, OrchestratorError
from ..files import write_json
from ..process import alive
from ..run.folder import RUN_FILE, list_runs, runs_root

LAUNCH_DIR = ".mcp"  # hidden from run listings (they skip dot folders)
START_TIMEOUT_S = 60.0  # how long run_tasks waits for the run to show up (or fail) before answering
_children: dict[int, subprocess.Popen[bytes]] = {}  # launched by this server, reaped when polled
_lock = threading.Lock()


@dataclass(frozen=True)
class RunOptions:
    """What run_tasks passes to `claude-orchestrator run` (every value is checked before it is used)."""

    ids: str | None = None
    with_deps: bool = False
    tag: str | None = None
    workers: int | None = None
    backend: str | None = None
    budget_usd: float | None = None
    no_review: bool = False
    branch: str | None = None
    fresh: bool = False

    def argv(self, root: Path) -> list[str]:
        out = [
            sys.executable,
            "-m",
            "claude_orchestrator",
            "run",
            "--working-dir",
            str(root),
            "--no-progress",
        ]
        for flag, value in (
            ("--id", self.ids),
            ("--tag", self.tag),
            ("--workers", self.workers),
            ("--backend", self.backend),
            ("--budget-usd", self.budget_usd),
            ("--branch", self.branch),
        ):
            if value is not None:
                out += [flag, str(value)]
        out += [f for f, on in (("--with-deps", self.with_deps), ("--no-review", self.no_review)) if on]
        return out + (["--fresh"] if self.fresh else [])


def _launch_dir(root: Path) -> Path:
    return runs_root(root) / LAUNCH_DIR


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def reap() -> None:
    """Collect the exit status of finished children, so they do not linger as zombies."""
    with _lock:
        for pid, proc in list(_children.items()):
            if proc.poll() is not None:
                del _children[pid]


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait for a run this server launched to end; True when it has."""
    with _lock:
        proc = _children.get(pid)
    if proc is None:
        return not alive(pid)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return False
    reap()
    return True


def run_meta(run_path: Path) -> dict[str, Any]:
    return _read(run_path / RUN_FILE)


def active_run(root: Path) -> tuple[str, int] | None:
    """(run id or "starting", pid) of the run in progress in this project, if any."""
    reap()
    for path in list_runs(root)[:20]:
        meta = run_meta(path)
        pid = meta.get("pid")
        if meta.get("status") == "running" and isinstance(pid, int) and alive(pid):
            return path.name, pid
    launches = _launch_dir(root)
    for rec in sorted(launches.glob("*.json")) if launches.is_dir() else []:
        info = _read(rec)
        pid = info.get("pid")
        if isinstance(pid, int) and alive(pid) and run_of_pid(root, pid) is None:
            return "starting", pid
    return None


def run_of_pid(root: Path, pid: int) -> Path | None:
    for path in list_runs(root)[:20]:
        if run_meta(path).get("pid") == pid:
            return path
    return None


def log_tail(root: Path, pid: int, lines: int = 12) -> list[str]:
    try:
        text = (_launch_dir(root) / f"{pid}.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


def start(root: Path, options: RunOptions, timeout: float = START_TIMEOUT_S) -> dict[str, Any]:
    """Launch the run and wait until it has its run folder (or has ended, or `timeout` passed)."""
    busy = active_run(root)
    if busy is not None:
        what = "a run is starting" if busy[0] == "starting" else f"run {busy[0]} is still running"
        raise InputError(f"{what} (pid {busy[1]}) in {root}; wait for it or call cancel_run first")
    folder = _launch_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    argv = options.argv(root)
    tmp_log = folder / f".starting-{os.getpid()}-{threading.get_ident()}.log"
    with open(tmp_log, "wb") as out:
        proc = subprocess.Popen(  # secrets stay in the environment, never in argv
            argv,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    with _lock:
        _children[proc.pid] = proc
    os.replace(tmp_log, folder / f"{proc.pid}.log")
    write_json(folder / f"{proc.pid}.json", {"pid": proc.pid, "argv": argv[1:], "launched_at": time.time()})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = run_of_pid(root, proc.pid)
        if path is not None:
            return {"runId": path.name, "pid": proc.pid, "status": "running", "runPath": str(path)}
        code = proc.poll()
        if code is not None:
            return _ended_early(root, proc.pid, code)
        time.sleep(0.1)
    return {"runId": None, "pid": proc.pid, "status": "starting", "log": str(folder / f"{proc.pid}.log")}


def _ended_early(root: Path, pid: int, code: int) -> dict[str, Any]:
    """The process ended before writing a run folder: nothing to do, or an error to pass on."""
    reap()
    tail = log_tail(root, pid)
    if code == 0:
        return {"runId": None, "pid": pid, "status": "nothing-to-do", "output": tail}
    errors = [line.removeprefix("Error: ") for line in tail if line.startswith("Error: ")]
    detail = errors[-1] if errors else " | ".join(tail[-3:]) or f"exit code {code}"
    raise OrchestratorError(f"the run did not start: {detail}")


def find(root: Path, run_id: str | None) -> Path:
    """The named run, else the active one, else the newest."""
    from ..run.folder import find_run

    if run_id is None:
        busy = active_run(root)
        if busy is not None and busy[0] != "starting":
            return find_run(root, busy[0])
    return find_run(root, run_id)


def cancel(root: Path, run_id: str | None, wait_s: float = 0.0) -> dict[str, Any]:
    """Ask the run to stop as Ctrl-C does: no new work; running tasks get their grace period. A second call
    cancels them at once, as a second Ctrl-C does."""
    path = find(root, run_id)
    meta = run_meta(path)
    pid = meta.get("pid")
    if meta.get("status") != "running" or not isinstance(pid, int) or not alive(pid):
        raise InputError(f"run {path.name} is not running (status: {meta.get('status', 'unknown')})")
    os.kill(pid, signal.SIGINT)
    stopped = wait_for_exit(pid, wait_s) if wait_s > 0 else False
    return {
        "runId": path.name,
        "pid": pid,
        "signalled": True,
        "stopped": stopped,
        "message": "Stop requested: no new tasks start; running tasks get their grace period "
        "(execution.shutdown_grace_seconds). Call cancel_run again to cancel them at once.",
    }


def status_of(path: Path) -> str:
    """running, interrupted (its process died without finishing), or what run.json says it ended as."""
    meta = run_meta(path)
    status = str(meta.get("status") or "unknown")
    pid = meta.get("pid")
    if status == "running" and not (isinstance(pid, int) and alive(pid)):
        return "interrupted"
    return status


def forget_launches(root: Path) -> None:
    """Drop launch records of processes that have ended (their logs stay)."""
    folder = _launch_dir(root)
    for rec in folder.glob("*.json") if folder.is_dir() else []:
        pid = _read(rec).get("pid")
        if not (isinstance(pid, int) and alive(pid)):
            with contextlib.suppress(OSError):
                rec.unlink()


__all__ = ["RunOptions", "active_run", "cancel", "find", "start", "status_of", "wait_for_exit"]
