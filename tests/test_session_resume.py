"""Sessions survive crashes: `kill -9` of a run (and of its Claude Code worker) in the middle of the worker's
turn, then `run` again: the worker's session continues (the fake model sees the same conversation go on) in
the same worktree, and the task finishes once. The real bundled CLI against the loopback fake model."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from run_helpers import git, tasks_of
from run_helpers import make_project as make_repo
from run_helpers import task as _task
from test_engine import env_fake, run_cli  # noqa: F401 (env_fake: fixture)

from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.testing.demo_model import request_text
from claude_orchestrator.testing.fake_anthropic import FakeRequest, Reply, text_reply, tool_use_reply

RUN = r"""
import sys
from claude_orchestrator.cli.main import main
main(["run", "--working-dir", sys.argv[1], "--backend", "claude-code", "--no-progress", "--no-review"])
"""
RESUMED = "Your session on this task was interrupted"
CWD = re.compile(r"Primary working directory: (\S+)")


def _pids_under(path: Path) -> list[int]:
    found = []
    for e in Path("/proc").iterdir():
        if e.name.isdigit():
            try:
                cwd = os.readlink(e / "cwd")
            except OSError:
                continue
            if cwd == str(path) or cwd.startswith(f"{path}/"):
                found.append(int(e.name))
    return found


def _events(root: Path) -> list[dict[str, Any]]:
    run_dir = next((root / ".taskmaster" / "runs").iterdir())
    return [json.loads(x) for x in (run_dir / "events.ndjson").read_text().splitlines()]


@pytest.mark.claude_cli
@pytest.mark.skipif(find_claude_cli() is None, reason="Claude Code CLI not available")
def test_kill_9_mid_turn_then_run_continues_the_same_session_in_the_same_worktree(
    tmp_path: Path,
    env_fake: Any,  # noqa: F811
):
    root = make_repo(tmp_path / "p", [_task(1)])
    in_turn, release = threading.Event(), threading.Event()
    resumed: list[FakeRequest] = []

    def model(req: FakeRequest) -> Reply:
        text = request_text(req)
        if not req.has_tool("Write") or "# Task 1:" not in text:
            return text_reply("side")
        if RESUMED in req.last_user_text:
            resumed.append(req)
            return text_reply("Task 1 done: first.txt holds the greeting.")
        if not req.tool_results:  # the first turn: write a file in the worktree
            cwd = CWD.search(text)
            assert cwd, "the worker's directory is in its first user turn"
            return tool_use_reply("Write", {"file_path": f"{cwd.group(1)}/first.txt", "content": "hello\n"})
        in_turn.set()  # the second turn: the run gets killed while it waits for this answer
        release.wait(60)
        return text_reply("too late")

    env_fake(model)
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert in_turn.wait(120), "the worker never reached its second turn"
        worktrees = root / ".taskmaster" / "worktrees"
        first_sessions = [e for e in _events(root) if e["kind"] == "task_session"]
        proc.send_signal(signal.SIGKILL)  # the run dies, and so does its worker: a lost node
        proc.wait(30)
        for pid in _pids_under(worktrees):
            os.kill(pid, signal.SIGKILL)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert len(first_sessions) == 1
    session, workdir = first_sessions[0]["data"]["session_id"], first_sessions[0]["data"]["workdir"]
    assert (Path(workdir) / "first.txt").read_text() == "hello\n"
    assert tasks_of(root)["1"]["status"] == "in-progress"

    res = run_cli(root, "--backend", "claude-code", "--no-review")
    assert res.exit_code == 0, res.output
    assert "resuming run" in res.output
    # the same session went on: the fake saw the first turns again, then the continuation
    assert len(resumed) == 1
    history = json.dumps(resumed[0].messages)
    assert "# Task 1:" in json.dumps(resumed[0].messages[0]) and "first.txt" in history
    sessions = [e["data"] for e in _events(root) if e["kind"] == "task_session"]
    assert [(s["session_id"], s["workdir"], s.get("resumed")) for s in sessions] == [
        (session, workdir, None),
        (session, workdir, True),
    ]
    # and the task finished once, with what the first session wrote
    assert tasks_of(root)["1"]["status"] == "done"
    assert (root / "first.txt").read_text() == "hello\n"
    subjects = git(root, "log", "--format=%s", "main").splitlines()
    assert [s for s in subjects if s.startswith("[orchestrator] Task 1")] == [
        "[orchestrator] Task 1: Task number 1"
    ]
    assert len([e for e in _events(root) if e["kind"] == "task_completed" and e["task_id"] == "1"]) == 1
    assert _pids_under(root / ".taskmaster" / "worktrees") == []
