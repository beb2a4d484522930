"""Rate-limit goodput: 16 threads against the fake API limited per window.

Ours (admission control from the anthropic-ratelimit-* headers + one tenacity retry loop) beside a
baseline that relies on the SDK's own retries alone (max_retries=8, retry-after honoured), in the same
run. Figures: useful requests completed per window as a share of the limit (server clock), and the share
of requests answered 429.

    python bench/bench_ratelimit.py [--threads 16] [--limit 40] [--window 1.0] [--windows 8] [--itpm N]
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from collections.abc import Callable

import anthropic

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.errors import LLMError
from claude_orchestrator.llm import LLM
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, RateLimits, count_input_tokens

MODEL = "claude-sonnet-5-5"
PROMPT = [{"role": "user", "content": "ping " * 40}]


def run_phase(
    name: str,
    make_call: Callable[[str], Callable[[], object]],
    *,
    threads: int,
    limits: RateLimits,
    windows: int,
    latency: float,
) -> dict[str, float]:
    with FakeAnthropic(rate_limits=limits, latency=latency) as fake:
        call = make_call(fake.base_url)
        w = limits.window_s
        origin = fake.limiter.origin
        # start on a window boundary, measure `windows` whole windows
        start = origin + (int((time.time() - origin) / w) + 1) * w
        end = start + windows * w
        time.sleep(max(0.0, start - time.time()))

        def worker() -> None:
            while time.time() < end:
                with contextlib.suppress(LLMError, anthropic.APIError):
                    call()

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        inside = [r for r in fake.requests if start <= r.ts < end]
        ok = sum(1 for r in inside if r.status == 200)
        limited = sum(1 for r in inside if r.status == 429)
        if limits.requests:
            cap = limits.requests * windows
        else:  # an input-token limit: the most whole requests that fit a window
            per_request = count_input_tokens({"system": "s", "messages": PROMPT})
            cap = (limits.input_tokens or 0) // per_request * windows
        return {
            "name": name,  # type: ignore[dict-item]
            "ok": ok,
            "requests": len(inside),
            "r429": limited,
            "goodput": ok / cap,
            "cap": cap,
            "share_429": limited / max(1, len(inside)),
        }


def ours(base_url: str) -> Callable[[], object]:
    cfg = OrchestratorConfig()
    cfg.llm.max_attempts = 20
    llm = LLM.from_config(cfg, api_key="sk-bench", base_url=base_url)
    return lambda: llm.create(
        role="worker", model=MODEL, system="s", messages=PROMPT, max_tokens=50, cache=False
    )


def baseline(base_url: str) -> Callable[[], object]:
    client = anthropic.Anthropic(api_key="sk-bench", base_url=base_url, max_retries=8)
    return lambda: client.messages.create(model=MODEL, max_tokens=50, system="s", messages=PROMPT)  # type: ignore[arg-type]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--limit", type=int, default=40, help="requests per window")
    p.add_argument("--window", type=float, default=1.0, help="seconds")
    p.add_argument("--windows", type=int, default=8)
    p.add_argument("--latency", type=float, default=0.05, help="seconds the fake takes per request")
    p.add_argument("--itpm", type=int, default=None, help="limit input tokens per window instead of requests")
    a = p.parse_args()
    if a.itpm:
        limits = RateLimits(input_tokens=a.itpm, window_s=a.window)
        what = f"{a.itpm} input tokens"
    else:
        limits = RateLimits(requests=a.limit, window_s=a.window)
        what = f"{a.limit} requests"
    print(
        f"{a.threads} threads, limit {what} per {a.window:g} s window, {a.windows} windows, latency {a.latency:g} s"
    )
    for name, factory in (
        ("ours (admission + one retry loop)", ours),
        ("baseline (SDK retries only)", baseline),
    ):
        r = run_phase(
            name,
            factory,
            threads=a.threads,
            limits=RateLimits(limits.requests, limits.input_tokens, None, limits.window_s),
            windows=a.windows,
            latency=a.latency,
        )
        print(
            f"  {name:36s} goodput {r['goodput']:6.1%} of the limit ({r['ok']}/{r['cap']}), "
            f"429s {r['share_429']:6.1%} of {r['requests']} requests"
        )


if __name__ == "__main__":
    main()
