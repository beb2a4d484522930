"""The manager's commands through the real anthropic SDK against the loopback fake, with scripted answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tm_helpers import first_json, make_project, read_json, run_real, task, tasks_path

from claude_orchestrator.cli.main import cli
from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.errors import StructuredOutputError
from claude_orchestrator.llm import LLM, Ledger
from claude_orchestrator.manager import Manager
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, json_reply, text_reply


def planned(n: int, deps: dict[int, list[int]] | None = None) -> dict[str, Any]:
    deps = deps or {}
    return {
        "tasks": [
            {
                "id": i,
                "title": f"Planned {i}",
                "description": f"Do part {i}",
                "details": "how",
                "testStrategy": "tests",
                "priority": "high" if i == 1 else "medium",
                "dependencies": deps.get(i, []),
                "acceptanceCriteria": [f"part {i} works"],
                "relevantFiles": [f"src/p{i}.py"],
            }
            for i in range(1, n + 1)
        ]
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "proj")
    (root / ".taskmaster" / "docs" / "prd.txt").write_text("# PRD\nBuild a thing in three parts.\n")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def fake(fake_api: FakeAnthropic) -> FakeAnthropic:
    return fake_api  # over the socket: the CLI finds it through ANTHROPIC_BASE_URL


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_parse_happy_path_writes_graph_task_master_reads(project: Path, fake: FakeAnthropic, tmp_path: Path):
    fake.enqueue(json_reply(planned(3, {2: [1], 3: [1, 2]})))
    res = invoke("parse")
    assert res.exit_code == 0, res.output
    data = read_json(project)["master"]["tasks"]
    assert [t["id"] for t in data] == [1, 2, 3]
    assert data[2]["dependencies"] == [1, 2]
    assert data[0]["acceptanceCriteria"] == ["part 1 works"]
    assert data[1]["relevantFiles"] == ["src/p2.py"]
    # the request went to the manager model, with the PRD in it
    req = [r for r in fake.requests if r.endpoint == "/v1/messages"][0]
    assert req.model == "claude-opus-5-5"
    assert "Build a thing in three parts" in req.last_user_text
    # the real task-master lists it and picks the same next task
    real_next = first_json(run_real(["next", "-f", "json"], project, tmp_path).stdout)
    assert str(real_next["task"]["id"]) == "1"
    real_list = first_json(run_real(["list", "--json"], project, tmp_path).stdout)
    assert sorted(str(t["id"]) for t in real_list["tasks"]) == ["1", "2", "3"]


def test_parse_invalid_json_then_repaired(project: Path, fake: FakeAnthropic):
    fake.enqueue(text_reply("Here is the plan: {not json"), json_reply(planned(2, {2: [1]}), fenced=True))
    res = invoke("parse")
    assert res.exit_code == 0, res.output
    assert [t["id"] for t in read_json(project)["master"]["tasks"]] == [1, 2]
    assert len([r for r in fake.requests if r.endpoint == "/v1/messages"]) == 2


def test_parse_cycle_then_repaired(project: Path, fake: FakeAnthropic):
    fake.enqueue(json_reply(planned(3, {1: [3], 3: [1]})), json_reply(planned(3, {3: [1]})))
    res = invoke("parse")
    assert res.exit_code == 0, res.output
    repair = [r for r in fake.requests if r.endpoint == "/v1/messages"][1]
    assert "cycle: 1 -> 3 -> 1" in repair.last_user_text
    assert read_json(project)["master"]["tasks"][2]["dependencies"] == [1]


def test_parse_cycle_twice_fails_and_leaves_database_untouched(project: Path, fake: FakeAnthropic):
    before = json.dumps(task(1))
    tasks_path(project).write_text(json.dumps({"master": {"tasks": [task(1)], "metadata": {}}}))
    raw_before = tasks_path(project).read_bytes()
    fake.enqueue(json_reply(planned(2, {1: [2], 2: [1]})), json_reply(planned(2, {1: [2], 2: [1]})))
    res = CliRunner().invoke(cli, ["parse", "--force"])
    assert res.exit_code == 1
    assert "still invalid after one repair" in res.output and "cycle: 1 -> 2 -> 1" in res.output
    assert tasks_path(project).read_bytes() == raw_before
    assert before  # the fixture task was present


def test_parse_refuses_non_empty_tag_without_append_or_force(project: Path, fake: FakeAnthropic):
    tasks_path(project).write_text(json.dumps({"master": {"tasks": [task(1)], "metadata": {}}}))
    res = CliRunner().invoke(cli, ["parse"])
    assert res.exit_code == 2
    assert "--append" in res.output and "--force" in res.output
    assert fake.requests == []  # refused before any model call


def test_parse_append_renumbers_after_existing(project: Path, fake: FakeAnthropic, tmp_path: Path):
    tasks_path(project).write_text(
        json.dumps({"master": {"tasks": [task(1), task(2, deps=[1])], "metadata": {}}})
    )
    fake.enqueue(json_reply(planned(2, {2: [1]})))
    res = invoke("parse", "--append", "-n", "2")
    assert res.exit_code == 0, res.output
    data = read_json(project)["master"]["tasks"]
    assert [t["id"] for t in data] == [1, 2, 3, 4]
    assert data[3]["dependencies"] == [3]
    assert data[1]["dependencies"] == [1]
    real = first_json(run_real(["list", "--json"], project, tmp_path).stdout)
    assert sorted(int(t["id"]) for t in real["tasks"]) == [1, 2, 3, 4]


def test_add_decomposes_and_links_existing(project: Path, fake: FakeAnthropic):
    tasks_path(project).write_text(json.dumps({"master": {"tasks": [task(1)], "metadata": {}}}))
    answer = {
        "tasks": [
            {
                "id": 1,
                "title": "API",
                "description": "endpoint",
                "dependencies": [],
                "existingDependencies": [1],
            },
            {"id": 2, "title": "UI", "description": "page", "dependencies": [1], "existingDependencies": []},
        ]
    }
    fake.enqueue(json_reply(answer))
    res = invoke("add", "Add an export endpoint and a page for it, on top of task 1")
    assert res.exit_code == 0, res.output
    data = read_json(project)["master"]["tasks"]
    assert [(t["id"], t["dependencies"]) for t in data] == [(1, []), (2, [1]), (3, [2])]
    req = [r for r in fake.requests if r.endpoint == "/v1/messages"][0]
    assert "- 1 [pending] Task 1" in req.last_user_text


def test_add_no_decompose_insists_on_one_task(project: Path, fake: FakeAnthropic):
    two = {
        "tasks": [
            {"id": 1, "title": "A", "description": "a", "dependencies": []},
            {"id": 2, "title": "B", "description": "b", "dependencies": [1]},
        ]
    }
    one = {"tasks": [{"id": 1, "title": "A", "description": "a", "dependencies": []}]}
    fake.enqueue(json_reply(two), json_reply(one))
    res = invoke("add", "--no-decompose", "Do A and B")
    assert res.exit_code == 0, res.output
    assert [t["title"] for t in read_json(project)["master"]["tasks"]] == ["A"]
    assert "exactly one task" in [r for r in fake.requests if r.endpoint == "/v1/messages"][1].last_user_text


_OPEN: list[LLM] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture
def inproc() -> FakeAnthropic:
    """The fake in-process (no socket), for tests that build the manager's client themselves."""
    return FakeAnthropic()


def _manager(fake: FakeAnthropic, root: Path) -> tuple[Manager, Ledger]:
    cfg = OrchestratorConfig()
    ledger = Ledger()
    llm = LLM.from_config(cfg, ledger=ledger, api_key="sk-test", transport=fake.transport())
    _OPEN.append(llm)
    return Manager(llm=llm, cfg=cfg, project_root=root), ledger


def test_expand_writes_subtask_dependencies_as_p_s(project: Path, inproc: FakeAnthropic, tmp_path: Path):
    from claude_orchestrator.manager import service
    from claude_orchestrator.taskmaster.store import TaskStore

    tasks_path(project).write_text(json.dumps({"master": {"tasks": [task(4)], "metadata": {}}}))
    subs = {
        "subtasks": [
            {
                "id": 1,
                "title": "Schema first",
                "description": "Write the schema",
                "dependencies": [],
                "details": "Define the JSON schema for it.",
                "status": "pending",
                "testStrategy": "unit",
            },
            {
                "id": 2,
                "title": "Then the API",
                "description": "Write the endpoint",
                "dependencies": [1],
                "details": "Implement the endpoint with it.",
                "status": "pending",
                "testStrategy": "unit",
            },
        ]
    }
    inproc.enqueue(json_reply(subs))
    manager, ledger = _manager(inproc, project)
    service.expand(manager, TaskStore.discover(project), 4, num=2)
    sub = read_json(project)["master"]["tasks"][0]["subtasks"]
    assert [s["id"] for s in sub] == [1, 2]
    assert sub[1]["dependencies"] == ["4.1"]
    assert ledger.totals(by=("role",))  # attributed to the manager role
    assert {r.role for r in ledger.records()} == {"manager"}
    shown = run_real(["show", "4.2", "--json"], project, tmp_path).stdout
    assert "Then the API" in shown and '"originalTaskId": "4.2"' in shown


def test_review_fail_with_follow_ups(project: Path, inproc: FakeAnthropic):
    verdict = {
        "verdict": "fail",
        "issues": ["ties are not broken alphabetically"],
        "follow_ups": [{"title": "Benchmark", "description": "Measure speed", "priority": "low"}],
    }
    inproc.enqueue(json_reply(verdict))
    manager, _ = _manager(inproc, project)
    t = task(3, acceptanceCriteria=["ties are broken alphabetically"])
    answer = manager.review(t, diff="+def top(): ...", summary="wrote top()", test_output="1 passed")
    assert answer.verdict == "fail"
    assert answer.issues == ["ties are not broken alphabetically"]
    assert answer.follow_ups[0].title == "Benchmark"
    sent = [r for r in inproc.requests if r.endpoint == "/v1/messages"][0].last_user_text
    assert "- ties are broken alphabetically" in sent and "+def top()" in sent and "1 passed" in sent


def test_structured_failure_bound(project: Path, inproc: FakeAnthropic):
    inproc.enqueue(*(text_reply("nope") for _ in range(5)))
    manager, _ = _manager(inproc, project)
    with pytest.raises(StructuredOutputError):
        manager.review(task(1), diff="", summary="")


def test_prompt_override_from_templates(project: Path, inproc: FakeAnthropic):
    override = project / ".taskmaster" / "templates" / "review.md"
    override.write_text("<!-- system -->\nCUSTOM REVIEWER $tid\n<!-- user -->\nReview $title please. $diff\n")
    inproc.enqueue(json_reply({"verdict": "pass", "issues": [], "follow_ups": []}))
    manager, _ = _manager(inproc, project)
    assert manager.review(task(7), diff="x").verdict == "pass"
    req = [r for r in inproc.requests if r.endpoint == "/v1/messages"][0]
    assert "CUSTOM REVIEWER 7" in req.system_text
    assert "Review Task 7 please." in req.last_user_text


def test_missing_credentials_is_a_clear_error(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    res = CliRunner().invoke(cli, ["parse"])
    assert res.exit_code == 2
    assert "ANTHROPIC_API_KEY" in res.output
