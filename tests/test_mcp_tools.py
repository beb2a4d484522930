"""The MCP server's Task Master tools through the SDK's in-process client: answers in Task Master's envelope,
tasks.json changed as the tool says, and every bad input an error result that leaves the file untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp_helpers import Session, session
from tm_helpers import make_project, read_json, sub, task, tasks_path

from claude_orchestrator.mcp import build_server


def graph() -> list[dict[str, Any]]:
    return [
        task(1, "done"),
        task(2, "pending", [1], "high", subtasks=[sub(1), sub(2, deps=["2.1"])]),
        task(3, "pending", [2]),
        task(4, "in-progress"),
    ]


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj", graph())


@pytest.fixture
def mcp() -> Any:
    with session(build_server("all")) as s:
        yield s


def call(s: Session, root: Path, tool: str, /, **args: Any) -> Any:
    return s.call(tool, {"projectRoot": str(root), **args})


def refused(s: Session, root: Path, tool: str, /, **args: Any) -> str:
    """The call fails with an error result, and tasks.json is byte-for-byte what it was."""
    before = tasks_path(root).read_bytes()
    r = call(s, root, tool, **args)
    assert r.is_error, r.text
    assert tasks_path(root).read_bytes() == before
    if r.text.startswith("Error executing tool"):  # the SDK checked the arguments against the schema
        return " ".join(r.text.splitlines()[:3])
    assert r.text.startswith("Error: ") and "\nVersion: " in r.text  # Task Master's error envelope
    return r.text.splitlines()[0]


def by_id(root: Path) -> dict[str, dict[str, Any]]:
    return {str(t["id"]): t for t in read_json(root)["master"]["tasks"]}


def test_envelope_holds_data_version_and_tag(mcp: Session, proj: Path) -> None:
    body = call(mcp, proj, "get_tasks").body
    assert set(body) == {"data", "version", "tag"}
    assert body["version"] == {"version": body["version"]["version"], "name": "claude-orchestrator"}
    assert body["tag"] == "master"


def test_get_tasks_lists_filters_and_counts(mcp: Session, proj: Path) -> None:
    data = call(mcp, proj, "get_tasks").data
    assert [t["id"] for t in data["tasks"]] == ["1", "2", "3", "4"]
    t2 = data["tasks"][1]
    assert t2["dependencies"] == ["1"]
    assert [(s["id"], s["parentId"], s["dependencies"]) for s in t2["subtasks"]] == [
        ("1", "2", []),
        ("2", "2", ["2.1"]),
    ]
    assert data["filter"] == "all" and "pagination" not in data
    assert data["stats"]["total"] == 4 and data["stats"]["completionPercentage"] == 25
    assert data["stats"]["subtasks"]["total"] == 2
    filtered = call(mcp, proj, "get_tasks", status="pending,done", withSubtasks=False).data
    assert [t["id"] for t in filtered["tasks"]] == ["1", "2", "3"]
    assert all(t["subtasks"] == [] for t in filtered["tasks"])
    assert filtered["stats"]["inProgress"] == 0 and filtered["stats"]["total"] == 4
    assert filtered["stats"]["subtasks"]["total"] == 0
    assert "unknown status 'finished'" in refused(mcp, proj, "get_tasks", status="finished")


def test_get_tasks_pages_a_large_graph_under_the_output_limit(mcp: Session, tmp_path: Path) -> None:
    big = [task(i, deps=[i - 1] if i > 1 else [], details="x" * 400) for i in range(1, 1001)]
    root = make_project(tmp_path / "big", big)
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        r = call(mcp, root, "get_tasks", offset=offset)
        assert len(r.text) < 75_000  # 25k tokens even at 3 characters a token
        data = r.data
        seen += [t["id"] for t in data["tasks"]]
        assert data["pagination"]["total"] == 1000 and data["stats"]["total"] == 1000
        offset = data["pagination"]["nextOffset"]
        pages += 1
    assert seen == [str(i) for i in range(1, 1001)] and pages > 1
    page = call(mcp, root, "get_tasks", offset=10, limit=5).data
    assert [t["id"] for t in page["tasks"]] == ["11", "12", "13", "14", "15"]
    assert page["pagination"]["nextOffset"] == 15


def test_next_task_answers_task_subtask_or_none(mcp: Session, proj: Path) -> None:
    nxt = call(mcp, proj, "next_task").data
    assert nxt["nextTask"]["id"] == 2 and nxt["isSubtask"] is False
    assert nxt["nextTask"]["subtasks"][0]["id"] == 1  # the task as stored: int ids
    call(mcp, proj, "set_task_status", id="2", status="in-progress")
    report = proj / ".taskmaster" / "reports" / "task-complexity-report.json"
    report.write_text(json.dumps({"complexityAnalysis": [{"taskId": 2, "complexityScore": 7}]}))
    nxt = call(mcp, proj, "next_task").data
    assert nxt["isSubtask"] is True
    assert nxt["nextTask"] == {
        "id": "2.1",
        "title": "Sub 1",
        "status": "pending",
        "priority": "high",
        "dependencies": [],
        "parentId": 2,
        "complexityScore": 7,
    }
    call(mcp, proj, "set_task_status", id="2,3,4", status="done")
    none = call(mcp, proj, "next_task").data
    assert none["nextTask"] is None and "No eligible next task" in none["message"]


def test_get_task_one_subtask_several_and_missing(mcp: Session, proj: Path) -> None:
    one = call(mcp, proj, "get_task", id="2").data
    assert one["id"] == 2 and len(one["subtasks"]) == 2
    assert call(mcp, proj, "get_task", id="2.2").data["dependencies"] == ["2.1"]
    several = call(mcp, proj, "get_task", id="1,3,99").data
    assert [t["id"] for t in several] == [1, 3]
    call(mcp, proj, "set_task_status", id="2.1", status="done")
    only_done = call(mcp, proj, "get_task", id="2", status="done").data
    assert [s["id"] for s in only_done["subtasks"]] == [1]
    assert "task 99 not found" in refused(mcp, proj, "get_task", id="99")


def test_set_task_status_checks_every_id_first(mcp: Session, proj: Path) -> None:
    data = call(mcp, proj, "set_task_status", id="2.1,2.2", status="done").data
    assert data["message"] == 'Successfully updated 2 task(s) to "done"'
    assert data["tasks"][0] == {"success": True, "oldStatus": "pending", "newStatus": "done", "taskId": "2.1"}
    assert by_id(proj)["2"]["status"] == "done"  # the parent follows its subtasks
    assert "task 9 not found" in refused(mcp, proj, "set_task_status", id="3,9", status="done")
    bad = refused(mcp, proj, "set_task_status", id="3", status="finished")
    assert "status" in bad and "'pending'" in bad


def test_update_subtask_appends_a_timestamped_note(mcp: Session, proj: Path, monkeypatch: Any) -> None:
    data = call(mcp, proj, "update_subtask", id="2.1", prompt="Used the stdlib parser.").data
    assert data["subtaskId"] == "2.1" and data["parentId"] == 2
    details = by_id(proj)["2"]["subtasks"][0]["details"]
    assert details.startswith("<info added on ") and "\nUsed the stdlib parser.\n</info added on " in details
    call(mcp, proj, "update_subtask", id="2.1", prompt="Second note.")
    assert by_id(proj)["2"]["subtasks"][0]["details"].count("<info added on ") == 2
    assert "not a subtask id" in refused(mcp, proj, "update_subtask", id="2", prompt="x")
    assert "needs `prompt`" in refused(mcp, proj, "update_subtask", id="2.1")
    assert "TASK_MASTER_ALLOW_METADATA_UPDATES" in refused(
        mcp, proj, "update_subtask", id="2.1", metadata='{"ticket": 1}'
    )
    monkeypatch.setenv("TASK_MASTER_ALLOW_METADATA_UPDATES", "true")
    call(mcp, proj, "update_subtask", id="2.1", metadata='{"ticket": 1}')
    assert by_id(proj)["2"]["subtasks"][0]["metadata"] == {"ticket": 1}


def test_add_task_manual(mcp: Session, proj: Path) -> None:
    data = call(
        mcp, proj, "add_task", title="New", description="Desc", priority="high", dependencies="1,2"
    ).data
    assert data == {
        "taskId": 5,
        "message": "Successfully added new task #5",
        "telemetryData": None,
        "tagInfo": None,
    }
    t5 = by_id(proj)["5"]
    assert (t5["title"], t5["priority"], t5["dependencies"]) == ("New", "high", [1, 2])
    assert "invalid priority 'urgent'" in refused(
        mcp, proj, "add_task", title="A", description="B", priority="urgent"
    )
    assert "cannot depend on 42" in refused(
        mcp, proj, "add_task", title="A", description="B", dependencies="42"
    )
    assert "needs `prompt`" in refused(mcp, proj, "add_task", title="only a title")


def test_add_subtask_new_or_from_a_task(mcp: Session, proj: Path) -> None:
    data = call(mcp, proj, "add_subtask", id="3", title="S", description="sd", dependencies="2").data
    assert data["message"] == "New subtask 3.1 successfully created"
    assert data["subtask"]["parentTaskId"] == 3 and data["subtask"]["dependencies"] == [2]
    conv = call(mcp, proj, "add_subtask", id="3", taskId="4").data
    assert conv["message"] == "Task 4 successfully converted to a subtask of task 3"
    tasks = by_id(proj)
    assert "4" not in tasks and [s["id"] for s in tasks["3"]["subtasks"]] == [1, 2]
    assert "not found" in refused(mcp, proj, "add_subtask", id="9", title="x")


def test_remove_task_and_subtask(mcp: Session, proj: Path) -> None:
    assert "not found in tag 'master': 9" in refused(mcp, proj, "remove_task", id="3,9")
    data = call(mcp, proj, "remove_task", id="3").data
    assert data["successful"] == 1 and data["removedTasks"][0]["id"] == 3
    assert data["message"] == "Successfully removed task 3 from tag 'master'"
    assert "3" not in by_id(proj)
    assert call(mcp, proj, "remove_subtask", id="2.2").data == {"message": "Subtask 2.2 successfully removed"}
    conv = call(mcp, proj, "remove_subtask", id="2.1", convert=True).data
    assert conv["task"]["id"] == 5 and conv["task"]["dependencies"] == [2]
    assert by_id(proj)["2"]["subtasks"] == []
    assert "expected parentId.subtaskId" in refused(mcp, proj, "remove_subtask", id="2")


def test_clear_subtasks(mcp: Session, proj: Path) -> None:
    assert "needs `id`" in refused(mcp, proj, "clear_subtasks")
    data = call(mcp, proj, "clear_subtasks", id="2").data
    assert data["tasksCleared"] == [{"id": 2, "title": "Task 2"}]
    assert by_id(proj)["2"]["subtasks"] == []
    assert "is a subtask" not in call(mcp, proj, "clear_subtasks", all=True).text


def test_bad_project_roots(mcp: Session, proj: Path, tmp_path: Path) -> None:
    missing = mcp.call("get_tasks", {})
    assert missing.is_error and "projectRoot" in missing.text and "required" in missing.text
    assert "must be an absolute path" in mcp.call("get_tasks", {"projectRoot": "proj"}).text
    assert "not an existing folder" in mcp.call("get_tasks", {"projectRoot": str(tmp_path / "nope")}).text
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    r = mcp.call("next_task", {"projectRoot": str(outside)})
    assert r.is_error and "no .taskmaster/ directory" in r.text and "initialize_project" in r.text
    # a folder inside the project finds it; a file:// URI is accepted
    (proj / "src").mkdir()
    assert call(mcp, proj / "src", "next_task").data["nextTask"]["id"] == 2
    assert mcp.call("next_task", {"projectRoot": proj.as_uri()}).data["nextTask"]["id"] == 2


def test_tag_argument_selects_the_tag(mcp: Session, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", [task(1)], feature=[task(7, title="Feature task")])
    data = call(mcp, root, "get_tasks", tag="feature")
    assert [t["id"] for t in data.data["tasks"]] == ["7"] and data.body["tag"] == "feature"
    call(mcp, root, "set_task_status", id="7", status="done", tag="feature")
    assert read_json(root)["feature"]["tasks"][0]["status"] == "done"
    assert read_json(root)["master"]["tasks"][0]["status"] == "pending"
