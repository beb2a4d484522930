"""Ray nodes on this machine, for tests and benchmarks of the Ray executor: a head and more nodes, each a
`ray start --block` with its own temp folder and ports, stopped together at the end (by a mark in their
environment, so nothing else on the machine is touched; never `ray stop`, which stops every Ray here).

Needs the `ray` extra (its `ray` command); Ray itself is not imported.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..process import kill_tree

MARK = "CLAUDE_ORCHESTRATOR_TEST_RAY"
OBJECT_STORE = 80 * 1024 * 1024  # bytes of shared memory per node: small, the bundles are small
SOURCE = Path(__file__).resolve().parents[2]  # the folder that holds this package


def node_env(**extra: str) -> dict[str, str]:
    """What a Ray process started here gets: this package importable, no token auth (which writes
    ~/.ray), usage stats off."""
    path = [str(SOURCE), *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(path)),
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def ray_nodes(env: dict[str, str], head: list[str], others: list[list[str]]) -> Iterator[str]:
    """A head node (`head`: its extra `ray start` arguments) and one node per `others` entry, each with
    its own temp folder, its own ports and `env` over this environment (plus `node_env()`). Yields the
    head's address (HOST:PORT) once it listens; the other nodes may still be joining. At the end every
    process they started (raylets, workers, what the workers started) is killed, and nothing else."""
    token = uuid.uuid4().hex
    full = {**os.environ, **node_env(), **env, MARK: token}
    temps: list[str] = []
    procs: list[subprocess.Popen[bytes]] = []
    port = free_port()
    ray = str(Path(sys.executable).parent / "ray")

    def start(*args: str) -> None:
        temps.append(tempfile.mkdtemp(prefix="rayn-", dir="/tmp"))  # short: socket paths fit 107 bytes
        cmd = [ray, "start", "--block", "--disable-usage-stats", f"--temp-dir={temps[-1]}"]
        cmd += [f"--object-store-memory={OBJECT_STORE}", f"--dashboard-agent-listen-port={free_port()}"]
        with open(Path(temps[-1]) / "start.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    [*cmd, *args],
                    env=full,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    try:
        start("--head", f"--port={port}", "--include-dashboard=false", *head)
        deadline = time.monotonic() + 180
        while not listening(port):
            if time.monotonic() > deadline or procs[0].poll() is not None:
                log = (Path(temps[0]) / "start.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the Ray head node did not start:\n{log}")
            time.sleep(0.1)
        for args in others:
            start(f"--address=127.0.0.1:{port}", *args)
        yield f"127.0.0.1:{port}"
    finally:
        kill_tree(None, token, var=MARK, grace=5.0)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)
        for d in temps:
            shutil.rmtree(d, ignore_errors=True)
