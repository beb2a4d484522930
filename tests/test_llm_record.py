"""Record a run as JSONL through the LLM layer, then replay it exactly with the fake, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pydantic

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.llm import LLM, Recorder
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    error_reply,
    json_reply,
    stream_error_reply,
    text_reply,
    tool_use_reply,
)

SONNET = "claude-sonnet-5-5"


class Answer(pydantic.BaseModel):
    value: int


def _run(base_url: str, recorder: Recorder | None = None) -> tuple[list, int, LLM]:
    llm = LLM.from_config(OrchestratorConfig(), api_key="sk-test", base_url=base_url, recorder=recorder)
    out = []
    msgs: list[dict] = [{"role": "user", "content": "start"}]
    r = llm.create(
        role="worker",
        model=SONNET,
        system="sys " * 400,
        messages=msgs,
        tools=[{"name": "t", "description": "d", "input_schema": {"type": "object"}}],
        max_tokens=20000,
        task_id="1",
    )
    out.append(r.content)
    msgs += [
        r.assistant_message(),
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": r.tool_uses[0]["id"], "content": "ok"}],
        },
    ]
    r = llm.create(
        role="worker", model=SONNET, system="sys " * 400, messages=msgs, max_tokens=100, task_id="1"
    )
    out.append(r.content)
    ans = llm.structured(Answer, role="manager", model="claude-opus-5-5", system="s", prompt="value?")
    return out, ans.value, llm


def test_record_then_replay_reproduces_the_run(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    script = [
        error_reply(429, retry_after=0.1),
        tool_use_reply("t", {"x": 1}),
        stream_error_reply(),  # not retried here: the second call is not streamed, so this is a 529
        text_reply("done"),
        json_reply({"value": "nope"}),
        json_reply({"value": 3}),
    ]
    with FakeAnthropic(replies=script) as fake, Recorder(path) as rec:
        first, value, llm1 = _run(fake.base_url, rec)
        live_usage = llm1.ledger.usage()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == 6 and [ln["status"] for ln in lines][:3] == [429, 200, 529]
    assert "sk-test" not in path.read_text()
    assert lines[0]["retry_after"] == "0.1"
    with FakeAnthropic(replay=path) as replay:  # no script at all: every answer comes from the file
        second, value2, llm2 = _run(replay.base_url)
        assert [r.status for r in replay.requests] == [ln["status"] for ln in lines]
    assert second == first and value2 == value == 3
    assert llm2.ledger.usage() == live_usage


def test_replay_refuses_an_unrecorded_request(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with FakeAnthropic() as fake, Recorder(path) as rec:
        llm = LLM.from_config(OrchestratorConfig(), api_key="k", base_url=fake.base_url, recorder=rec)
        llm.create(
            role="worker", model=SONNET, system="s", messages=[{"role": "user", "content": "a"}], max_tokens=5
        )
    with FakeAnthropic(replay=path) as replay:
        llm = LLM.from_config(OrchestratorConfig(), api_key="k", base_url=replay.base_url)
        try:
            llm.create(
                role="worker",
                model=SONNET,
                system="s",
                messages=[{"role": "user", "content": "b"}],
                max_tokens=5,
            )
        except Exception as e:
            assert "no recorded answer" in str(e)
        else:
            raise AssertionError("expected a refusal")
