"""Helpers of the Ray executor tests: a small Ray cluster (in this process or as `ray start` nodes), and
the processes it runs, found through /proc."""

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

OBJECT_STORE = 80 * 1024 * 1024
REPO = Path(__file__).resolve().parent.parent


def node_env(**extra: str) -> dict[str, str]:
    """What a Ray process started by a test gets: this package importable, no token auth (which writes
    ~/.ray), usage stats off."""
    path = [str(REPO), *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(path)),
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        **extra,
    }


@contextlib.contextmanager
def local_cluster(env: dict[str, str], num_cpus: int = 2) -> Iterator[tuple[Any, Path]]:
    """A Ray instance started in this process, and its workers' temporary folder; its workers inherit
    `env`."""
    import ray

    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    work = Path(temp) / "tmp"  # the workers' TMPDIR: attempt folders and the bundle cache
    work.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for k, v in {**node_env(), "TMPDIR": str(work), **env}.items():
            mp.setenv(k, v)
        ray.init(
            num_cpus=num_cpus,
            object_store_memory=OBJECT_STORE,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            _temp_dir=temp,
        )
    try:
        yield ray, work
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def ray_cli() -> str:
    return str(Path(sys.executable).parent / "ray")


def pids_with(needle: bytes, where: str = "cmdline") -> list[int]:
    """Live processes whose /proc/PID/<where> holds `needle`."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry.name}/{where}", "rb") as f:
                if needle in f.read():
                    with open(f"/proc/{entry.name}/stat", "rb") as s:
                        if s.read().rsplit(b")", 1)[1].split()[0] != b"Z":
                            found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_for(check: Callable[[], Any], timeout: float = 120.0, what: str = "a condition") -> Any:
    """The first truthy value of `check()`, asked every 50 ms; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.contextmanager
def ray_nodes(env: dict[str, str], extra: list[list[str]], port: int) -> Iterator[str]:
    """A head node and one node per `extra` argument list, each a `ray start --block` with its own temp
    folder, all carrying a mark in their environment: at the end every process they started (raylets,
    workers, the watchdogs of attempts) is killed by that mark, and nothing else."""
    from claude_orchestrator.process import kill_tree

    token = uuid.uuid4().hex
    full = {**os.environ, **node_env(), **env, MARK: token}
    temps: list[str] = []
    procs: list[subprocess.Popen[bytes]] = []
    address = f"127.0.0.1:{port}"

    def start(*args: str) -> None:
        temps.append(tempfile.mkdtemp(prefix="rayn-", dir="/tmp"))
        cmd = [ray_cli(), "start", "--block", "--disable-usage-stats", f"--temp-dir={temps[-1]}", *args]
        log = open(Path(temps[-1]) / "start.log", "wb")  # noqa: SIM115
        procs.append(
            subprocess.Popen(cmd, env=full, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )

    try:
        start(
            "--head",
            f"--port={port}",
            "--include-dashboard=false",
            f"--object-store-memory={OBJECT_STORE}",
            "--num-cpus=1",
        )
        wait_for(lambda: _listening(port), 180, "the head node")
        for args in extra:
            start(f"--address={address}", f"--object-store-memory={OBJECT_STORE}", *args)
        yield address
    finally:
        kill_tree(None, token, var=MARK, grace=5.0)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)
        for d in temps:
            shutil.rmtree(d, ignore_errors=True)


MARK = "CLAUDE_ORCHESTRATOR_TEST_RAY"


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
