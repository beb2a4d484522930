"""The real Claude Code CLI as the MCP client: `--mcp-config` points at our server, and the fake model is
scripted to call its tools (Claude Code defers MCP tools behind ToolSearch, so the script selects them
first). tasks.json changes as the tools say, and run_tasks starts a real run that finishes on the fake."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from run_helpers import make_project as make_repo
from run_helpers import tasks_of
from test_claude_cli_fake import cli_env, cli_path
from test_engine import plan_tasks
from tm_helpers import make_project, read_json, task

from claude_orchestrator.events import RunFinished
from claude_orchestrator.observers.eventlog import read_events
from claude_orchestrator.testing.demo_model import FILES, demo_model
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    FakeRequest,
    Reply,
    text_reply,
    tool_use_reply,
)

pytestmark = [pytest.mark.claude_cli, pytest.mark.slow]

PREFIX = "mcp__task-master-ai__"
Step = tuple[str, Callable[[FakeRequest], dict[str, Any]]]


def last_result(req: FakeRequest) -> dict[str, Any]:
    """The envelope of the last MCP tool result in the conversation."""
    content = req.tool_results[-1]["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    return json.loads(text)


def session_model(steps: list[Step], final: str) -> Callable[[FakeRequest], Reply]:
    """The Claude Code session: turn n calls steps[n] (a tool and its input, built from the request)."""

    def model(req: FakeRequest) -> Reply:
        if not req.tools:
            return text_reply("ok")  # the CLI's side requests
        if req.turn < len(steps):
            name, make_input = steps[req.turn]
            return tool_use_reply(name, make_input(req))
        return text_reply(final)

    return model


def select_tools(*names: str) -> Step:
    return ("ToolSearch", lambda req: {"query": "select:" + ",".join(PREFIX + n for n in names)})


def run_claude(root: Path, fake: FakeAnthropic, home: Path, prompt: str) -> list[dict[str, Any]]:
    config = home.parent / "mcp.json"
    server = {"command": sys.executable, "args": ["-m", "claude_orchestrator", "mcp"]}
    server["env"] = {"PYTHONPATH": os.pathsep.join(sys.path)}  # type: ignore[assignment]
    config.write_text(json.dumps({"mcpServers": {"task-master-ai": server}}))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **cli_env(fake, home)}
    argv = [str(cli_path()), "-p", prompt, "--mcp-config", str(config), "--strict-mcp-config"]
    argv += ["--permission-mode", "bypassPermissions", "--output-format", "stream-json", "--verbose"]
    proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_claude_code_calls_next_task_then_set_task_status(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", [task(1, "done"), task(2, deps=[1], priority="high"), task(3)])
    steps: list[Step] = [
        select_tools("next_task", "set_task_status"),
        ("mcp__task-master-ai__next_task", lambda req: {"projectRoot": str(root)}),
        (
            "mcp__task-master-ai__set_task_status",
            lambda req: {
                "projectRoot": str(root),
                "id": str(last_result(req)["data"]["nextTask"]["id"]),
                "status": "in-progress",
            },
        ),
    ]
    (tmp_path / "home").mkdir()
    with FakeAnthropic(model=session_model(steps, "Started task 2.")) as fake:
        lines = run_claude(root, fake, tmp_path / "home", "Pick the next task and start it.")
        last = [r for r in fake.requests if r.endpoint == "/v1/messages" and r.tool_results][-1]
        assert last_result(last)["data"]["tasks"] == [
            {"success": True, "oldStatus": "pending", "newStatus": "in-progress", "taskId": "2"}
        ]
    init = lines[0]
    assert init["subtype"] == "init"
    assert {"name": "task-master-ai", "status": "connected"}.items() <= init["mcp_servers"][0].items()
    assert lines[-1]["result"] == "Started task 2." and lines[-1]["is_error"] is False
    assert [t["status"] for t in read_json(root)["master"]["tasks"]] == ["done", "in-progress", "pending"]


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait on the process (a pidfd becomes readable when it ends); True if it has ended."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs os.pidfd_open (Linux)")
def test_run_tasks_from_a_claude_code_session(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "p", plan_tasks([1, 2, 6]))
    steps: list[Step] = [
        select_tools("run_tasks"),
        (
            "mcp__task-master-ai__run_tasks",
            lambda req: {"projectRoot": str(root), "backend": "api", "workers": 2, "noReview": True},
        ),
    ]
    session = session_model(steps, "The run is going.")

    def model(req: FakeRequest) -> Reply:  # the session, and the run's workers on the api backend
        return demo_model(req) if req.has_tool("write_file") else session(req)

    (tmp_path / "home").mkdir()
    with FakeAnthropic(model=model) as fake:
        run_claude(root, fake, tmp_path / "home", "Run the ready tasks.")
        answer = [r for r in fake.requests if r.tool_results and r.has_tool("ToolSearch")][-1]
        started = last_result(answer)["data"]
        assert started["status"] == "running"
        run_path = Path(started["runPath"])
        finished = [e for e in read_events(run_path, follow=True, until_finished=True, timeout=240)]
        assert isinstance(finished[-1], RunFinished) and finished[-1].status == "completed"
        assert wait_for_exit(started["pid"], 60)
    assert json.loads((run_path / "run.json").read_text())["status"] == "completed"
    for tid in (1, 2, 6):
        path, content = FILES[tid]
        assert (root / path).read_text() == content
        assert tasks_of(root)[str(tid)]["status"] == "done"
