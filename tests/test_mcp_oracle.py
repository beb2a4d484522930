"""Oracle parity: the same project through the real task-master-ai 0.43.1 MCP server (from the npm package
the test script installs) and ours, with the same client; the `data` payloads compared field by field.

Reads are compared before any write: 0.43.1's writer turns ids into strings (its bug #1708), so after a
write the two files are compared through our reader instead."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from mcp.client.stdio import StdioServerParameters
from mcp_helpers import Session, session
from test_mcp_tools import call
from tm_helpers import clean_env, make_project, require_real, sub, task

from claude_orchestrator.mcp import build_server
from claude_orchestrator.taskmaster.store import TaskStore

pytestmark = [pytest.mark.taskmaster_cli, pytest.mark.slow]


def oracle_params(cwd: Path, scratch: Path) -> StdioServerParameters:
    """The real package's MCP server: node_modules/.bin/task-master-ai is dist/mcp-server.js."""
    cli = Path(require_real()).resolve()
    server = cli.parent / "mcp-server.js"
    if not server.is_file():
        pytest.fail(f"task-master-ai is installed without its MCP server ({server})")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not on PATH")
    env = {**clean_env(scratch), "TASK_MASTER_TOOLS": "all"}
    return StdioServerParameters(command=node, args=[str(server)], env=env, cwd=str(cwd))


def fixture_tasks() -> list[dict[str, Any]]:
    full = {"details": "how", "testStrategy": "tests"}
    return [
        task(1, "done", details="d1", testStrategy="t1"),
        task(
            2,
            "pending",
            [1],
            "high",
            details="d2",
            subtasks=[sub(1, **full), sub(2, deps=["2.1"], **full), sub(3, "done", **full)],
        ),
        task(3, "pending", [2], "low"),
        task(4, "in-progress", details="d4"),
        task(5, "review", [1]),
        task(6, "blocked", [4]),
    ]


def without_undefined_parent(data: dict[str, Any]) -> dict[str, Any]:
    """0.43.1 lists every subtask with "parentId": "undefined" (its bug #1708); ours names the parent."""
    for t in data["tasks"]:
        for s in t["subtasks"]:
            assert s.pop("parentId") in ("undefined", t["id"])
    return data


def same(ours: Any, theirs: Any, where: str) -> None:
    if isinstance(theirs, dict) and isinstance(ours, dict):
        assert sorted(ours) == sorted(theirs), (
            f"{where}: keys differ: ours {sorted(ours)}, theirs {sorted(theirs)}"
        )
        for k in theirs:
            same(ours[k], theirs[k], f"{where}.{k}")
    elif isinstance(theirs, list) and isinstance(ours, list):
        assert len(ours) == len(theirs), f"{where}: {len(ours)} items, theirs {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, f"{where}: ours {ours!r}, theirs {theirs!r}"


def both(ours: Session, theirs: Session, roots: tuple[Path, Path], tool: str, **args: Any) -> tuple[Any, Any]:
    a, b = call(ours, roots[0], tool, **args), call(theirs, roots[1], tool, **args)
    assert not a.is_error, a.text
    assert not b.is_error, b.text
    return a.data, b.data


def test_data_payloads_match_task_master(tmp_path: Path) -> None:
    roots = (
        make_project(tmp_path / "ours", fixture_tasks()),
        make_project(tmp_path / "theirs", fixture_tasks()),
    )
    scratch = tmp_path / "scratch"
    with session(build_server("all")) as ours, session(oracle_params(roots[1], scratch)) as theirs:
        a, b = both(ours, theirs, roots, "get_tasks")
        same(without_undefined_parent(a), without_undefined_parent(b), "get_tasks")
        a, b = both(ours, theirs, roots, "get_tasks", status="pending,done", withSubtasks=False)
        same(a, b, "get_tasks(status, withSubtasks=false)")
        same(*both(ours, theirs, roots, "next_task"), "next_task")
        for ids in ("2", "2.1", "1,3", "6"):
            same(*both(ours, theirs, roots, "get_task", id=ids), f"get_task({ids})")
        same(*both(ours, theirs, roots, "get_task", id="2", status="done"), "get_task(2, status=done)")
        started = [dict(t, status="in-progress") if t["id"] == 2 else t for t in fixture_tasks()]
        roots2 = (make_project(tmp_path / "ours2", started), make_project(tmp_path / "theirs2", started))
        a, b = both(ours, theirs, roots2, "next_task")
        assert a["isSubtask"] is True and a["nextTask"]["id"] == "2.1"
        same(a, b, "next_task(subtask)")

        same(*both(ours, theirs, roots, "set_task_status", id="2.1,2.2", status="done"), "set_task_status")
        same(*both(ours, theirs, roots, "set_task_status", id="4", status="done"), "set_task_status(4)")
        manual = {"title": "New", "description": "Desc", "priority": "high", "dependencies": "1,2"}
        same(*both(ours, theirs, roots, "add_task", **manual), "add_task")
        same(*both(ours, theirs, roots, "add_dependency", id="3", dependsOn="4"), "add_dependency")
        same(*both(ours, theirs, roots, "add_dependency", id="3", dependsOn="2.1"), "add_dependency(subtask)")

    mine, real = (TaskStore(r).load("master") for r in roots)
    assert [(t.id, t.status) for t in mine.tasks] == [(t.id, t.status) for t in real.tasks]
    for t, u in zip(mine.tasks, real.tasks, strict=True):
        assert (t.title, t.priority, [str(d) for d in t.dependencies]) == (
            u.title,
            u.priority,
            [str(d) for d in u.dependencies],
        )
        assert [(s.id, s.status) for s in t.subtasks] == [(s.id, s.status) for s in u.subtasks]
