"""One rule picks every unit's backend — selected tasks and review follow-ups alike: --backend, then the
task's metadata.backend, then a build plan, then config (auto: Claude Code when its CLI is there)."""

from __future__ import annotations

from claude_orchestrator.run.selection import BackendRule, follow_up_unit, select_units
from claude_orchestrator.taskmaster.model import Task, parse_document


def task(tid: int, **extra: object) -> Task:
    raw = {
        "id": tid,
        "title": f"T{tid}",
        "description": "d",
        "status": "pending",
        "dependencies": [],
        **extra,
    }
    return parse_document({"master": {"tasks": [raw]}}).tag("master").tasks[0]


def test_the_rule_in_its_order():
    plan = {"name": "p", "files": [{"filename": "a.py", "code": "print(1)\n"}], "run": "python3 a.py"}
    no_cli = BackendRule(None, "auto", cli_available=False)
    assert no_cli(task(1).to_json()) == "api"
    assert BackendRule(None, "auto", cli_available=True)(task(1).to_json()) == "claude-code"
    assert no_cli(task(2, metadata={"backend": "claude-code"}).to_json()) == "claude-code"
    assert no_cli(task(3, metadata={"plan": plan}).to_json()) == "build"
    assert BackendRule(None, "claude-code", cli_available=False)(task(1).to_json()) == "claude-code"
    assert (
        BackendRule("api", "auto", cli_available=True)(task(2, metadata={"backend": "build"}).to_json())
        == "api"
    )


def test_a_review_follow_up_picks_its_backend_like_every_other_unit():
    no_cli = BackendRule(None, "auto", cli_available=False)
    tag = parse_document({"master": {"tasks": [task(1).to_json()]}}).tag("master")
    selected = select_units(tag, rule=no_cli).units[0].unit.backend
    follow_up = follow_up_unit(task(2, dependencies=[1]), no_cli).unit
    assert selected == follow_up.backend == "api"  # no Claude Code CLI: not hard-coded to claude-code
    assert follow_up.unit_id == "2" and follow_up.dependencies == ["1"]
