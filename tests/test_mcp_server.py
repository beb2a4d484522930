"""The MCP server as a whole: tool tiers (TASK_MASTER_TOOLS), a real stdio subprocess (nothing on stdout but
protocol), and concurrent writes through the tasks.json lock."""

from __future__ import annotations

import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.stdio import StdioServerParameters
from mcp_helpers import input_schema, session
from test_mcp_tools import by_id, call, graph
from tm_helpers import make_project, read_json, task

from claude_orchestrator.mcp import build_server, tiers
from claude_orchestrator.taskmaster import ops
from claude_orchestrator.taskmaster.store import TaskStore

TM_CORE = [
    "get_tasks",
    "next_task",
    "get_task",
    "set_task_status",
    "update_subtask",
    "parse_prd",
    "expand_task",
]
TM_STANDARD = [
    "initialize_project",
    "analyze_project_complexity",
    "expand_all",
    "add_subtask",
    "remove_task",
    "add_task",
    "complexity_report",
]
RUN_TOOLS = ["run_tasks", "run_status", "run_log", "cancel_run"]
FULL_SET = [
    "add_dependency",
    "remove_dependency",
    "validate_dependencies",
    "fix_dependencies",
    "list_tags",
    "add_tag",
    "delete_tag",
    "use_tag",
    "rename_tag",
    "copy_tag",
    "remove_subtask",
    "clear_subtasks",
    "move_task",
    "update_task",
    "update",
    "generate",
]


def names(mode: str | None) -> set[str]:
    with session(build_server(mode)) as s:
        return set(s.tool_names())


def test_tiers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TASK_MASTER_TOOLS", raising=False)
    core = names(None)
    assert core == set(TM_CORE + RUN_TOOLS)
    assert len(core) <= 11  # the default stays small: every tool costs context tokens
    assert names("lean") == core
    standard = names("standard")
    assert standard == set(TM_CORE + TM_STANDARD + RUN_TOOLS)
    assert set(TM_CORE + TM_STANDARD + FULL_SET) <= names("all")
    assert names("get_tasks, Next-Task,nope") == {"get_tasks", "next_task"}
    monkeypatch.setenv("TASK_MASTER_TOOLS", "standard")
    assert names(None) == standard


def test_select_warns_about_unknown_names() -> None:
    available = ["get_tasks", "next_task", "add_task"]
    assert tiers.select("get_tasks,bogus", available) == (
        ["get_tasks"],
        ["TASK_MASTER_TOOLS: unknown tool(s) bogus"],
    )
    chosen, warnings = tiers.select("bogus", available)
    assert chosen == available and "loading every tool" in warnings[-1]


def test_every_tool_takes_project_root_and_tag() -> None:
    with session(build_server("all")) as s:
        for tool in s.tools():
            schema = input_schema(tool)
            assert "projectRoot" in schema["required"], tool.name
            assert "tag" in schema["properties"], tool.name
            assert tool.description


def test_core_tier_costs_few_tokens() -> None:
    with session(build_server("core")) as s:
        listing = json.dumps([t.model_dump(mode="json", exclude_none=True) for t in s.tools()])
    assert len(listing) < 4 * 4000, len(listing)  # about 4k tokens for the whole default tier


def test_stdio_subprocess_round_trip(tmp_path: Path) -> None:
    root = make_project(tmp_path / "proj", graph())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TASK_MASTER_TOOLS": "standard"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "claude_orchestrator", "mcp"], env=env)
    with session(params) as s:  # the client fails on any stdout line that is not protocol
        assert "add_task" in s.tool_names()
        assert call(s, root, "next_task").data["nextTask"]["id"] == 2
        assert call(s, root, "set_task_status", id="2", status="in-progress").data["tasks"][0][
            "newStatus"
        ] == ("in-progress")
        bad = call(s, root, "set_task_status", id="42", status="done")
        assert bad.is_error and "task 42 not found" in bad.text
        assert call(s, root, "add_task", title="T", description="D").data["taskId"] == 5
    assert by_id(root)["2"]["status"] == "in-progress" and "5" in by_id(root)


def test_concurrent_writes_share_the_lock(tmp_path: Path) -> None:
    """Tool calls in flight together, and a writer outside the server (as a run's), all land."""
    root = make_project(tmp_path / "proj", [task(i) for i in range(1, 21)])
    store = TaskStore(root)
    stop = threading.Event()

    def outside_writer() -> int:
        n = 0
        while not stop.is_set() and n < 30:
            with store.edit() as data:
                ops.add_task(data, f"outside {n}", "written by another process")
            n += 1
        return n

    async def many(s: Any) -> None:
        async with anyio.create_task_group() as tg:
            for i in range(1, 21):
                tg.start_soon(
                    s.client.call_tool,
                    "set_task_status",
                    {"projectRoot": str(root), "id": str(i), "status": "done"},
                )
                tg.start_soon(
                    s.client.call_tool,
                    "add_task",
                    {"projectRoot": str(root), "title": f"mcp {i}", "description": "added through MCP"},
                )

    with ThreadPoolExecutor(1) as pool, session(build_server("standard")) as s:
        outside = pool.submit(outside_writer)
        s.portal.call(many, s)
        stop.set()
        written = outside.result()
    tasks = read_json(root)["master"]["tasks"]
    titles = [t["title"] for t in tasks]
    assert all(t["status"] == "done" for t in tasks if t["id"] <= 20)
    assert sorted(t for t in titles if t.startswith("mcp ")) == sorted(f"mcp {i}" for i in range(1, 21))
    assert sum(t.startswith("outside ") for t in titles) == written
    assert len({t["id"] for t in tasks}) == len(tasks) == 40 + written
