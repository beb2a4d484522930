"""remove-task and tags remove ask before deleting (as task-master-ai does). With no terminal to ask on they
refuse: exit 2, one line, the file untouched. In a pseudo-terminal, "n" keeps everything and "y" deletes."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest
from tm_helpers import clean_env, make_project, ours_bin, read_json, run_ours, task, tasks_path


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p", [task(1), task(2, deps=[1])], other=[task(1)])


@pytest.mark.parametrize(
    "args",
    [["remove-task", "--id=1"], ["tags", "remove", "other"], ["delete-tag", "other"]],
)
def test_without_yes_and_without_a_terminal_nothing_is_deleted(proj: Path, args: list[str]) -> None:
    before = snapshot(tasks_path(proj))
    proc = run_ours(args, proj, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "-y" in lines[0] and "no terminal" in lines[0]
    assert snapshot(tasks_path(proj)) == before


def in_terminal(args: list[str], cwd: Path, answer: str) -> tuple[int, str]:
    """Run our CLI on a pseudo-terminal, wait for its question, answer it, return (exit code, output)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [ours_bin(), *args], cwd=cwd, stdin=follower, stdout=follower, stderr=follower, env=clean_env()
    )
    os.close(follower)
    out = b""
    deadline = time.monotonic() + 60
    try:
        while b"?" not in out and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                out += os.read(leader, 4096)
        assert b"Permanently delete" in out, out.decode(errors="replace")
        os.write(leader, answer.encode() + b"\n")
        code = proc.wait(timeout=60)
        while select.select([leader], [], [], 0.1)[0]:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    return code, out.decode(errors="replace")


def test_in_a_terminal_no_keeps_and_yes_deletes(proj: Path) -> None:
    before = snapshot(tasks_path(proj))
    code, out = in_terminal(["remove-task", "--id=1"], proj, "n")
    assert code == 0 and "nothing was deleted" in out
    assert snapshot(tasks_path(proj)) == before
    code, out = in_terminal(["remove-task", "--id=1"], proj, "y")
    assert code == 0 and "Removed 1" in out
    assert [t["id"] for t in read_json(proj)["master"]["tasks"]] == [2]
    code, _ = in_terminal(["tags", "remove", "other"], proj, "y")
    assert code == 0 and "other" not in read_json(proj)


def test_yes_deletes_without_asking(proj: Path) -> None:
    run_ours(["remove-task", "--id=2", "-y"], proj)
    run_ours(["tags", "remove", "other", "--yes"], proj)
    data = read_json(proj)
    assert [t["id"] for t in data["master"]["tasks"]] == [1] and "other" not in data
