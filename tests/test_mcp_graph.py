"""The MCP server's dependency, move, tag, generate, report and set-up tools, in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp_helpers import Session, session
from test_mcp_tools import by_id, call, graph, refused
from tm_helpers import make_project, read_json, sub, task, tasks_path

from claude_orchestrator.mcp import build_server


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", graph())


@pytest.fixture
def mcp() -> Any:
    with session(build_server("all")) as s:
        yield s


def test_dependencies_added_removed_and_cycles_refused(mcp: Session, proj: Path) -> None:
    data = call(mcp, proj, "add_dependency", id="3", dependsOn="4").data
    assert data["message"] == "Successfully added dependency: Task 3 now depends on 4"
    assert (data["taskId"], data["dependencyId"]) == (3, 4)
    assert by_id(proj)["3"]["dependencies"] == [2, 4]
    assert call(mcp, proj, "add_dependency", id="3", dependsOn="2.1").data["dependencyId"] == "2.1"
    cycle = refused(mcp, proj, "add_dependency", id="1", dependsOn="3")
    assert "cycle: 1 -> 2 -> 3 -> 1" in cycle
    assert "cannot depend on itself" in refused(mcp, proj, "add_dependency", id="3", dependsOn="3")
    assert "task 99 not found" in refused(mcp, proj, "add_dependency", id="3", dependsOn="99")
    # the server keeps serving after refusing
    removed = call(mcp, proj, "remove_dependency", id="3", dependsOn="4").data
    assert removed["message"] == "Successfully removed dependency: Task 3 no longer depends on 4"
    assert by_id(proj)["3"]["dependencies"] == [2, "2.1"]


def test_validate_and_fix_dependencies(mcp: Session, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", [task(1, deps=[1, 7]), task(2, deps=[3]), task(3, deps=[2])])
    report = call(mcp, root, "validate_dependencies").data
    assert report["valid"] is False
    assert "1 depends on itself" in report["problems"] and "1 depends on missing task 7" in report["problems"]
    assert any(p.startswith("cycle: 2 -> 3") for p in report["problems"])
    fixed = call(mcp, root, "fix_dependencies").data
    assert len(fixed["changes"]) == 3 and fixed["tag"] == "master"
    assert call(mcp, root, "validate_dependencies").data["valid"] is True


def test_move_within_a_tag(mcp: Session, proj: Path) -> None:
    moved = call(mcp, proj, "move_task", **{"from": "3", "to": "7"}).data
    assert moved["movedItem"]["id"] == 7 and moved["message"] == "Successfully moved task/subtask 3 to 7"
    assert "already exists" in refused(mcp, proj, "move_task", **{"from": "7", "to": "1"})
    call(mcp, proj, "move_task", **{"from": "2.2", "to": "4.1"})
    tasks = by_id(proj)
    assert [s["id"] for s in tasks["4"]["subtasks"]] == [1] and len(tasks["2"]["subtasks"]) == 1
    assert tasks["4"]["subtasks"][0]["dependencies"] == ["2.1"]
    call(mcp, proj, "move_task", **{"from": "2.1", "to": "8"})  # a subtask becomes task 8
    tasks = by_id(proj)
    assert tasks["8"]["title"] == "Sub 1" and tasks["4"]["subtasks"][0]["dependencies"] == [8]
    call(mcp, proj, "move_task", **{"from": "8", "to": "7.1"})  # and back under task 7
    tasks = by_id(proj)
    assert "8" not in tasks and tasks["4"]["subtasks"][0]["dependencies"] == ["7.1"]
    assert "source id(s)" in refused(mcp, proj, "move_task", **{"from": "1,2", "to": "9"})
    assert call(mcp, proj, "validate_dependencies").data["valid"] is True


def test_move_between_tags(mcp: Session, proj: Path) -> None:
    conflict = refused(mcp, proj, "move_task", **{"from": "3"}, fromTag="master", toTag="later")
    assert "cross-tag dependency conflict" in conflict and "3 -> 2" in conflict
    data = call(
        mcp, proj, "move_task", **{"from": "3"}, fromTag="master", toTag="later", withDependencies=True
    ).data
    assert data["movedTasks"] == [1, 2, 3]
    doc = read_json(proj)
    assert [t["id"] for t in doc["later"]["tasks"]] == [1, 2, 3]
    assert [t["id"] for t in doc["master"]["tasks"]] == [4]


def test_tags(mcp: Session, proj: Path) -> None:
    added = call(mcp, proj, "add_tag", name="feat", description="Feature work").data
    assert added["tagName"] == "feat" and added["tasksCopied"] == 0
    copied = call(mcp, proj, "copy_tag", sourceName="master", targetName="cp").data
    assert copied["tasksCopied"] == 4
    used = call(mcp, proj, "use_tag", name="feat")
    assert used.data["previousTag"] == "master" and used.body["tag"] == "feat"
    listed = call(mcp, proj, "list_tags").data
    assert listed["currentTag"] == "feat" and listed["tags"][0]["name"] == "feat"
    master = next(t for t in listed["tags"] if t["name"] == "master")
    assert master["taskCount"] == 4 and master["statusBreakdown"]["pending"] == 2
    assert master["subtaskCounts"] == {"totalSubtasks": 2, "subtasksByStatus": {"pending": 2}}
    renamed = call(mcp, proj, "rename_tag", oldName="cp", newName="cp2").data
    assert renamed["taskCount"] == 4 and renamed["wasCurrentTag"] is False
    deleted = call(mcp, proj, "delete_tag", name="cp2").data
    assert deleted["tasksDeleted"] == 4
    assert set(read_json(proj)) == {"master", "feat"}
    assert "does not exist" in refused(mcp, proj, "use_tag", name="nope")
    assert "already exists" in refused(mcp, proj, "add_tag", name="feat")


def test_generate_writes_task_files(mcp: Session, proj: Path) -> None:
    data = call(mcp, proj, "generate").data
    folder = tasks_path(proj).parent
    assert data["count"] == 4 and data["directory"] == str(folder)
    assert (folder / "task_002.md").read_text().startswith("# Task ID: 2")
    call(mcp, proj, "remove_task", id="4")
    assert call(mcp, proj, "generate").data["orphanedFilesRemoved"] == 1
    assert not (folder / "task_004.md").exists()


def test_complexity_report(mcp: Session, proj: Path) -> None:
    assert "no complexity report" in refused(mcp, proj, "complexity_report")
    path = proj / ".taskmaster" / "reports" / "task-complexity-report.json"
    path.write_text(json.dumps({"meta": {"thresholdScore": 5}, "complexityAnalysis": []}))
    data = call(mcp, proj, "complexity_report").data
    assert data == {
        "report": {"meta": {"thresholdScore": 5}, "complexityAnalysis": []},
        "reportPath": str(path),
    }


def test_initialize_project(mcp: Session, tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    data = call(mcp, root, "initialize_project", rules=["cursor"]).data
    assert (root / ".taskmaster" / "config.json").is_file() and (root / ".git").is_dir()
    assert (root / "orchestrator_config.json").is_file()
    assert any("rule profiles" in n for n in data["notes"])
    assert call(mcp, root, "get_tasks").data["tasks"] == []
    again = call(mcp, root, "initialize_project").data
    assert again["created"] == [] and again["message"] == "Project was already initialized."


def test_subtask_conversion_keeps_dependents_pointing_at_it(mcp: Session, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", [task(1, subtasks=[sub(1)]), task(2, deps=[3]), task(3)])
    call(mcp, root, "add_subtask", id="1", taskId="3")
    assert by_id(root)["2"]["dependencies"] == ["1.2"]
    assert call(mcp, root, "validate_dependencies").data["valid"] is True
