"""`watch`: files dropped into a folder are imported as they land (watchfiles events, and the polling
fallback), a malformed file goes to failed/ with its error beside it, a restart imports nothing twice,
`--run` runs the work (files dropped while a run is in progress too) and writes NAME.result.md, and
Ctrl-C stops the command cleanly."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from claude_orchestrator.intake.watch import Watch
from claude_orchestrator.taskmaster.store import TaskStore
from claude_orchestrator.testing.demo_model import demo_model
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, FakeRequest, Reply

TASK = "---\nid: {id}\npriority: high\n---\n\n# {title}\n\n**Prompt:**\n{prompt}\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def make_repo(root: Path) -> Path:
    from claude_orchestrator.project import init_orchestrator

    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    init_orchestrator(root, "t")
    (root / ".gitignore").write_text((root / ".gitignore").read_text() + "drop/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    (root / "drop").mkdir()
    return root


class Running:
    """A Watch serving in a thread; `expect` waits for its events (never a sleep)."""

    def __init__(self, watch: Watch) -> None:
        self.watch, self.lines = watch, []
        watch.echo = self.lines.append
        self.thread = threading.Thread(target=watch.serve, daemon=True)
        self.seen: list[tuple[str, str]] = []

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def expect(self, kind: str, detail: str | None = None, timeout: float = 60.0) -> list[tuple[str, str]]:
        """Events up to and including the first (kind, detail); fails after `timeout`."""
        got = []
        while True:
            try:
                ev = self.watch.events.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no {kind} {detail or ''} event; saw {self.seen}; output {self.lines}"
                ) from None
            self.seen.append(ev)
            got.append(ev)
            if ev[0] == kind and (detail is None or ev[1] == detail):
                return got

    def __exit__(self, *exc: object) -> None:
        self.watch.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def tasks(root: Path) -> list[dict[str, Any]]:
    return json.loads((root / ".taskmaster/tasks/tasks.json").read_text())["master"]["tasks"]


@pytest.mark.parametrize("poll", [False, True], ids=["events", "polling"])
def test_drop_imports_moves_malformed_restart_imports_nothing_twice(tmp_path: Path, poll: bool):
    root = make_repo(tmp_path / "p")
    drop = root / "drop"
    (drop / "early.task.md").write_text(TASK.format(id="early", title="Early", prompt="Before the watch."))
    store = TaskStore.discover(root)
    with Running(Watch(store, drop, poll=poll)) as w:
        w.expect("ready")
        assert ("imported", "early.task.md") in w.seen  # what was there before is imported first
        (drop / "fix.task.md").write_text(TASK.format(id="fix", title="Fix it", prompt="Fix the bug."))
        w.expect("imported", "fix.task.md")
        (drop / "bad.task.md").write_text("---\nid: [broken\n---\n# Bad\n")
        w.expect("failed", "bad.task.md")
        (drop / "notes.result.md").write_text("# not a task")  # results are never imported
    assert not (drop / "bad.task.md").exists()
    error = (drop / "failed" / "bad.task.md.error.txt").read_text()
    assert "bad.task.md:2: front matter is not valid YAML" in error
    assert (drop / "failed" / "bad.task.md").exists()
    assert [t["title"] for t in tasks(root)] == ["Early", "Fix it"]

    with Running(Watch(store, drop, poll=poll)) as w:  # a restart
        w.expect("ready")
        assert [e for e in w.seen if e[0] == "imported"] == []
        (drop / "fix.task.md").write_text(
            TASK.format(id="fix", title="Fix it properly", prompt="Fix the bug.")
        )
        w.expect("imported", "fix.task.md")
    assert [t["title"] for t in tasks(root)] == ["Early", "Fix it properly"]  # updated, not duplicated


def test_watch_run_runs_work_including_files_dropped_during_a_run(tmp_path: Path, monkeypatch: Any):
    root = make_repo(tmp_path / "p")
    drop = root / "drop"
    second_imported = threading.Event()

    def model(req: FakeRequest) -> Reply:
        # hold the first task's worker until the second file has been imported: a drop during a run
        if "# Task 1:" in "".join(str(m.get("content")) for m in req.messages) and req.tools:
            assert second_imported.wait(30), "second file never imported during the run"
        return demo_model(req)

    fake = FakeAnthropic(model=model).start()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-watch")
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    from claude_orchestrator.config import load_config

    store = TaskStore.discover(root)
    watch = Watch(store, drop, run=True, cfg=load_config(None, start=root), backend="api", workers=2)
    try:
        with Running(watch) as w:
            w.expect("ready")
            (drop / "one.task.md").write_text(TASK.format(id="one", title="First", prompt="Write notes."))
            w.expect("run-started", "1")
            (drop / "two.task.md").write_text(TASK.format(id="two", title="Second", prompt="More notes."))
            got = w.expect("imported", "two.task.md")
            assert ("run-finished", "completed") not in got  # imported while the first run is going on
            second_imported.set()
            w.expect("result", "one.result.md")
            w.expect("run-started", "2")
            w.expect("result", "two.result.md")
    finally:
        fake.stop()
    assert [t["status"] for t in tasks(root)] == ["done", "done"]
    result = (drop / "one.result.md").read_text()
    assert result.startswith("# Task 1: First") and "- Status: done" in result
    assert "- Commit: `" in result and "- Cost: $" in result and "## Summary" in result
    assert "Task 1 done" in result  # the worker's own summary
    log = git(root, "log", "--format=%s", "main")
    assert "Task 1: First" in log and "Task 2: Second" in log  # merged into the working branch


def test_ctrl_c_stops_watch_cleanly(tmp_path: Path):
    root = make_repo(tmp_path / "p")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "claude_orchestrator", "watch", "drop"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Watching "), first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Stopped watching" in out and "Traceback" not in err
