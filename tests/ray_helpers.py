"""Helpers of the Ray executor tests: a small Ray cluster (in this process or as `ray start` nodes), and
the processes it runs, found through /proc."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_orchestrator.testing.ray_nodes import OBJECT_STORE, node_env, ray_nodes

__all__ = ["local_cluster", "node_env", "pids_with", "ray_nodes", "wait_for"]


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
