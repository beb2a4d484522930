"""Prompt caching, against the fake API (which bills cache writes and reads by prefix, as the real API does).

1. Our own tool loop: a 20-turn loop over a ~6,000-token tools + system prefix, through the LLM layer.
   Figures: the share of input tokens billed as cache reads (goal ≥ 80%) and the cost with caching against
   the same loop without it.
2. Parallel Claude Code workers (`--workers 8`): the real bundled CLI, one worker per git worktree, all
   started at once by one ClaudeCodeWorker (as a run does), each writing a file in two turns; the fake
   answers after `--latency` seconds. Figures, with and without the option that moves the per-directory
   parts out of the system prompt (`execution.claude_code_exclude_dynamic_prompt`) and the start stagger
   (`execution.claude_code_stagger_seconds`): the share of the worker model's input tokens read from the
   cache across all workers (goal ≥ 70%), and the wall time.

    python bench/bench_prompt_cache.py [--turns 20] [--model claude-sonnet-5-5] [--workers 8] [--latency 1.0]
        [--only loop|claude-code]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import threading
import time
from pathlib import Path

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


def claude_code_workers(n: int, *, exclude: bool, stagger: float, latency: float) -> dict[str, float]:
    """n Claude Code workers at once, one per worktree of a fresh repository; the fake's cache figures."""
    from claude_orchestrator.testing.fake_anthropic import FakeRequest, Reply
    from claude_orchestrator.workers.base import WorkContext, WorkUnit
    from claude_orchestrator.workers.claude_code import ClaudeCodeWorker

    cfg = OrchestratorConfig()
    cfg.execution.claude_code_exclude_dynamic_prompt = exclude
    cfg.execution.claude_code_stagger_seconds = stagger
    model_name = cfg.models.worker.model

    def model(req: FakeRequest) -> Reply:
        if not req.has_tool("Write"):
            return text_reply("ok")
        if req.tool_results:
            return text_reply("Wrote the file.")
        cwd = next((ln.split(": ", 1)[1] for ln in _texts(req) if "Primary working directory:" in ln), ".")
        return tool_use_reply("Write", {"file_path": f"{cwd.strip()}/out.txt", "content": "done\n"})

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as d:
        repo = Path(d) / "repo"
        repo.mkdir()
        git = ["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@example.com"]
        subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
        (repo / "README.md").write_text("bench\n")
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "start"], check=True)
        trees = []
        for i in range(n):
            wt = Path(d) / f"wt-{i}"
            subprocess.run([*git, "worktree", "add", "-q", "-b", f"w{i}", str(wt)], check=True)
            trees.append(wt)
        (Path(d) / "config").mkdir()
        with FakeAnthropic(model=model, latency=latency) as fake:
            worker = ClaudeCodeWorker(cfg)
            env = {
                "ANTHROPIC_BASE_URL": fake.base_url,
                "ANTHROPIC_API_KEY": "sk-bench",
                "HOME": d,
                "CLAUDE_CONFIG_DIR": str(Path(d) / "config"),
            }
            results = []

            def one(i: int) -> None:
                unit = WorkUnit(
                    str(i + 1), str(i + 1), "Write out.txt", description="Write the file out.txt."
                )
                results.append(worker.run(unit, WorkContext(workdir=trees[i], env=env, timeout_s=600)))

            t0 = time.monotonic()
            threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.monotonic() - t0
            u = fake.accounting.by_model[model_name]
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    total = u["input_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"]
    return {
        "requests": u["ok"],
        "total_input": total,
        "read_share": u["cache_read_input_tokens"] / total if total else 0.0,
        "write_share": u["cache_creation_input_tokens"] / total if total else 0.0,
        "wall_s": wall,
        "held_s": worker._stagger.waited_s,
    }


def _texts(req: object) -> list[str]:
    from claude_orchestrator.testing.demo_model import request_text

    return request_text(req).splitlines()  # type: ignore[arg-type]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--turns", type=int, default=20)
    p.add_argument("--model", default="claude-sonnet-5-5")
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--latency", type=float, default=1.0)
    p.add_argument("--only", choices=["loop", "claude-code"])
    a = p.parse_args()
    if a.only != "claude-code":
        loop(a.turns, a.model)
    if a.only != "loop":
        print(
            f"{a.workers} Claude Code workers at once, one per worktree, fake latency {a.latency:g}s per request:"
        )
        for exclude, stagger in ((False, 0.0), (True, 0.0), (False, 5.0), (True, 5.0)):
            r = claude_code_workers(a.workers, exclude=exclude, stagger=stagger, latency=a.latency)
            print(
                f"  option {'on ' if exclude else 'off'}, stagger {stagger:g}s: {r['total_input']:,} input tokens in "
                f"{r['requests']:.0f} requests, {r['read_share']:.1%} read from cache, {r['write_share']:.1%} "
                f"written; wall {r['wall_s']:.1f}s (starts held {r['held_s']:.1f}s in all)"
            )


def loop(turns: int, model: str) -> None:
    on, off = run(turns, model, True), run(turns, model, False)
    print(f"{on['turns']}-turn tool loop on {model}, tools+system prefix ≈ {on['prefix_tokens']:,} tokens")
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
