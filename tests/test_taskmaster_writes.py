"""Minimal writes: a command changes only what it must. Other tags, key order, id types, the untagged form
and bare subtask dependencies stay as they were; a command that changes nothing does not write at all."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from tm_helpers import make_project, run_ours, task, tasks_path

# written by the new core (string ids and deps, parentId "undefined", its metadata), with our own keys in a
# different order, a bare sibling dependency and an untouched second tag in the older shape
FILE: dict[str, Any] = {
    "master": {
        "tasks": [
            {
                "status": "done",
                "id": "1",
                "title": "One",
                "description": "First",
                "priority": "high",
                "dependencies": [],
                "custom": {"keep": [1, 2]},
            },
            {
                "id": "2",
                "title": "Two",
                "description": "Second",
                "status": "pending",
                "priority": "medium",
                "dependencies": ["1"],
                "details": "",
                "testStrategy": "",
                "subtasks": [
                    {
                        "id": 1,
                        "title": "a",
                        "description": "d",
                        "status": "pending",
                        "dependencies": [],
                        "parentId": "undefined",
                    },
                    {
                        "id": 2,
                        "title": "b",
                        "description": "d",
                        "status": "pending",
                        "dependencies": [1],
                        "parentId": "undefined",
                    },
                ],
                "metadata": {"owner": "me"},
            },
            {
                "id": "3",
                "title": "Three",
                "description": "Third",
                "status": "pending",
                "priority": "low",
                "dependencies": ["2.1"],
            },
        ],
        "metadata": {
            "version": "1.0.0",
            "lastModified": "2025-01-01T00:00:00.000Z",
            "taskCount": 3,
            "completedCount": 1,
            "tags": ["master"],
        },
    },
    "feature": {
        "tasks": [
            {
                "id": 1,
                "title": "F",
                "description": "f",
                "status": "pending",
                "priority": "medium",
                "dependencies": [],
            }
        ],
        "metadata": {"created": "2025-01-01", "description": "Feature"},
    },
    "zNotATag": {"anything": True},
}


def write(root: Path, data: dict[str, Any]) -> None:
    tasks_path(root).write_text(json.dumps(data, indent=2))


def read(root: Path) -> dict[str, Any]:
    return json.loads(tasks_path(root).read_text())


def snapshot(root: Path) -> tuple[bytes, int]:
    return tasks_path(root).read_bytes(), tasks_path(root).stat().st_mtime_ns


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    root = make_project(tmp_path / "p")
    write(root, FILE)
    return root


def same_except_metadata(after: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal, key order included; master's metadata only had its counters and lastModified changed."""
    a, e = copy.deepcopy(after), copy.deepcopy(expected)
    meta = a["master"].pop("metadata")
    e["master"].pop("metadata")
    assert set(meta) == set(FILE["master"]["metadata"]) and meta["lastModified"] != "2025-01-01T00:00:00.000Z"
    assert json.dumps(a) == json.dumps(e)


def test_set_status_changes_one_field(proj: Path) -> None:
    run_ours(["set-status", "--id=2.2", "--status=done"], proj)
    expected = copy.deepcopy(FILE)
    t2 = expected["master"]["tasks"][1]
    t2["subtasks"][1]["status"] = "done"
    t2["status"] = "in-progress"  # the parent follows its subtasks
    same_except_metadata(read(proj), expected)
    assert read(proj)["master"]["metadata"]["completedCount"] == 1


def test_add_dependency_keeps_the_forms_already_there(proj: Path) -> None:
    run_ours(
        ["add-dependency", "--id=2.2", "--depends-on=3"], proj
    )  # a top-level task next to a bare sibling
    run_ours(["add-dependency", "--id=3", "--depends-on=1"], proj)
    after = read(proj)
    assert after["master"]["tasks"][1]["subtasks"][1]["dependencies"] == [1, 3]  # 1 is still the sibling 2.1
    assert after["master"]["tasks"][2]["dependencies"] == [1, "2.1"]
    assert after["master"]["tasks"][0] == FILE["master"]["tasks"][0] and after["feature"] == FILE["feature"]
    # a bare 1 in 2.2's dependencies already means its sibling 2.1, so task 1 cannot be written there
    proc = run_ours(["add-dependency", "--id=2.2", "--depends-on=1"], proj, check=False)
    assert proc.returncode == 2 and "sibling" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["set-status", "--id=1", "--status=done"],
        ["set-status", "2.1,2.2", "pending"],
        ["add-dependency", "--id=3", "--depends-on=2.1"],
        ["remove-dependency", "--id=3", "--depends-on=1"],
        ["fix-dependencies"],
        ["clear-subtasks", "--id=3"],
        ["generate"],
        ["set-status", "--id=1", "--status=pending", "--tag", "feature"],
    ],
)
def test_a_command_that_changes_nothing_writes_nothing(proj: Path, args: list[str]) -> None:
    before = snapshot(proj)
    run_ours(args, proj)
    assert snapshot(proj) == before


def test_untagged_file_stays_untagged(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", [task(1), task(2, deps=[1])], tagged=False)
    run_ours(["set-status", "--id=1", "--status=done"], root)
    after = read(root)
    assert list(after) == ["tasks", "metadata"] and after["tasks"][0]["status"] == "done"
    assert after["tasks"][1] == task(2, deps=[1])


def test_other_tags_and_top_level_keys_untouched(proj: Path) -> None:
    run_ours(["add-task", "--title=New", "--description=New one"], proj)
    after = read(proj)
    assert list(after) == ["master", "feature", "zNotATag"]
    assert after["feature"] == FILE["feature"] and after["zNotATag"] == FILE["zNotATag"]
    assert after["master"]["tasks"][:3] == FILE["master"]["tasks"]
    assert after["master"]["tasks"][3]["id"] == 4 and after["master"]["metadata"]["taskCount"] == 4
