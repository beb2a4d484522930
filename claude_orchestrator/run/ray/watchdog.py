"""Kills what a node agent's attempts left running when the agent's process died without cleaning up
(killed, or ended with the run).

Every process an attempt starts carries ``JOB_VAR=<token>`` in its environment (process.marked on the
attempt's thread, and the backends' commands inherit it); the attempt works in ``HOME/<token>``. `start`
launches this module detached from the agent (so Ray's clean-up of a dead worker's children does not take it
along); it watches the agent's pid: when the agent is gone, it kills every process marked with the token of
a folder still in HOME (process.kill_tree) and removes HOME; when HOME is gone first, it leaves.

    python -m claude_orchestrator.run.ray.watchdog AGENT_PID HOME
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


def start(home: Path) -> subprocess.Popen[bytes]:
    """Launch the watchdog of this process's attempts in `home` (it detaches: its own session, and the
    launcher exits once it has forked the watcher, which is reparented). Returns the launcher: wait for it
    later. Call it from a thread with no attempt's mark, so the watchdog does not carry one."""
    return subprocess.Popen(
        [sys.executable, "-m", __name__, str(os.getpid()), str(home)],
        env=scrubbed_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def watch(pid: int, home: Path) -> None:
    while home.exists():
        if not alive(pid):
            for folder in home.iterdir() if home.is_dir() else ():
                kill_tree(None, folder.name, var=JOB_VAR, grace=1.0)
            shutil.rmtree(home, ignore_errors=True)
            return
        time.sleep(POLL_S)


def main(argv: list[str]) -> None:
    pid, home = int(argv[0]), Path(argv[1])
    if os.fork() > 0:  # the parent returns at once, so `start` does not wait; the child is reparented
        os._exit(0)
    watch(pid, home)


if __name__ == "__main__":
    main(sys.argv[1:])
