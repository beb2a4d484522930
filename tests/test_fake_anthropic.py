"""The fake Anthropic API, exercised through the real anthropic SDK (no monkeypatching)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from claude_orchestrator.testing.fake_anthropic import (
    DEFAULT_TEXT,
    FakeAnthropic,
    RateLimits,
    error_reply,
    json_reply,
    reset_reply,
    slow,
    stream_error_reply,
    text_reply,
    tool_use_reply,
)
from claude_orchestrator.testing.models import Router, Script, after_tool, has_tool, tool_loop

MODEL = "claude-sonnet-5-5"
HI = [{"role": "user", "content": "hi"}]


def client(fake: FakeAnthropic, **kw: object) -> anthropic.Anthropic:
    kw.setdefault("max_retries", 0)
    return anthropic.Anthropic(api_key="sk-test", base_url=fake.base_url, **kw)  # type: ignore[arg-type]


def test_default_text_json_and_headers() -> None:
    with FakeAnthropic() as fake:
        raw = client(fake).messages.with_raw_response.create(model=MODEL, max_tokens=50, messages=HI)
        msg = raw.parse()
        assert msg.content[0].text == DEFAULT_TEXT  # type: ignore[union-attr]
        assert raw.request_id and raw.request_id.startswith("req_")
        assert raw.headers["anthropic-ratelimit-requests-remaining"] == "3999"
        for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
            for part in ("limit", "remaining", "reset"):
                assert f"anthropic-ratelimit-{kind}-{part}" in raw.headers
        assert fake.requests[0].auth_kind == "bearer"
        assert fake.requests[0].headers["authorization"] == "***"


def test_streaming_text_tool_use_and_thinking() -> None:
    with FakeAnthropic(
        replies=[tool_use_reply("get", {"a": [1, 2]}, text="calling"), text_reply("ok", thinking="hmm")]
    ) as fake:
        c = client(fake)
        with c.messages.stream(model=MODEL, max_tokens=50, messages=HI) as s:
            msg = s.get_final_message()
        assert [b.type for b in msg.content] == ["text", "tool_use"]
        assert msg.content[1].input == {"a": [1, 2]}  # type: ignore[union-attr]
        assert msg.stop_reason == "tool_use"
        with c.messages.stream(model=MODEL, max_tokens=50, messages=HI) as s:
            msg = s.get_final_message()
        assert msg.content[0].type == "thinking" and msg.content[0].thinking == "hmm"  # type: ignore[union-attr]
        assert msg.content[0].signature  # type: ignore[union-attr]
        assert msg.usage.output_tokens > 1


def test_x_api_key_accepted_and_wrong_key_401() -> None:
    with FakeAnthropic(api_key="sk-good") as fake:
        good = anthropic.Anthropic(api_key="sk-good", base_url=fake.base_url, max_retries=0)
        good.messages.create(model=MODEL, max_tokens=5, messages=HI)
        raw = good._client.post(  # the CLI's form: x-api-key, ?beta=true
            f"{fake.base_url}/v1/messages?beta=true",
            headers={"x-api-key": "sk-good", "anthropic-version": "2023-06-01"},
            json={"model": MODEL, "max_tokens": 5, "messages": [{"role": "system", "content": "s"}, *HI]},
        )
        assert raw.status_code == 200 and fake.requests[-1].auth_kind == "x-api-key"
        bad = anthropic.Anthropic(api_key="sk-bad", base_url=fake.base_url, max_retries=3)
        with pytest.raises(anthropic.AuthenticationError):
            bad.messages.create(model=MODEL, max_tokens=5, messages=HI)
        assert len(fake.requests) == 3  # no retry on 401


def test_count_tokens_and_hello() -> None:
    with FakeAnthropic() as fake:
        c = client(fake)
        raw = c.messages.with_raw_response.count_tokens(
            model=MODEL, messages=[{"role": "user", "content": "x" * 400}]
        )
        assert raw.parse().input_tokens == 100
        assert raw.request_id and "anthropic-ratelimit-requests-remaining" in raw.headers
        assert c._client.head(f"{fake.base_url}/api/hello").status_code == 200


@pytest.mark.parametrize(
    ("reply", "exc"),
    [
        (error_reply(429, retry_after=1), anthropic.RateLimitError),
        (error_reply(529), anthropic.OverloadedError),
        (error_reply(500), anthropic.InternalServerError),
        (error_reply(503), anthropic.ServiceUnavailableError),
        (error_reply(400, "bad"), anthropic.BadRequestError),
        (reset_reply(), anthropic.APIConnectionError),
    ],
)
def test_faults_raise_the_sdk_exception(reply: object, exc: type[Exception]) -> None:
    with FakeAnthropic(replies=[reply]) as fake:  # type: ignore[list-item]
        with pytest.raises(exc):
            client(fake).messages.create(model=MODEL, max_tokens=5, messages=HI)
        assert fake.accounting["ok"] == 0


def test_mid_stream_error_is_status_200_overloaded() -> None:
    with FakeAnthropic(replies=[stream_error_reply()]) as fake:
        stream = client(fake).messages.stream(model=MODEL, max_tokens=5, messages=HI)
        with pytest.raises(anthropic.APIStatusError) as info, stream as s:
            s.get_final_message()
        assert info.value.status_code == 200 and info.value.type == "overloaded_error"


def test_sdk_honours_retry_after_and_should_retry_false() -> None:
    with FakeAnthropic(replies=[error_reply(429, retry_after=1)]) as fake:
        t0 = time.monotonic()
        client(fake, max_retries=2).messages.create(model=MODEL, max_tokens=5, messages=HI)
        assert 0.95 <= time.monotonic() - t0 < 2.0
        fake.enqueue(error_reply(529, should_retry=False))
        with pytest.raises(anthropic.OverloadedError):
            client(fake, max_retries=2).messages.create(model=MODEL, max_tokens=5, messages=HI)
        assert len(fake.requests) == 3


def test_slow_first_byte_times_out() -> None:
    with (
        FakeAnthropic(replies=[slow(text_reply("late"), 1.0)]) as fake,
        pytest.raises(anthropic.APITimeoutError),
    ):
        client(fake, timeout=0.3).messages.create(model=MODEL, max_tokens=5, messages=HI)


def test_rate_limit_window_counts_down_then_429() -> None:
    with FakeAnthropic(rate_limits=RateLimits(requests=3), window_s=30) as fake:
        c = client(fake)
        left = []
        for _ in range(3):
            raw = c.messages.with_raw_response.create(model=MODEL, max_tokens=5, messages=HI)
            left.append(raw.headers["anthropic-ratelimit-requests-remaining"])
        assert left == ["2", "1", "0"]
        with pytest.raises(anthropic.RateLimitError) as info:
            c.messages.create(model=MODEL, max_tokens=5, messages=HI)
        headers = info.value.response.headers
        assert headers["x-should-retry"] == "true" and 1 <= int(headers["retry-after"]) <= 30
        # another model has its own window
        c.messages.create(model="claude-opus-5-5", max_tokens=5, messages=HI)


def test_input_token_limit() -> None:
    with FakeAnthropic(rate_limits=RateLimits(input_tokens=150), window_s=30) as fake:
        c = client(fake)
        big = [{"role": "user", "content": "y" * 400}]  # 100 tokens
        c.messages.create(model=MODEL, max_tokens=5, messages=big)
        with pytest.raises(anthropic.RateLimitError):
            c.messages.create(model=MODEL, max_tokens=5, messages=big)


def _cached_body(n_blocks: int) -> dict:
    system = [{"type": "text", "text": "s" * 8000, "cache_control": {"type": "ephemeral"}}]  # 2000 tokens
    msgs = [
        {"role": "user", "content": [{"type": "text", "text": f"q{i} " + "m" * 397}]} for i in range(n_blocks)
    ]
    msgs[-1]["content"][0]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    return {"system": system, "messages": msgs}


def test_prompt_caching_write_then_read() -> None:
    with FakeAnthropic() as fake:
        c = client(fake)
        first = c.messages.create(model=MODEL, max_tokens=5, **_cached_body(1))  # type: ignore[arg-type]
        u = first.usage
        assert (u.cache_read_input_tokens, u.cache_creation_input_tokens, u.input_tokens) == (0, 2100, 0)
        assert u.cache_creation.ephemeral_5m_input_tokens == 2000  # type: ignore[union-attr]
        assert u.cache_creation.ephemeral_1h_input_tokens == 100  # type: ignore[union-attr]
        body = _cached_body(1)
        body["messages"].append({"role": "user", "content": "tail " + "t" * 35})
        second = c.messages.create(model=MODEL, max_tokens=5, **body)  # type: ignore[arg-type]
        u = second.usage
        assert (u.cache_read_input_tokens, u.cache_creation_input_tokens, u.input_tokens) == (2100, 0, 10)
        # another model: cold cache
        cold = c.messages.create(model="claude-opus-5-5", max_tokens=5, **_cached_body(1))  # type: ignore[arg-type]
        assert cold.usage.cache_read_input_tokens == 0
        assert fake.accounting["cache_read_input_tokens"] == 2100


def test_requests_sent_together_all_write_and_a_billing_header_is_not_prompt() -> None:
    """As with the API, a prompt is in the cache once its answer starts: requests sent at the same moment
    all write it. Claude Code's first system block (a per-request billing header) is not part of the prefix."""
    import threading

    def body(tag: str) -> dict:
        b = _cached_body(1)
        b["system"] = [
            {"type": "text", "text": f"x-anthropic-billing-header: cc_version=2.1.{tag};"},
            *b["system"],
        ]
        return b

    with FakeAnthropic(latency=0.5) as fake:
        c = client(fake)
        usages: list[Any] = []
        together = [
            threading.Thread(
                target=lambda t=t: usages.append(
                    c.messages.create(model=MODEL, max_tokens=5, **body(t)).usage
                )
            )  # type: ignore[arg-type]
            for t in ("a1", "b2")
        ]
        for t in together:
            t.start()
        for t in together:
            t.join()
        assert sorted(u.cache_read_input_tokens for u in usages) == [0, 0]
        later = c.messages.create(model=MODEL, max_tokens=5, **body("c3")).usage  # type: ignore[arg-type]
        assert later.cache_read_input_tokens == 2100  # another header, the same cached prompt


def test_prompt_caching_below_minimum_and_too_many_breakpoints() -> None:
    with FakeAnthropic(min_cache_tokens=5000) as fake:
        c = client(fake)
        u = c.messages.create(model=MODEL, max_tokens=5, **_cached_body(1)).usage  # type: ignore[arg-type]
        assert (u.cache_read_input_tokens, u.cache_creation_input_tokens) == (0, 0)
        body = _cached_body(5)
        for m in body["messages"]:
            m["content"][0]["cache_control"] = {"type": "ephemeral"}
        with pytest.raises(anthropic.BadRequestError, match="maximum of 4"):
            c.messages.create(model=MODEL, max_tokens=5, **body)  # type: ignore[arg-type]


def test_router_routes_by_content_and_script_complains() -> None:
    router = Router(
        (after_tool("get"), text_reply("final")),
        (has_tool("get"), tool_use_reply("get", {})),
        default=json_reply({"title": "t"}),
    )
    tools = [{"name": "get", "description": "d", "input_schema": {"type": "object", "properties": {}}}]
    with FakeAnthropic(model=router) as fake:
        c = client(fake)
        side = c.messages.create(model=MODEL, max_tokens=5, messages=HI)
        assert side.content[0].text == '{"title": "t"}'  # type: ignore[union-attr]
        first = c.messages.create(model=MODEL, max_tokens=5, messages=HI, tools=tools)  # type: ignore[arg-type]
        call = first.content[0]
        result = {"type": "tool_result", "tool_use_id": call.id, "content": "42"}  # type: ignore[union-attr]
        msgs = [
            *HI,
            {"role": "assistant", "content": [call.model_dump()]},
            {"role": "user", "content": [result]},
        ]
        final = c.messages.create(model=MODEL, max_tokens=5, messages=msgs, tools=tools)  # type: ignore[arg-type]
        assert final.content[0].text == "final"  # type: ignore[union-attr]
        assert [i for i, _ in router.seen] == [-1, 1, 0]
    with FakeAnthropic(model=Script([text_reply("one")])) as fake:
        c = client(fake)
        c.messages.create(model=MODEL, max_tokens=5, messages=HI)
        with pytest.raises(anthropic.BadRequestError, match="script exhausted"):
            c.messages.create(model=MODEL, max_tokens=5, messages=HI)


def test_tool_loop_model_is_stateless() -> None:
    model = tool_loop([tool_use_reply("a", {}), tool_use_reply("b", {})], text_reply("end"))
    tools = [{"name": "a", "description": "", "input_schema": {"type": "object"}}]
    with FakeAnthropic(model=model) as fake:
        c = client(fake)
        two_turns = [*HI, {"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]
        r = c.messages.create(model=MODEL, max_tokens=5, messages=two_turns, tools=tools)  # type: ignore[arg-type]
        assert r.content[0].name == "b"  # type: ignore[union-attr]


def test_standalone_server_answers() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "claude_orchestrator.testing.fake_anthropic",
            "--port",
            "0",
            "--text",
            "standalone",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        c = anthropic.Anthropic(api_key="sk-x", base_url=url, max_retries=0)
        assert c.messages.create(model=MODEL, max_tokens=5, messages=HI).content[0].text == "standalone"  # type: ignore[union-attr]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_cache_ttl_5m_and_1h_with_a_fake_clock() -> None:
    now = [1000.0]
    with FakeAnthropic(clock=lambda: now[0]) as fake:
        c = client(fake)
        c.messages.create(model=MODEL, max_tokens=5, **_cached_body(1))  # type: ignore[arg-type]
        now[0] += 290  # a hit refreshes the 5-minute entry
        u = c.messages.create(model=MODEL, max_tokens=5, **_cached_body(1)).usage  # type: ignore[arg-type]
        assert u.cache_read_input_tokens == 2100
        now[0] += 290
        u = c.messages.create(model=MODEL, max_tokens=5, **_cached_body(1)).usage  # type: ignore[arg-type]
        assert u.cache_read_input_tokens == 2100
        now[0] += 400  # past 5 minutes: only the 1-hour entry could survive, and it ends after the 5m one
        u = c.messages.create(model=MODEL, max_tokens=5, **_cached_body(1)).usage  # type: ignore[arg-type]
        assert u.cache_read_input_tokens == 2100  # the 1h breakpoint covers the whole prefix
        now[0] += 3700
        u = c.messages.create(model=MODEL, max_tokens=5, **_cached_body(1)).usage  # type: ignore[arg-type]
        assert u.cache_read_input_tokens == 0 and u.cache_creation_input_tokens == 2100


def test_error_counts_and_fail_next() -> None:
    with FakeAnthropic(replies=[text_reply("queued")]) as fake:
        fake.fail_next(error_reply(500), error_reply(529))
        c = client(fake, max_retries=2)
        assert c.messages.create(model=MODEL, max_tokens=5, messages=HI).content[0].text == "queued"  # type: ignore[union-attr]
        assert fake.accounting.errors == {500: 1, 529: 1} and fake.pending == 0
        assert [r.status for r in fake.requests] == [500, 529, 200]


def test_standalone_replay_of_a_recorded_file(tmp_path: Path) -> None:
    from claude_orchestrator.config import OrchestratorConfig
    from claude_orchestrator.llm import LLM, Recorder

    rec_path = tmp_path / "run.jsonl"
    with FakeAnthropic(replies=[text_reply("recorded answer")]) as fake, Recorder(rec_path) as rec:
        llm = LLM.from_config(OrchestratorConfig(), api_key="sk-x", base_url=fake.base_url, recorder=rec)
        llm.create(role="worker", model=MODEL, system="s", messages=HI, max_tokens=5)
    proc = subprocess.Popen(
        [sys.executable, "-m", "claude_orchestrator.testing.fake_anthropic", "--replay", str(rec_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        llm = LLM.from_config(OrchestratorConfig(), api_key="sk-x", base_url=url)
        assert (
            llm.create(role="worker", model=MODEL, system="s", messages=HI, max_tokens=5).text
            == "recorded answer"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "claude_orchestrator.testing.fake_anthropic",
            "--replay",
            str(tmp_path / "none.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "none.jsonl" in bad.stderr


def test_max_tokens_zero_prewarms_the_cache() -> None:
    with FakeAnthropic(replies=[text_reply("kept for later")]) as fake:
        c = client(fake)
        warm = c.messages.create(model=MODEL, max_tokens=0, **_cached_body(1))  # type: ignore[arg-type]
        assert warm.content == [] and warm.usage.output_tokens == 0
        assert warm.usage.cache_creation_input_tokens == 2100
        hit = c.messages.create(model=MODEL, max_tokens=5, **_cached_body(1))  # type: ignore[arg-type]
        assert hit.usage.cache_read_input_tokens == 2100 and hit.content[0].text == "kept for later"  # type: ignore[union-attr]


def test_script_past_its_end_fails_at_once_naming_the_request() -> None:
    """One reply too few: a 400 (never retried) that names the request, not a retried 500."""
    from claude_orchestrator.config import OrchestratorConfig
    from claude_orchestrator.errors import LLMError, RetriesExhaustedError
    from claude_orchestrator.llm import LLM

    script = Script([text_reply("one")])
    with FakeAnthropic(model=script) as fake:
        llm = LLM.from_config(OrchestratorConfig(), api_key="sk-x", base_url=fake.base_url)
        llm.create(role="worker", model=MODEL, system="s", messages=HI, max_tokens=5)
        ask = [{"role": "user", "content": "Plan the release\nsecond line"}]
        t0 = time.monotonic()
        with pytest.raises(LLMError) as info:
            llm.create(role="worker", model=MODEL, system="s", messages=ask, max_tokens=5)
        assert time.monotonic() - t0 < 2.0 and not isinstance(info.value, RetriesExhaustedError)
        assert len(fake.requests) == 2 and info.value.fields["status"] == 400
    message = str(info.value)
    assert "invalid_request_error" in message and "script exhausted" in message
    assert "/v1/messages" in message and MODEL in message and "'Plan the release'" in message
    assert "second line" not in message
    with pytest.raises(AssertionError, match=r"1 requests past the script: request 1 \(POST /v1/messages"):
        script.assert_complete()


def test_assert_complete_names_unused_replies() -> None:
    script = Script([text_reply("first"), tool_use_reply("read", {"path": "a"}), error_reply(529)])
    with FakeAnthropic(model=script) as fake:
        client(fake).messages.create(model=MODEL, max_tokens=5, messages=HI)
    assert script.remaining == 2
    with pytest.raises(AssertionError) as info:
        script.assert_complete()
    assert str(info.value) == (
        "script incomplete: 2 scripted replies never requested: #2 tool_use read, #3 529 overloaded_error"
    )
    script.enqueue(text_reply("more"))
    with FakeAnthropic(model=script) as fake:
        c = client(fake, max_retries=0)
        c.messages.create(model=MODEL, max_tokens=5, messages=HI)
        with pytest.raises(anthropic.OverloadedError):
            c.messages.create(model=MODEL, max_tokens=5, messages=HI)
        c.messages.create(model=MODEL, max_tokens=5, messages=HI)
        fake.assert_complete()  # the script's check, through the server
        fake.enqueue(text_reply("a long queued answer that nobody ever asks the fake for"))
        with pytest.raises(AssertionError, match="1 enqueued replies never requested: text 'a long queued"):
            fake.assert_complete()


def _outcome(c: anthropic.Anthropic, stream: bool) -> dict[str, object]:
    """What a client sees of one request, minus the ids that differ per request."""
    try:
        if stream:
            with c.messages.stream(model=MODEL, max_tokens=50, messages=HI) as s:
                msg = s.get_final_message()
                headers = dict(s.response.headers)
        else:
            raw = c.messages.with_raw_response.create(model=MODEL, max_tokens=50, messages=HI)
            msg, headers = raw.parse(), dict(raw.headers)
    except anthropic.APIStatusError as e:
        h = e.response.headers
        kept = {k: h.get(k) for k in ("retry-after", "x-should-retry", "anthropic-ratelimit-requests-limit")}
        body = {k: v for k, v in e.body.items() if k != "request_id"} if isinstance(e.body, dict) else e.body
        return {"error": type(e).__name__, "status": e.status_code, "body": body, "headers": kept}
    except anthropic.APIError as e:
        return {"error": type(e).__name__}
    dumped = msg.model_dump(mode="json", exclude={"id"})
    return {"message": dumped, "content-type": headers["content-type"].split(";")[0]}


@pytest.mark.parametrize(
    "reply",
    [
        text_reply("plain"),
        tool_use_reply("get", {"a": [1, 2]}, text="calling"),
        text_reply("thought through", thinking="hmm " * 30),
        error_reply(429, retry_after=3),
        error_reply(400, "bad field"),
        error_reply(529, should_retry=False),
        stream_error_reply(),
        reset_reply(),
        slow(text_reply("late"), 0.5),
    ],
    ids=["text", "tool-use", "thinking", "429", "400", "529", "mid-stream", "reset", "slow"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_socket_and_in_process_answer_alike(reply: Any, stream: bool) -> None:
    """One fake, two ways in: the loopback socket and the in-process transport give the SDK the same."""
    seen = []
    for in_process in (False, True):
        fake = FakeAnthropic(replies=[reply])
        kw: dict[str, Any] = {"api_key": "sk-test", "max_retries": 0, "timeout": 0.25}
        if in_process:
            kw["http_client"] = httpx2.Client(transport=fake.transport())
            seen.append(_outcome(anthropic.Anthropic(**kw), stream))
        else:
            with fake:
                seen.append(_outcome(anthropic.Anthropic(base_url=fake.base_url, **kw), stream))
        assert len(fake.requests) == 1 and fake.pending == 0
    assert seen[0] == seen[1]
    if reply.status == 200 and reply.fault is None and not reply.delay:
        assert seen[0]["content-type"] == ("text/event-stream" if stream else "application/json")


def test_in_process_transport_needs_no_server_and_times_out_like_a_socket() -> None:
    fake = FakeAnthropic(replies=[slow(text_reply("late"), 5.0)])
    c = anthropic.Anthropic(
        api_key="sk-test", max_retries=0, http_client=httpx2.Client(transport=fake.transport())
    )
    t0 = time.monotonic()
    with pytest.raises(anthropic.APITimeoutError):
        c.messages.create(model=MODEL, max_tokens=5, messages=HI, timeout=0.3)
    assert 0.3 <= time.monotonic() - t0 < 2.0  # the client's timeout, not the reply's five seconds
    assert c.messages.count_tokens(model=MODEL, messages=HI).input_tokens == 1
    assert [r.endpoint for r in fake.requests] == ["/v1/messages", "/v1/messages/count_tokens"]
    with pytest.raises(AssertionError, match="not started"):
        _ = fake.base_url
