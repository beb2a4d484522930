"""Ctrl-C as a person presses it: `claude-orchestrator run` in a real pseudo-terminal (its controlling
terminal, the live display on), the key sent through the terminal so that the kernel signals the terminal's
foreground process group. Then `run` again, which resumes the stopped run."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pty_helpers import Terminal
from run_helpers import make_project, task, tasks_of, writer

from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, FakeRequest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="pseudo-terminal and /proc")


def run_argv(root: Path, *args: str) -> list[str]:
    return ["-m", "claude_orchestrator", "run", "--working-dir", str(root), *args]


def worker_starts(fake: FakeAnthropic) -> list[str]:
    """Task ids of worker conversations that started (first request of a task's conversation)."""
    from run_helpers import task_of

    out = []
    for r in fake.requests:
        if "reviewing manager" in r.system_text or r.tool_results:
            continue
        if r.has_tool("Write") or r.has_tool("write_file"):
            tid = task_of(r)
            if tid is not None:
                out.append(tid)
    return out


def run_meta(root: Path) -> dict[str, Any]:
    (run,) = (root / ".taskmaster" / "runs").iterdir()
    return dict(json.loads((run / "run.json").read_text()))


@pytest.fixture
def model_env(monkeypatch: pytest.MonkeyPatch):
    fakes: list[FakeAnthropic] = []

    def start(model: Callable[[FakeRequest], Any], latency: float) -> FakeAnthropic:
        fake = FakeAnthropic(model=model, latency=latency).start()
        fakes.append(fake)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-ctrl-c")
        return fake

    yield start
    for f in fakes:
        f.stop()


@pytest.mark.skipif(find_claude_cli() is None, reason="Claude Code CLI not available")
def test_one_ctrl_c_reaches_only_the_orchestrator_which_finishes_in_flight_work_then_resumes(
    tmp_path: Path, model_env: Any
) -> None:
    root = make_project(tmp_path / "p", [task(1), task(2), task(3, [1])])
    fake = model_env(writer(), 1.5)
    term = Terminal(run_argv(root, "--backend", "claude-code", "--workers", "2", "--no-review"), root)
    try:
        term.wait_for(lambda t: t.count("working") >= 1 and "Task number 2" in t)
        term.press_ctrl_c()
        shown = term.wait_for(re.compile(r"stopping \(\d+s left\)").search)
        assert "Traceback" not in shown
        code = term.proc.wait(120)
    finally:
        term.close()
    out = term.text
    assert code == 130, out[-2000:]  # stopped by the person: not a failure
    assert "Traceback" not in out
    tasks = tasks_of(root)
    # Claude Code did not get the terminal's SIGINT: the work in flight finished within the grace
    assert (tasks["1"]["status"], tasks["2"]["status"]) == ("done", "done"), out[-2000:]
    assert tasks["3"]["status"] == "pending"
    meta = run_meta(root)
    assert meta["status"] == "stopped"
    assert "claude-orchestrator run" in out and "resume" in out  # the report says how to go on
    # the next run resumes the stopped one and runs only what is left
    res = subprocess.run(
        [sys.executable, *run_argv(root, "--backend", "claude-code", "--no-review", "--no-progress")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"resuming run {meta['run_id']}" in res.stdout
    assert tasks_of(root)["3"]["status"] == "done"
    assert sorted(worker_starts(fake)) == ["1", "2", "3"]  # nothing ran twice
    assert len(list((root / ".taskmaster" / "runs").iterdir())) == 1
    # what task 3 did, read back from its Claude Code transcript
    log = subprocess.run(
        [sys.executable, "-m", "claude_orchestrator", "log", "3", "--project", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert log.returncode == 0, log.stderr
    assert "attempt 1 on claude-code" in log.stdout and "  turn 1" in log.stdout
    assert '→ Write(file_path="f3.txt", content="3\\n")' in log.stdout, log.stdout
    assert "← " in log.stdout and "Claude Code ended: done" in log.stdout and "done: $" in log.stdout


def test_a_second_ctrl_c_stops_at_once_and_the_next_run_finishes_the_work(
    tmp_path: Path, model_env: Any
) -> None:
    root = make_project(tmp_path / "p", [task(1), task(2)])
    model_env(writer(), 4.0)
    term = Terminal(run_argv(root, "--backend", "api", "--workers", "2", "--no-review"), root)
    try:
        term.wait_for(lambda t: "Task number 1" in t and "Task number 2" in t)
        term.press_ctrl_c()
        term.wait_for(re.compile(r"stopping \(\d+s left\)").search)
        t0 = time.monotonic()
        term.press_ctrl_c()
        term.wait_for("stopping now", timeout=30)
        code = term.proc.wait(60)
        took = time.monotonic() - t0
    finally:
        term.close()
    out = term.text
    assert code == 130, out[-2000:]
    assert took < 20, f"the second Ctrl-C took {took:.0f}s to stop the run"
    assert "Traceback" not in out
    assert run_meta(root)["status"] == "stopped"
    res = subprocess.run(
        [sys.executable, *run_argv(root, "--backend", "api", "--no-review", "--no-progress")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "resuming run" in res.stdout
    assert all(t["status"] == "done" for t in tasks_of(root).values())


def test_stop_from_another_terminal_asks_the_run_to_stop(tmp_path: Path, model_env: Any) -> None:
    root = make_project(tmp_path / "p", [task(1), task(2, [1])])
    model_env(writer(), 1.0)
    proc = subprocess.Popen(
        [sys.executable, *run_argv(root, "--backend", "api", "--no-review", "--no-progress")],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = root / ".taskmaster" / "runs"
            if runs.is_dir() and any((p / "events.ndjson").is_file() for p in runs.iterdir()):
                break
            time.sleep(0.05)
        res = subprocess.run(
            [sys.executable, "-m", "claude_orchestrator", "stop", "--project", str(root), "--wait"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stdout + res.stderr
        assert "stop requested" in res.stdout and "stopped" in res.stdout
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, out
    again = subprocess.run(
        [sys.executable, "-m", "claude_orchestrator", "stop", "--project", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 2 and "no run is going on" in again.stderr
