"""The MCP tools that ask the manager model, through the real anthropic SDK against the loopback fake:
parse_prd, expand_task, expand_all, analyze_project_complexity, add_task with a prompt, update_task, update."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp_helpers import Session, session
from test_mcp_tools import by_id, call, refused
from tm_helpers import make_project, task, tasks_path

from claude_orchestrator.mcp import build_server
from claude_orchestrator.testing.demo_model import PLAN, demo_model
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, FakeRequest, Reply, json_reply


def rewriting_model(req: FakeRequest) -> Reply:
    """The demo manager, plus answers to the update prompt: each task's title gets a suffix."""
    if "take new context into account" in req.system_text:
        tasks = [json.loads(line) for line in req.last_user_text.splitlines() if line.startswith("{")]
        return json_reply(
            {
                "tasks": [
                    {
                        "id": t["id"],
                        "title": t["title"] + " (async)",
                        "description": t["description"],
                        "details": "Use asyncio throughout.",
                        "testStrategy": t.get("testStrategy") or "",
                    }
                    for t in tasks
                ]
            }
        )
    return demo_model(req)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    with FakeAnthropic(model=rewriting_model) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-fake-key")
        monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
        yield server


@pytest.fixture
def mcp() -> Any:
    with session(build_server("all")) as s:
        yield s


def test_parse_prd_expand_and_complexity(mcp: Session, fake: Any, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    (root / ".taskmaster" / "docs" / "prd.txt").write_text("# PRD\nA word-frequency tool.\n")
    parsed = call(mcp, root, "parse_prd", numTasks="6").data
    assert parsed["taskIds"] == [t["id"] for t in PLAN]
    assert parsed["outputPath"] == str(tasks_path(root))
    assert parsed["telemetryData"]["totalCost"] > 0 and parsed["telemetryData"]["currency"] == "USD"
    assert "already has 6 tasks" in refused(mcp, root, "parse_prd")

    report = call(mcp, root, "analyze_project_complexity", ids="1,2").data
    assert report["reportSummary"]["taskCount"] == 2 and report["reportSummary"]["lowComplexityTasks"] == 2
    assert Path(report["reportPath"]).is_file()
    assert call(mcp, root, "complexity_report").data["report"]["complexityAnalysis"][0]["taskId"] == 1

    expanded = call(mcp, root, "expand_task", id="1").data
    assert expanded["subtasksAdded"] == 2 and [s["id"] for s in expanded["task"]["subtasks"]] == [1, 2]
    skipped = call(mcp, root, "expand_task", id="1").data
    assert skipped["subtasksAdded"] == 0 and "already has subtasks" in skipped["message"]
    assert "not a task id" in refused(mcp, root, "expand_task", id="1.1")

    everything = call(mcp, root, "expand_all").data
    assert everything["details"]["expandedCount"] == 5
    assert all(len(t["subtasks"]) == 2 for t in by_id(root).values())


def test_add_task_by_prompt_and_updates(mcp: Session, fake: Any, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", [task(1, "done"), task(2), task(3)])
    added = call(mcp, root, "add_task", prompt="Add a --json flag to the command line", dependencies="2").data
    assert added["taskId"] == 4 and added["telemetryData"]["totalCost"] > 0
    t4 = by_id(root)["4"]
    assert "--json" in t4["title"] and t4["dependencies"] == [2]

    one = call(mcp, root, "update_task", id="2", prompt="We switched to asyncio.").data
    assert one["updatedTask"]["title"] == "Task 2 (async)"
    assert by_id(root)["2"]["details"] == "Use asyncio throughout."
    appended = call(mcp, root, "update_task", id="3", prompt="Note: keep it small.", append=True).data
    assert "<info added on" in appended["updatedTask"]["details"]

    many = call(mcp, root, "update", **{"from": "2", "prompt": "Everything is async now."}).data
    assert many["updatedTaskIds"] == [2, 3, 4]  # task 1 is done and stays as it was
    tasks = by_id(root)
    assert tasks["1"]["title"] == "Task 1" and tasks["3"]["title"].endswith("(async)")
    assert tasks["2"]["status"] == "pending" and tasks["4"]["dependencies"] == [2]
    assert "update_subtask" in refused(mcp, root, "update_task", id="2.1", prompt="x")


def test_ai_tools_without_credentials_say_so(mcp: Session, tmp_path: Path, monkeypatch: Any) -> None:
    for var in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
    ):
        monkeypatch.delenv(var, raising=False)
    root = make_project(tmp_path / "p", [task(1)])
    message = refused(mcp, root, "expand_task", id="1")
    assert "ANTHROPIC_API_KEY" in message
