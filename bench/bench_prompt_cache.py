"""Prompt caching: a 20-turn tool loop over a ~6,000-token tools + system prefix, through the LLM layer
against the fake API (which bills cache writes and reads as the real API does).

Figures: the share of input tokens billed as cache reads (goal ≥ 80%) and the cost of the loop with
caching against the same loop without it.

    python bench/bench_prompt_cache.py [--turns 20] [--model claude-sonnet-5-5]
"""

from __future__ import annotations

import argparse

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.llm import LLM
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    count_input_tokens,
    text_reply,
    tool_use_reply,
)
from claude_orchestrator.testing.models import tool_loop

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
]


def filler(n_tokens: int, seed: int) -> str:
    words = [WORDS[(i * 7 + seed) % len(WORDS)] for i in range(n_tokens * 4 // 6)]
    return " ".join(words)


TOOLS = [
    {
        "name": f"tool_{i}",
        "description": filler(400, i),
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    }
    for i in range(8)
]
SYSTEM = "You are a worker agent. " + filler(2800, 99)


def run(turns: int, model: str, cache: bool) -> dict[str, float]:
    steps = [
        tool_use_reply(f"tool_{i % 8}", {"path": f"src/file_{i}.py"}, text="Next step.")
        for i in range(turns - 1)
    ]
    with FakeAnthropic(model=tool_loop(steps, text_reply("Finished."))) as fake:
        llm = LLM.from_config(OrchestratorConfig(), api_key="sk-bench", base_url=fake.base_url)
        messages: list[dict] = [{"role": "user", "content": "Fix the failing tests in this repository."}]
        n = 0
        while True:
            r = llm.create(
                role="worker",
                model=model,
                system=SYSTEM,
                messages=messages,
                tools=TOOLS,
                max_tokens=4000,
                cache=cache,
            )
            n += 1
            messages.append(r.assistant_message())
            if not r.tool_uses:
                break
            results = [
                {"type": "tool_result", "tool_use_id": t["id"], "content": filler(300, n)}
                for t in r.tool_uses
            ]
            messages.append({"role": "user", "content": results})
        u = llm.ledger.usage()
        assert u.cache_read == fake.accounting["cache_read_input_tokens"]
        prefix = fake.requests[0].body
        return {
            "turns": n,
            "prefix_tokens": count_input_tokens(
                {"tools": prefix.get("tools"), "system": prefix.get("system")}
            ),
            "total_input": u.total_input,
            "read": u.cache_read,
            "written": u.cache_creation_input_tokens,
            "uncached": u.input_tokens,
            "cost": llm.ledger.cost_usd(),
        }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--turns", type=int, default=20)
    p.add_argument("--model", default="claude-sonnet-5-5")
    a = p.parse_args()
    on, off = run(a.turns, a.model, True), run(a.turns, a.model, False)
    print(f"{on['turns']}-turn tool loop on {a.model}, tools+system prefix ≈ {on['prefix_tokens']:,} tokens")
    print(
        f"  with caching:    {on['total_input']:,} input tokens: {on['read'] / on['total_input']:.1%} cache reads, "
        f"{on['written'] / on['total_input']:.1%} writes, {on['uncached'] / on['total_input']:.1%} uncached; "
        f"cost ${on['cost']:.4f}"
    )
    print(f"  without caching: {off['total_input']:,} input tokens, all uncached; cost ${off['cost']:.4f}")
    print(
        f"  caching costs {on['cost'] / off['cost']:.1%} of the uncached loop ({1 - on['cost'] / off['cost']:.1%} saved)"
    )


if __name__ == "__main__":
    main()
