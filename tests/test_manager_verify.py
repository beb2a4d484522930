"""The manager writes `verify` commands when it plans (parse, add, expand), through the real anthropic SDK
against the fake; they land in the tasks' `metadata.verify`, where a run reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_manager import _close_clients, _manager, fake, inproc, project  # noqa: F401 (fixtures)
from tm_helpers import read_json, task, tasks_path

from claude_orchestrator.cli.main import cli
from claude_orchestrator.run.selection import select_units
from claude_orchestrator.taskmaster.store import TaskStore
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, json_reply

PYTEST = ["python", "-m", "pytest", "tests/test_parser.py", "-q"]


def _planned(**extra: Any) -> dict[str, Any]:
    return {"id": 1, "title": "Parser", "description": "Parse the config", "testStrategy": "pytest", **extra}


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_parse_asks_for_verify_commands_and_stores_them_in_metadata(project: Path, fake: FakeAnthropic):  # noqa: F811
    fake.enqueue(
        json_reply(
            {
                "tasks": [
                    _planned(verify=[PYTEST, ["ruff", "check", "src/parser.py"]]),
                    {"id": 2, "title": "Docs", "description": "Write the docs", "verify": []},
                ]
            }
        )
    )
    res = _invoke("parse")
    assert res.exit_code == 0, res.output
    tasks = read_json(project)["master"]["tasks"]
    assert tasks[0]["metadata"] == {"verify": [PYTEST, ["ruff", "check", "src/parser.py"]]}
    assert "metadata" not in tasks[1]
    system = next(r for r in fake.requests if r.endpoint == "/v1/messages").system_text
    assert "`verify`" in system and "derived from `testStrategy`" in system
    units = select_units(TaskStore.discover(project).load("master")).units
    assert units[0].unit.metadata["verify"] == [PYTEST, ["ruff", "check", "src/parser.py"]]


def test_an_empty_command_in_the_answer_is_repaired_before_anything_is_written(project: Path, fake):  # noqa: F811
    fake.enqueue(
        json_reply({"tasks": [_planned(verify=[[]])]}), json_reply({"tasks": [_planned(verify=[PYTEST])]})
    )
    res = _invoke("parse")
    assert res.exit_code == 0, res.output
    assert read_json(project)["master"]["tasks"][0]["metadata"]["verify"] == [PYTEST]
    second = [r for r in fake.requests if r.endpoint == "/v1/messages"][1]
    assert "verify" in json.dumps(second.messages)  # the validation problem was named in the re-ask


def test_add_writes_verify_commands(project: Path, fake: FakeAnthropic):  # noqa: F811
    tasks_path(project).write_text(json.dumps({"master": {"tasks": [task(1)], "metadata": {}}}))
    fake.enqueue(json_reply({"tasks": [{**_planned(verify=[PYTEST]), "existingDependencies": [1]}]}))
    res = _invoke("add", "Parse the config on top of task 1")
    assert res.exit_code == 0, res.output
    new = read_json(project)["master"]["tasks"][1]
    assert new["dependencies"] == [1] and new["metadata"] == {"verify": [PYTEST]}
    system = next(r for r in fake.requests if r.endpoint == "/v1/messages").system_text
    assert "`verify`" in system


def test_expand_writes_verify_commands_on_subtasks(project: Path, inproc: FakeAnthropic):  # noqa: F811
    from claude_orchestrator.manager import service

    tasks_path(project).write_text(json.dumps({"master": {"tasks": [task(4)], "metadata": {}}}))
    sub = {
        "id": 1,
        "title": "Schema first",
        "description": "Write the schema",
        "dependencies": [],
        "details": "Define the JSON schema for it.",
        "status": "pending",
        "testStrategy": "unit",
        "verify": [["python", "-m", "pytest", "tests/test_schema.py", "-q"]],
    }
    inproc.enqueue(json_reply({"subtasks": [sub]}))
    manager, _ = _manager(inproc, project)
    service.expand(manager, TaskStore.discover(project), 4, num=1)
    saved = read_json(project)["master"]["tasks"][0]["subtasks"][0]
    assert saved["metadata"] == {"verify": [["python", "-m", "pytest", "tests/test_schema.py", "-q"]]}
    assert "`verify`" in inproc.requests[0].system_text
    units = {u.id: u for u in select_units(TaskStore.discover(project).load("master")).units}
    assert units["4.1"].unit.metadata["verify"][0][-2:] == ["tests/test_schema.py", "-q"]


def test_the_review_prompt_separates_our_checks_from_the_workers_claims(project: Path, inproc):  # noqa: F811
    inproc.enqueue(json_reply({"verdict": "pass", "issues": [], "follow_ups": []}))
    manager, _ = _manager(inproc, project)
    manager.review(
        task(3),
        diff="+x",
        summary="all tests pass",
        test_output="$ pytest\n1 passed",
        checks="$ pytest -q\n  -> exit 1",
    )
    sent = inproc.requests[0].last_user_text
    assert "Checks run by the orchestrator:\n$ pytest -q\n  -> exit 1" in sent
    assert "Commands the worker ran:\n$ pytest\n1 passed" in sent
    assert "Never pass work whose\n  checks failed" in inproc.requests[0].system_text


@pytest.mark.parametrize("bad", [[["ok"], ["x", ""]], [["a"]] * 11])
def test_the_schema_refuses_bad_commands(bad):
    from pydantic import ValidationError

    from claude_orchestrator.manager.schemas import PlannedTask

    with pytest.raises(ValidationError):
        PlannedTask(**_planned(verify=bad))


def test_pick_shows_each_attempt_and_repairs_an_attempt_not_offered(project: Path, inproc):  # noqa: F811
    inproc.enqueue(
        json_reply({"attempt": 7, "reason": "the best"}),
        json_reply({"attempt": 3, "reason": "smaller and tested"}),
    )
    manager, _ = _manager(inproc, project)
    attempts = {
        1: {"diff": "+a = 1", "summary": "did a", "checks": "$ pytest -q\n  -> exit 0"},
        3: {"diff": "+b = 2", "summary": "did b", "checks": "(none)"},
    }
    answer = manager.pick(task(5, acceptanceCriteria=["b is 2"]), attempts)
    assert (answer.attempt, answer.reason) == (3, "smaller and tested")
    first = inproc.requests[0]
    assert "Several workers did the same task" in first.system_text
    text = first.last_user_text
    assert "## Attempt 1\nWorker's summary:\ndid a" in text and "+b = 2" in text and "- b is 2" in text
    assert "Pick one of the attempts 1, 3." in text
    assert "attempt 7 is not one of [1, 3]" in inproc.requests[1].last_user_text
