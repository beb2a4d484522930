"""The LLM layer through the real anthropic SDK against the fake API, in-process (its httpx2 transport: the
same answers as the loopback socket, without one; no monkeypatched SDK)."""

from __future__ import annotations

import time

import pydantic
import pytest

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.errors import (
    BudgetExceededError,
    ConfigError,
    LLMError,
    RetriesExhaustedError,
    StructuredOutputError,
)
from claude_orchestrator.llm import LLM, Ledger, RetryPolicy
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    Reply,
    error_reply,
    json_reply,
    reset_reply,
    slow,
    stream_error_reply,
    text_reply,
    tool_use_reply,
)
from claude_orchestrator.testing.models import tool_loop

SONNET = "claude-sonnet-5-5"
HI = [{"role": "user", "content": "hi"}]


def make_llm(fake: FakeAnthropic, cfg: OrchestratorConfig | None = None, **kw: object) -> LLM:
    return LLM.from_config(cfg or OrchestratorConfig(), api_key="sk-test", transport=fake.transport(), **kw)  # type: ignore[arg-type]


@pytest.fixture
def fake() -> FakeAnthropic:
    return FakeAnthropic()  # in-process: never started


def test_text_and_streaming(fake: FakeAnthropic) -> None:
    llm = make_llm(fake)
    fake.enqueue(text_reply("short"), text_reply("long", thinking="think"))
    r = llm.create(role="worker", model=SONNET, system="sys", messages=HI, max_tokens=100)
    assert r.text == "short" and r.stop_reason == "end_turn" and r.request_id
    assert fake.requests[0].stream is False
    r = llm.create(role="worker", model=SONNET, system="sys", messages=HI, max_tokens=32000, effort="low")
    assert fake.requests[1].stream is True
    assert fake.requests[1].body["output_config"] == {"effort": "low"}
    assert r.request_id == fake.requests[1].request_id
    assert [b["type"] for b in r.content] == ["thinking", "text"] and r.text == "long"
    assert r.content[0]["signature"]


def test_tool_use_loop_with_moving_cache_breakpoint() -> None:
    steps: list[Reply] = [tool_use_reply("read", {"path": f"f{i}"}) for i in range(4)]
    tools = [{"name": "read", "description": "read a file " * 200, "input_schema": {"type": "object"}}]
    system = "You are a careful worker. " * 200
    fake = FakeAnthropic(model=tool_loop(steps, text_reply("all done")))
    llm = make_llm(fake)
    messages: list[dict] = [{"role": "user", "content": "do the task"}]
    turns = 0
    while True:
        r = llm.create(
            role="worker", model=SONNET, system=system, messages=messages, tools=tools, max_tokens=500
        )
        turns += 1
        messages.append(r.assistant_message())
        if not r.tool_uses:
            break
        results = [{"type": "tool_result", "tool_use_id": t["id"], "content": "x" * 400} for t in r.tool_uses]
        messages.append({"role": "user", "content": results})
    assert turns == 5 and r.text == "all done"
    assert all("cache_control" not in str(m) for m in messages)  # caller's list untouched
    usages = [rec.usage for rec in llm.ledger.records()]
    assert usages[0].cache_read == 0 and usages[0].cache_write_5m > 1000
    for u in usages[1:]:
        assert u.cache_read >= usages[0].cache_write_5m  # the prefix and the previous turn are read
    last = fake.requests[-1].body
    marks = str(last).count("cache_control")
    assert marks <= 4 and last["system"][-1]["cache_control"] == {"type": "ephemeral"}


class Plan(pydantic.BaseModel):
    title: str
    steps: list[str]


def test_structured_invalid_once_then_repaired(fake: FakeAnthropic) -> None:
    fake.enqueue(
        json_reply({"title": "t", "steps": "not a list"}),
        json_reply({"title": "t", "steps": ["a"]}, fenced=True),
    )
    plan = make_llm(fake).structured(
        Plan, role="manager", model="claude-opus-5-5", system="plan", prompt="go"
    )
    assert plan == Plan(title="t", steps=["a"])
    first, second = fake.requests[0].body, fake.requests[1].body
    assert first["output_config"]["format"]["type"] == "json_schema"
    assert "tool_choice" not in first
    repair = second["messages"][-1]["content"][0]["text"]
    assert "steps" in repair and "not valid" in repair


def test_structured_gives_up_after_bound(fake: FakeAnthropic) -> None:
    cfg = OrchestratorConfig()
    cfg.llm.structured_repair_attempts = 1
    fake.enqueue(text_reply("no json here"), text_reply("{broken"))
    with pytest.raises(StructuredOutputError, match="Plan: no valid answer after 2"):
        make_llm(fake, cfg).structured(Plan, role="manager", model=SONNET, system="", prompt="go")
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    "fault",
    [
        error_reply(429, retry_after=0.2),
        error_reply(529),
        error_reply(500),
        error_reply(503),
        stream_error_reply(),
        reset_reply(),
        slow(text_reply("late"), 1.5),
    ],
    ids=["429", "529", "500", "503", "mid-stream", "reset", "slow-first-byte"],
)
def test_every_fault_is_retried_once(fake: FakeAnthropic, fault: Reply) -> None:
    cfg = OrchestratorConfig()
    cfg.llm.request_timeout = 0.6
    llm = make_llm(fake, cfg)
    retries: list[dict] = []
    llm.on_retry(retries.append)
    fake.enqueue(fault, text_reply("recovered"))
    r = llm.create(role="worker", model=SONNET, system="s", messages=HI, max_tokens=20000, task_id="7")
    assert r.text == "recovered" and r.attempts == 2
    assert len(fake.requests) == 2 and len(retries) == 1
    assert retries[0]["task_id"] == "7" and retries[0]["attempt"] == 1
    assert len(llm.ledger.records()) == 1
    # the slow reply was produced (and would be billed) but the client had given up on it
    assert fake.accounting["ok"] == (2 if fault.delay else 1)


def test_retry_after_is_honoured(fake: FakeAnthropic) -> None:
    fake.enqueue(error_reply(429, retry_after=1))
    llm = make_llm(fake)
    t0 = time.monotonic()
    llm.create(role="worker", model=SONNET, system="s", messages=HI, max_tokens=10)
    gap = fake.requests[1].ts - fake.requests[0].ts
    assert 1.0 <= gap < 1.6 and time.monotonic() - t0 >= 1.0


@pytest.mark.parametrize(("status", "fault"), [(400, error_reply(400, "bad field")), (401, error_reply(401))])
def test_no_retry_on_400_or_401(fake: FakeAnthropic, status: int, fault: Reply) -> None:
    fake.enqueue(fault)
    with pytest.raises(LLMError) as info:
        make_llm(fake).create(role="worker", model=SONNET, system="s", messages=HI, max_tokens=10)
    assert not isinstance(info.value, RetriesExhaustedError)
    assert info.value.fields["status"] == status and str(status) in str(info.value)
    assert len(fake.requests) == 1


def test_should_retry_false_wins(fake: FakeAnthropic) -> None:
    fake.enqueue(error_reply(529, should_retry=False))
    with pytest.raises(LLMError):
        make_llm(fake).create(role="worker", model=SONNET, system="s", messages=HI, max_tokens=10)
    assert len(fake.requests) == 1


def test_attempts_and_total_wait_are_bounded(fake: FakeAnthropic) -> None:
    llm = make_llm(fake)
    llm.policy = RetryPolicy(max_attempts=3, base_s=0.01)
    fake.enqueue(*[error_reply(500)] * 3)
    with pytest.raises(RetriesExhaustedError, match="after 3 attempt"):
        llm.create(role="worker", model=SONNET, system="s", messages=HI, max_tokens=10)
    assert len(fake.requests) == 3
    llm.policy = RetryPolicy(max_attempts=6, max_total_wait=5)
    fake.enqueue(error_reply(429, retry_after=60))
    t0 = time.monotonic()
    with pytest.raises(RetriesExhaustedError):
        llm.create(role="worker", model=SONNET, system="s", messages=HI, max_tokens=10)
    assert time.monotonic() - t0 < 1.0  # a 60 s wait would pass the 5 s bound: give up at once


def test_budget_stops_new_work(fake: FakeAnthropic) -> None:
    cfg = OrchestratorConfig()
    cfg.budgets.task_usd = 0.0005
    cfg.budgets.run_usd = 0.01
    llm = make_llm(fake, cfg)
    fake.enqueue(text_reply("x" * 1000))  # 250 output tokens at $10/M = $0.0025
    llm.create(role="worker", model=SONNET, system="s", messages=HI, max_tokens=500, task_id="1")
    with pytest.raises(BudgetExceededError, match="task 1 would exceed") as info:
        llm.create(role="worker", model=SONNET, system="s", messages=HI, max_tokens=500, task_id="1")
    assert info.value.fields["scope"] == "task 1"
    assert len(fake.requests) == 1  # never sent
    llm.create(role="worker", model=SONNET, system="s", messages=HI, max_tokens=500, task_id="2")
    big = [{"role": "user", "content": "y" * 40000}]  # ~10k tokens at $2/M on top of the spend
    llm.ledger.budgets.run_usd = llm.ledger.cost_usd() + 0.001
    with pytest.raises(BudgetExceededError, match="run would exceed"):
        llm.create(role="worker", model=SONNET, system="s", messages=big, max_tokens=500, task_id="3")


def test_ledger_totals_equal_the_fake_accounting(fake: FakeAnthropic) -> None:
    llm = make_llm(fake)
    seen: list[float] = []
    llm.ledger.subscribe(lambda rec: seen.append(rec.cost_usd))
    system = "stable prefix " * 600
    fake.enqueue(error_reply(529), stream_error_reply())
    for i in range(4):
        for role, model in (("manager", "claude-opus-5-5"), ("worker", SONNET)):
            msgs = [{"role": "user", "content": f"question {i}"}]
            llm.create(role=role, model=model, system=system, messages=msgs, max_tokens=9000 * (i % 2) + 100)
    u = llm.ledger.usage()
    acc = fake.accounting
    assert acc["ok"] == 8 == len(seen)
    assert (u.input_tokens, u.output_tokens) == (acc["input_tokens"], acc["output_tokens"])
    assert u.cache_creation_input_tokens == acc["cache_creation_input_tokens"] > 0
    assert u.cache_read == acc["cache_read_input_tokens"] > 0
    by = llm.ledger.totals(by=("model",))
    assert by[(SONNET,)]["input_tokens"] == acc.by_model[SONNET]["input_tokens"]
    assert abs(sum(seen) - llm.ledger.cost_usd()) < 1e-12


def test_from_config_needs_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
    ):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match="no Anthropic credentials"):
        LLM.from_config(OrchestratorConfig())
    monkeypatch.setenv("ANTHROPIC_API_KEY", "your_api_key_here")
    with pytest.raises(ConfigError):
        LLM.from_config(OrchestratorConfig())


def test_auth_token_from_environment(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake = fake_api  # over the socket: the client finds it through ANTHROPIC_BASE_URL
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "tok-123")
    ledger = Ledger(run_id="r1")
    llm = LLM.from_config(OrchestratorConfig(), ledger=ledger)
    llm.create(role="reviewer", model=SONNET, system="s", messages=HI, max_tokens=10, task_id="t")
    assert fake.requests[0].auth_kind == "bearer"
    assert ledger.records()[0].run_id == "r1" and ledger.records()[0].role == "reviewer"
