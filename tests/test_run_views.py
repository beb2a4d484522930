"""Seeing what happened, and what is happening: `log TASK` reads a task's transcript back; `task-master show`
says why the orchestrator gave up on a task; `watch-run` and `status --follow` re-attach to a run going on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pty_helpers import Terminal
from run_helpers import make_project, task, writer

from claude_orchestrator.cli.main import cli
from claude_orchestrator.cli.taskmaster import cli as tm_cli
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, Reply, error_reply


@pytest.fixture
def model_env(monkeypatch: pytest.MonkeyPatch):
    fakes: list[FakeAnthropic] = []

    def start(model: Any, latency: float = 0.0) -> FakeAnthropic:
        fake = FakeAnthropic(model=model, latency=latency).start()
        fakes.append(fake)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-views")
        return fake

    yield start
    for f in fakes:
        f.stop()


def test_log_reads_a_task_back_and_show_says_why_a_task_failed(tmp_path: Path, model_env: Any) -> None:
    root = make_project(tmp_path / "p", [task(1), task(2)])
    failed_once: set[str] = set()

    def fail_1_once(tid: str, _req: Any) -> Reply | None:
        if tid == "1" and tid not in failed_once:
            failed_once.add(tid)
            return error_reply(400, "invalid request (injected)")
        return None

    model_env(writer(before=fail_1_once, rejected=("2",)))
    res = CliRunner().invoke(cli, ["run", "--working-dir", str(root), "--no-progress", "--backend", "api"])
    assert res.exit_code == 1, res.output
    log = CliRunner().invoke(cli, ["log", "1", "--project", str(root)])
    assert log.exit_code == 0, log.output
    lines = log.output.splitlines()
    assert lines[0].startswith("Task 1: Task number 1  (run ")
    assert "attempt 1 on api" in log.output and "attempt 2 on api" in log.output
    assert any(line.startswith("retry 2 in ") and "400" in line for line in lines), log.output
    assert '    → write_file(path="f1.txt", content="1\\n")' in lines
    assert any(line.startswith("    ← ") for line in lines)
    assert '    says: "wrote the file of task 1"' in lines
    assert "review: PASS" in lines and any(line.startswith("merged into main @ ") for line in lines)
    assert lines[-1].startswith("done: $") and "commit " in lines[-1]
    log2 = CliRunner().invoke(cli, ["log", "2", "--project", str(root)])
    assert "review: FAIL\n    - not good enough" in log2.output
    assert "FAILED after" in log2.output and "review failed twice" in log2.output
    # task-master show says why the run gave up on task 2
    tasks_file = str(root / ".taskmaster" / "tasks" / "tasks.json")
    show = CliRunner().invoke(tm_cli, ["show", "2", "--file", tasks_file])
    assert show.exit_code == 0, show.output
    assert "Status:       blocked" in show.output
    assert "Failed in run " in show.output and "review failed twice: not good enough" in show.output
    assert "Failed in run" not in CliRunner().invoke(tm_cli, ["show", "1", "--file", tasks_file]).output
    missing = CliRunner().invoke(cli, ["log", "9", "--project", str(root)])
    assert missing.exit_code == 2 and "task 9 has not run" in missing.output


def start_run(root: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "claude_orchestrator", "run", "--working-dir", str(root), "--backend", "api"]
        + ["--no-review", "--no-progress", "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = root / ".taskmaster" / "runs"
        if runs.is_dir() and any((p / "events.ndjson").is_file() for p in runs.iterdir()):
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the run never started")


def test_watch_run_re_attaches_the_live_view_until_the_run_ends(tmp_path: Path, model_env: Any) -> None:
    root = make_project(tmp_path / "p", [task(1), task(2), task(3, [1])])
    model_env(writer(), latency=1.0)
    run = start_run(root)
    term = Terminal(["-m", "claude_orchestrator", "watch-run", "--project", str(root)], root)
    try:
        term.wait_for("Task number 1")  # a row of the live view, from the event log
        shown = term.wait_for("run completed", timeout=120)
        assert term.proc.wait(30) == 0
    finally:
        term.close()
        run.wait(60)
    assert run.returncode == 0
    assert "ready" in shown and "running" in shown and "Traceback" not in shown


def test_status_follow_prints_status_then_the_run_until_it_ends(tmp_path: Path, model_env: Any) -> None:
    root = make_project(tmp_path / "p", [task(1), task(2, [1])])
    model_env(writer(), latency=0.5)
    run = start_run(root)
    try:
        res = subprocess.run(
            [sys.executable, "-m", "claude_orchestrator", "status", "--follow", "--project", str(root)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        run.wait(60)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert out.startswith("Tasks (tag master): 2 total")
    assert "task 2 done" in out and out.rstrip().endswith("completed")
    (run_path,) = (root / ".taskmaster" / "runs").iterdir()
    assert json.loads((run_path / "run.json").read_text())["status"] == "completed"
