"""Rate-limit admission: learning from headers, pausing on 429, configured limits, and parallel workers
against the fake API's windowed limits getting no 429s."""

from __future__ import annotations

import threading
import time

from claude_orchestrator.config import OrchestratorConfig, RateLimitConfig
from claude_orchestrator.llm import LLM, RateLimiter
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, RateLimits, error_reply
from claude_orchestrator.testing.fake_anthropic.limits import rfc3339

MODEL = "claude-sonnet-5-5"


def headers(remaining: int, reset: float, limit: int = 10) -> dict[str, str]:
    return {
        "anthropic-ratelimit-requests-limit": str(limit),
        "anthropic-ratelimit-requests-remaining": str(remaining),
        "anthropic-ratelimit-requests-reset": rfc3339(reset),
    }


def test_waits_for_the_reset_when_the_headers_say_none_left() -> None:
    lim = RateLimiter()
    ticket = lim.acquire(MODEL)
    reset = time.time() + 0.4
    lim.release(MODEL, headers(0, reset), ticket=ticket)
    t0 = time.time()
    lim.acquire(MODEL)
    assert time.time() >= reset and time.time() - t0 < 1.0
    lim.acquire("claude-opus-5-5")  # other models are not held


def test_lower_of_server_and_own_count() -> None:
    lim = RateLimiter()
    reset = time.time() + 30
    t1 = lim.acquire(MODEL)
    lim.release(MODEL, headers(3, reset), ticket=t1)
    for _ in range(3):
        lim.acquire(MODEL)  # three more fit; our own count is now 0
    assert lim.snapshot()[MODEL]["requests"]["remaining"] == 0
    lim.release(MODEL, headers(5, reset))  # a stale, higher figure does not raise the estimate
    assert lim.snapshot()[MODEL]["requests"]["remaining"] == 0


def test_pause_after_429_holds_every_thread() -> None:
    lim = RateLimiter()
    lim.pause(MODEL, 0.3)
    t0 = time.monotonic()
    done: list[float] = []
    threads = [
        threading.Thread(target=lambda: (lim.acquire(MODEL), done.append(time.monotonic()))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(d - t0 >= 0.29 for d in done)


def test_configured_limits_without_headers() -> None:
    lim = RateLimiter(RateLimitConfig(requests_per_minute=3), window_s=0.5)
    t0 = time.monotonic()
    for _ in range(6):
        lim.acquire(MODEL)
    assert 0.45 <= time.monotonic() - t0 < 1.0  # the 4th request waited for the next window


def test_parallel_workers_stay_under_the_limit() -> None:
    """Eight threads that would send hundreds of requests a second stay under the server's limit; the
    figures (share of the limit used, share answered 429) are bench/bench_ratelimit.py's. Windows of a
    second, so that a loaded machine's scheduling jitter is small beside them."""
    limit, window, windows = 12, 1.0, 3
    with FakeAnthropic(rate_limits=RateLimits(requests=limit), window_s=window, latency=0.02) as fake:
        llm = LLM.from_config(OrchestratorConfig(), api_key="sk-t", base_url=fake.base_url)
        end = time.time() + window * windows

        def worker() -> None:
            while time.time() < end:
                llm.create(
                    role="worker",
                    model=MODEL,
                    system="s",
                    messages=[{"role": "user", "content": "x"}],
                    max_tokens=5,
                )

        pool = [threading.Thread(target=worker) for _ in range(8)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        statuses = [r.status for r in fake.requests]
        assert statuses.count(429) <= max(2, len(statuses) // 10)  # without admission: most of them
        assert statuses.count(200) >= 0.6 * limit * windows  # not throttled to a trickle either


def test_a_429_pauses_the_model_for_its_retry_after() -> None:
    with FakeAnthropic(replies=[error_reply(429, retry_after=0.5)]) as fake:
        llm = LLM.from_config(OrchestratorConfig(), api_key="sk-t", base_url=fake.base_url)
        out: list[float] = []

        def call() -> None:
            llm.create(
                role="worker",
                model=MODEL,
                system="s",
                messages=[{"role": "user", "content": "x"}],
                max_tokens=5,
            )
            out.append(time.time())

        saw_429 = threading.Event()
        llm.on_retry(lambda info: saw_429.set())
        first = threading.Thread(target=call)
        first.start()
        assert saw_429.wait(10)
        second = threading.Thread(target=call)  # started after the 429: held by admission, not retried
        second.start()
        first.join()
        second.join()
        t429 = fake.requests[0].ts
        assert [r.status for r in fake.requests] == [429, 200, 200]
        assert all(r.ts - t429 >= 0.49 for r in fake.requests[1:])
