"""Parity with the real task-master-ai 0.43.1 CLI on shared fixtures: the same commands run on two copies of
a project, one by each CLI; their JSON answers and the resulting files are compared after normalising what
differs by design (the README's Task Master section lists those differences)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tm_helpers import first_json, make_project, require_real, run_ours, run_real, sub, task, tasks_path

from claude_orchestrator.taskmaster.graph import dep_key
from claude_orchestrator.taskmaster.model import parse_document

pytestmark = [pytest.mark.taskmaster_cli, pytest.mark.slow]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_real()
    return tmp_path_factory.mktemp("tm-home")


def fixture_tasks() -> list[dict[str, Any]]:
    return [
        task(1, "done", priority="high", metadata={"owner": "ann"}),
        task(2, deps=[1], subtasks=[sub(1, "done"), sub(2), sub(3, deps=["2.2"])], assignee="bob"),
        task(3, deps=[2], priority="critical"),
        task(4, "deferred", deps=[1]),
        task(5, deps=[1], priority="low"),
        task(6, "review"),
        task(7, deps=[5]),
    ]


def twin(tmp_path: Path) -> tuple[Path, Path]:
    ours = make_project(tmp_path / "ours", fixture_tasks())
    report = ours / ".taskmaster" / "reports" / "task-complexity-report.json"
    report.write_text(
        json.dumps(
            {
                "meta": {"generatedAt": "2025-01-01T00:00:00.000Z", "thresholdScore": 5},
                "complexityAnalysis": [
                    {"taskId": 3, "taskTitle": "Task 3", "complexityScore": 7, "recommendedSubtasks": 4,
                     "expansionPrompt": "Split it.", "reasoning": "Many parts."}
                ],
            }
        )
    )  # fmt: skip
    real = tmp_path / "real"
    shutil.copytree(ours, real)
    return ours, real


def semantic(root: Path) -> dict[str, Any]:
    """Each tag's units as both CLIs mean them: ids, text, status, priority, dependencies (as "N"/"P.S")."""
    doc = parse_document(json.loads(tasks_path(root).read_text()), "tasks.json")
    out: dict[str, Any] = {}
    for name, tag in doc.tags.items():
        out[name] = {
            t.uid: (
                t.title,
                t.description,
                t.status,
                t.priority,
                sorted(dep_key(d) for d in t.dependencies),
                [(s.uid, s.title, s.status, sorted(dep_key(d) for d in s.dependencies)) for s in t.subtasks],
            )
            for t in tag.tasks
        }
    return out


def listed(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """A `list --json` answer without the forms that differ by design (subtask ids/deps as written)."""
    rows = []
    for t in data["tasks"]:
        extra = {
            k: t.get(k)
            for k in ("metadata", "assignee", "complexity", "recommendedSubtasks", "expansionPrompt")
        }
        subs = [(str(s["id"]), s.get("status")) for s in t.get("subtasks") or []]
        rows.append(
            (t["id"], t["status"], t["priority"], sorted(t["dependencies"]), t["blocks"], extra, subs)
        )
    return rows


def both_json(args: list[str], ours: Path, real: Path, scratch: Path) -> tuple[Any, Any]:
    return json.loads(run_ours(args, ours).stdout), first_json(run_real(args, real, scratch).stdout)


def test_read_commands_answer_alike(tmp_path: Path, scratch: Path) -> None:
    ours, real = twin(tmp_path)
    for args in (
        ["list", "--json"],
        ["list", "-s", "pending,deferred", "--json"],
        ["list", "--ready", "--json"],
        ["list", "--blocking", "-f", "json"],
        ["list", "--with-subtasks", "--json"],
    ):
        mine, theirs = both_json(args, ours, real, scratch)
        assert listed(mine) == listed(theirs), args
        assert mine["metadata"] == theirs["metadata"], args
    mine, theirs = both_json(["next", "-f", "json"], ours, real, scratch)
    assert (mine["task"]["id"], mine["found"], mine["tag"]) == (
        theirs["task"]["id"],
        theirs["found"],
        theirs["tag"],
    )
    mine, theirs = both_json(["show", "2.2", "--json"], ours, real, scratch)
    assert (mine["task"]["title"], mine["originalTaskId"]) == (
        theirs["task"]["title"],
        theirs["originalTaskId"],
    )
    mine, theirs = both_json(["show", "3", "--json"], ours, real, scratch)
    keys = ("complexity", "recommendedSubtasks", "expansionPrompt", "priority", "dependencies")
    assert {k: mine["task"][k] for k in keys} == {k: theirs["task"][k] for k in keys}
    mine, theirs = both_json(["show", "1,3,9", "--json"], ours, real, scratch)
    assert [str(t["id"]) for t in mine["tasks"]] == [str(t["id"]) for t in theirs["tasks"]]
    assert mine["notFound"] == theirs["notFound"] == ["9"]


WRITES: list[list[str]] = [
    ["add-task", "-t", "Manual task", "-d", "Written by hand", "--priority", "high", "--dependencies", "1,3"],
    ["add-subtask", "-p", "3", "-t", "First part", "-d", "Part one"],
    ["add-subtask", "-p", "3", "-i", "6"],  # task 6 becomes subtask 3.2
    ["remove-subtask", "-i", "2.1", "-c"],  # subtask 2.1 becomes task 9, depending on 2
    ["move", "--from=7", "--to=12"],
    ["move", "--from=2.3", "--to=2.2"],
    ["add-dependency", "-i", "12", "-d", "3"],
    ["remove-dependency", "-i", "3", "-d", "2"],
    ["clear-subtasks", "-i", "3"],
    ["remove-task", "-i", "4", "-y"],
    ["tags", "add", "feature", "--description", "Feature work"],
    ["move", "--from=8", "--to-tag=feature", "--ignore-dependencies"],
    ["copy-tag", "feature", "copy", "-d", "A copy"],
    ["rename-tag", "copy", "renamed"],
]


@pytest.mark.timeout(900)  # 17 runs of the real CLI, 4-10 s each
def test_writes_leave_the_same_tasks(tmp_path: Path, scratch: Path) -> None:
    ours, real = twin(tmp_path)
    mine, theirs = both_json(
        ["set-status", "-i", "5", "-s", "in-progress", "-f", "json"], ours, real, scratch
    )
    assert mine["updatedTasks"] == theirs["updatedTasks"] and mine["success"] is theirs["success"] is True
    for args in WRITES:
        run_ours(args, ours)
        run_real(args, real, scratch)
        assert semantic(ours) == semantic(real), args
    assert list(semantic(ours)) == ["master", "feature", "renamed"]
    run_ours(["tags", "remove", "renamed", "-y"], ours)
    run_real(["tags", "remove", "renamed", "-y"], real, scratch)
    assert semantic(ours) == semantic(real)
