"""Kills what an attempt left running on a node when its Ray worker died without cleaning up (killed, or
force-exited because the driver died).

Every process an attempt starts carries ``JOB_VAR=<token>`` in its environment (the remote task sets it in
its own environment, and the backends' commands inherit it). `start` launches this module detached from the
worker (so Ray's clean-up of a dead worker's children does not take it along); it watches the worker's pid:
when the attempt's folder is gone the attempt ended cleanly and the watchdog leaves; when the worker is gone
first, it kills every process marked with the token (process.kill_tree) and removes the folder.

    python -m claude_orchestrator.run.ray.watchdog WORKER_PID TOKEN FOLDER
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ...process import alive, kill_tree, scrubbed_env  # stdlib only: a watchdog starts in ~0.1 s of CPU

JOB_VAR = "CLAUDE_ORCHESTRATOR_RAY_JOB"
POLL_S = 0.5


def start(token: str, folder: Path) -> subprocess.Popen[bytes]:
    """Launch the watchdog for this process (it detaches: its own session, and the launcher exits once it
    has forked the watcher, which is reparented). Returns the launcher: wait for it later (the attempt
    does not wait for Python to start). Call it before JOB_VAR is set here, so the watchdog does not carry
    the mark."""
    return subprocess.Popen(
        [sys.executable, "-m", __name__, str(os.getpid()), token, str(folder)],
        env=scrubbed_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def watch(pid: int, token: str, folder: Path) -> None:
    while folder.exists():
        if not alive(pid):
            kill_tree(None, token, var=JOB_VAR, grace=1.0)
            shutil.rmtree(folder, ignore_errors=True)
            return
        time.sleep(POLL_S)


def main(argv: list[str]) -> None:
    pid, token, folder = int(argv[0]), argv[1], Path(argv[2])
    if os.fork() > 0:  # the parent returns at once, so `start` does not wait; the child is reparented
        os._exit(0)
    watch(pid, token, folder)


if __name__ == "__main__":
    main(sys.argv[1:])
