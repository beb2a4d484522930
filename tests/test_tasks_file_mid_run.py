"""tasks.json as a person's editor leaves it mid-run: half a file for a moment, or for good. The run waits for
a readable file (bounded), then stops cleanly with one clear line; merged work is never reported failed, and
the next run finishes what is left without redoing anything."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from run_helpers import TASKS_JSON, git, make_project, task, task_of, writer

from claude_orchestrator.testing.fake_anthropic import FakeAnthropic


def start_run(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "claude_orchestrator", "run", "--working-dir", str(root), "--backend", "api"]
        + ["--no-review", "--no-progress", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_done(root: Path, n: int, proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """Wait until `n` tasks are done in tasks.json; returns the file's text at that moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = (root / TASKS_JSON).read_text()
            if sum(t["status"] == "done" for t in json.loads(text)["master"]["tasks"]) >= n:
                return text
        except (ValueError, KeyError):
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    raise AssertionError("the tasks were never done")


def worker_starts(fake: FakeAnthropic) -> list[str]:
    return [
        tid
        for r in fake.requests
        if r.has_tool("write_file") and not r.tool_results and (tid := task_of(r)) is not None
    ]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    with FakeAnthropic(model=writer(), latency=0.4) as f:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", f.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-half-file")
        yield f


def test_half_a_file_for_a_moment_is_waited_for(tmp_path: Path, fake: Any) -> None:
    root = make_project(tmp_path / "p", [task(i) for i in range(1, 6)], track_tasks=True)
    proc = start_run(root, "--workers", "2")
    whole = wait_done(root, 1, proc)
    (root / TASKS_JSON).write_text(whole[: len(whole) // 2])  # the editor has written half
    time.sleep(1.5)
    (root / TASKS_JSON).write_text(whole)  # ... and now the rest
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "Traceback" not in out and "failed:" not in out
    tasks = json.loads((root / TASKS_JSON).read_text())["master"]["tasks"]
    assert all(t["status"] == "done" for t in tasks), out
    assert_never_committed_half(root)


def assert_never_committed_half(root: Path) -> None:
    """No status commit ever held a half-written tasks.json."""
    for sha in git(root, "log", "--format=%H", "main").split():
        blob = subprocess.run(
            ["git", "-C", str(root), "show", f"{sha}:{TASKS_JSON}"], capture_output=True, text=True
        ).stdout
        json.loads(blob)


def test_a_file_left_broken_stops_the_run_cleanly_and_the_next_run_finishes(
    tmp_path: Path, fake: Any
) -> None:
    root = make_project(
        tmp_path / "p",
        [task(i) for i in range(1, 7)],
        track_tasks=True,
        execution={"tasks_file_wait_seconds": 2},
    )
    proc = start_run(root, "--workers", "2")
    whole = wait_done(root, 1, proc)
    (root / TASKS_JSON).write_text(whole[: len(whole) // 2])  # and the editor crashed
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out
    assert "Traceback" not in out and "failed:" not in out, out
    notes = [line for line in out.splitlines() if "cannot be read" in line]
    assert notes and all("tasks.json" in line for line in notes), out
    assert any(line.startswith("note: ") and "fix it" in line for line in notes), out
    merged = {
        s.split(":")[0].rsplit(" ", 1)[-1]
        for s in git(root, "log", "--format=%s", "main").splitlines()
        if s.startswith("[orchestrator] Task ")
    }
    assert len(merged) >= 2  # work went on being merged while the file could not be read
    assert_never_committed_half(root)
    # the person fixes the file; the next run records what was merged and does only the rest
    (root / TASKS_JSON).write_text(whole)
    git(root, "add", str(TASKS_JSON))
    git(root, "commit", "-q", "--allow-empty", "-m", "fixed by hand")
    again = start_run(root)
    out2, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out2
    assert "resuming run" in out2
    tasks = json.loads((root / TASKS_JSON).read_text())["master"]["tasks"]
    assert all(t["status"] == "done" for t in tasks), out2
    starts = worker_starts(fake)
    assert sorted(starts) == sorted(set(starts)) == [str(i) for i in range(1, 7)]  # nothing ran twice
