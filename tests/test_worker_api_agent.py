"""The api backend: our tool loop through the real anthropic SDK (via the LLM layer) against the loopback
fake; the scripted models route on what each request holds (turn count, tool results)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.events import TaskProgress
from claude_orchestrator.llm.client import LLM
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    FakeRequest,
    Reply,
    error_reply,
    text_reply,
    tool_use_reply,
    tool_uses_reply,
)
from claude_orchestrator.workers.api_agent import ApiAgentWorker
from claude_orchestrator.workers.base import WorkContext, Worker, WorkResult, WorkUnit


@dataclass(frozen=True)
class TranscriptContext(WorkContext):
    transcript_path: Path | None = None


UNIT = WorkUnit(
    unit_id="4.2",
    task_id="4",
    title="Add a greeting module",
    description="greet.py with greet()",
    acceptance_criteria=["greet() returns 'hi'"],
    test_strategy="python3 -c 'import greet'",
    dependency_results={"4.1": "Set up the package."},
)


def run_worker(
    model, wd: Path, cfg: OrchestratorConfig | None = None, **ctx_kw: object
) -> tuple[WorkResult, FakeAnthropic, LLM]:
    cfg = cfg or OrchestratorConfig()
    with FakeAnthropic(model=model) as fake:
        llm = LLM.from_config(cfg, api_key="sk-fake-test", base_url=fake.base_url)
        worker = ApiAgentWorker(llm, cfg)
        result = worker.run(UNIT, TranscriptContext(workdir=wd, **ctx_kw))  # type: ignore[arg-type]
        llm.close()
    return result, fake, llm


def results_of(req: FakeRequest) -> list[tuple[str, bool]]:
    out = []
    for r in req.tool_results:
        content = r.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        out.append((text, bool(r.get("is_error"))))
    return out


def test_tool_loop_writes_edits_runs_and_reports(tmp_path: Path) -> None:
    wd = tmp_path / "wt"
    wd.mkdir()
    steps = [
        tool_use_reply("write_file", {"path": "greet.py", "content": "def greet():\n    return 'hello'\n"}),
        tool_use_reply("edit_file", {"path": "greet.py", "old": "'hello'", "new": "'hi'"}),
        tool_uses_reply(
            [
                ("run_command", {"command": "python3 -c 'import greet; print(greet.greet())'"}),
                ("list_dir", {}),
            ]
        ),
    ]
    seen: list[list[tuple[str, bool]]] = []

    def model(req: FakeRequest) -> Reply:
        seen.append(results_of(req))
        if req.turn < len(steps):
            return steps[req.turn]
        return text_reply("Added greet.py; greet() returns 'hi' (checked with python3).")

    reports: list[TaskProgress] = []
    transcript = tmp_path / "run" / "transcript.jsonl"
    result, fake, llm = run_worker(model, wd, report=reports.append, transcript_path=transcript)
    assert result.ok, result.error
    assert (wd / "greet.py").read_text() == "def greet():\n    return 'hi'\n"
    assert result.summary.startswith("Added greet.py")
    assert result.turns == 4 and result.data["tool_calls"] == 4 and result.data["tool_errors"] == 0
    assert seen[3][0][0].startswith("hi\n") and "[exit code 0]" in seen[3][0][0]
    assert "greet.py" in seen[3][1][0] and not any(e for _, e in seen[3])
    # usage: what the worker reports is what the ledger recorded for this task and role
    recs = llm.ledger.records(task_id="4.2", role="worker")
    assert len(recs) == 4 and result.cost_usd > 0
    assert result.cost_usd == pytest.approx(llm.ledger.cost_usd(task_id="4.2"))
    assert result.tokens_out == sum(r.usage.output_tokens for r in recs) > 0
    assert result.tokens_in == sum(r.usage.total_input for r in recs) > 0
    # the request: worker model, the sandbox tools, the prompt with the task and its dependency's output
    first = fake.requests[0]
    assert first.model == OrchestratorConfig().models.worker.model
    assert set(first.tool_names) == {
        "read_file",
        "write_file",
        "edit_file",
        "list_dir",
        "grep",
        "run_command",
    }
    assert "Do NOT commit" in first.system_text and "greet() returns 'hi'" in first.last_user_text
    assert "Set up the package." in first.last_user_text
    assert [r.phase for r in reports] == ["starting", "working", "working", "working", "working", "done"]
    assert reports[-1].cost_usd == result.cost_usd
    lines = [json.loads(x) for x in transcript.read_text().splitlines()]
    assert [m["role"] for m in lines] == ["user"] + ["assistant", "user"] * 3 + ["assistant"]
    assert result.transcript_path == str(transcript)


def test_escape_attempts_come_back_as_tool_errors(tmp_path: Path) -> None:
    wd, outside = tmp_path / "wt", tmp_path / "outside"
    wd.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("untouched\n")
    (wd / "link").symlink_to(outside, target_is_directory=True)
    cfg = OrchestratorConfig()
    cfg.execution.command_timeout = 1.0
    attacks = [
        ("write_file", {"path": "../x", "content": "escaped"}),
        ("write_file", {"path": str(outside / "abs.txt"), "content": "escaped"}),
        ("read_file", {"path": "/etc/passwd"}),
        ("write_file", {"path": "link/via-link.txt", "content": "escaped"}),
        ("edit_file", {"path": "link/keep.txt", "old": "untouched", "new": "changed"}),
        ("read_file", {"path": "link/keep.txt"}),
        ("write_file", {"path": ".git/config", "content": "x"}),
        ("run_command", {"command": "sleep 1000"}),
        ("no_such_tool", {}),
        ("write_file", {"path": "ok.txt"}),  # missing content
    ]
    answers: dict[str, tuple[str, bool]] = {}

    def model(req: FakeRequest) -> Reply:
        if req.turn < len(attacks):
            if req.tool_results:
                answers[json.dumps(attacks[req.turn - 1])] = results_of(req)[0]
            return tool_use_reply(*attacks[req.turn])
        answers[json.dumps(attacks[-1])] = results_of(req)[0]
        return text_reply("I could not get out.")

    before = sorted(p.name for p in outside.iterdir())
    t0 = time.monotonic()
    result, _, _ = run_worker(model, wd, cfg)
    assert result.ok and result.data["tool_errors"] == len(attacks)
    assert all(is_error for _, is_error in answers.values()), answers
    assert len(answers) == len(attacks)
    sleep_text = answers[json.dumps(attacks[7])][0]
    assert "timed out after 1s" in sleep_text
    assert time.monotonic() - t0 < 20
    assert sorted(p.name for p in outside.iterdir()) == before
    assert (outside / "keep.txt").read_text() == "untouched\n"
    assert not (tmp_path / "x").exists()
    assert sorted(p.name for p in wd.iterdir()) == ["link"]


def test_budget_stops_the_task_with_a_clear_reason(tmp_path: Path) -> None:
    cfg = OrchestratorConfig()
    cfg.budgets.task_usd = 0.004  # about two turns of the fake's usage

    def model(req: FakeRequest) -> Reply:
        return tool_use_reply("list_dir", {})

    result, fake, llm = run_worker(model, tmp_path, cfg)
    assert not result.ok and result.error is not None
    assert result.error.startswith("budget exceeded, task stopped:") and "task 4.2" in result.error
    assert 1 <= result.turns == len(fake.requests) < 10
    assert llm.ledger.cost_usd(task_id="4.2") <= 0.004 + 0.003  # never a request past the budget


def test_turn_limit_api_error_and_cancel_fail_the_task(tmp_path: Path) -> None:
    cfg = OrchestratorConfig()
    cfg.execution.max_turns = 2
    result, fake, _ = run_worker(lambda req: tool_use_reply("list_dir", {}), tmp_path, cfg)
    assert not result.ok and result.error == "reached the turn limit (2) before finishing"
    assert len(fake.requests) == 2

    result, _, _ = run_worker(lambda req: error_reply(400, "prompt is too long"), tmp_path)
    assert not result.ok and result.error is not None
    assert result.error.startswith("model call failed:") and "prompt is too long" in result.error

    cancel = threading.Event()

    def model(req: FakeRequest) -> Reply:
        cancel.set()  # the engine cancels while the model answers: the tool call is not run
        return tool_use_reply("write_file", {"path": "late.txt", "content": "x"})

    result, fake, _ = run_worker(model, tmp_path, cancel=cancel)
    assert not result.ok and result.error == "cancelled" and len(fake.requests) == 1
    assert not (tmp_path / "late.txt").exists()


def test_timeout_ends_the_loop(tmp_path: Path) -> None:
    cfg = OrchestratorConfig()
    cfg.execution.command_timeout = 30

    def model(req: FakeRequest) -> Reply:
        return tool_use_reply("run_command", {"command": "sleep 1000"})

    t0 = time.monotonic()
    result, fake, _ = run_worker(model, tmp_path, cfg, timeout_s=1.5)
    assert not result.ok and result.error == "timed out after 1.5s"
    assert len(fake.requests) == 1 and time.monotonic() - t0 < 15
    assert isinstance(ApiAgentWorker(None, cfg), Worker) and ApiAgentWorker.name == "api"


def test_end_without_text_and_a_missing_workdir(tmp_path: Path) -> None:
    result, _, _ = run_worker(lambda req: text_reply("", stop_reason="refusal"), tmp_path)
    assert not result.ok and result.error == "the model refused the task"
    result, fake, _ = run_worker(lambda req: text_reply("x"), tmp_path / "missing")
    assert not result.ok and result.error is not None and result.error.startswith("cannot start:")
    assert fake.requests == []
