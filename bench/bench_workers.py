"""Overhead of the two model-driven worker backends against the loopback fake API (no model time):
a two-turn task (write a file, then summarise) on the real Claude Code CLI and on the api tool loop,
parallel Claude Code tasks, and how long a timeout takes to kill the CLI and its children.

python bench/bench_workers.py [--runs 5] [--parallel 4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.llm.client import LLM
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    FakeRequest,
    Reply,
    text_reply,
    tool_use_reply,
)
from claude_orchestrator.workers.api_agent import ApiAgentWorker
from claude_orchestrator.workers.base import WorkContext, WorkUnit
from claude_orchestrator.workers.claude_code import ClaudeCodeWorker

UNIT = WorkUnit(unit_id="1", task_id="1", title="write out.txt")


def cli_model(wd: Path) -> Callable[[FakeRequest], Reply]:
    def model(req: FakeRequest) -> Reply:
        if not req.has_tool("Write"):
            return text_reply("title")
        if req.tool_results:
            return text_reply("done")
        return tool_use_reply("Write", {"file_path": str(wd / "out.txt"), "content": "x\n"})

    return model


def api_model(req: FakeRequest) -> Reply:
    if req.tool_results:
        return text_reply("done")
    return tool_use_reply("write_file", {"path": "out.txt", "content": "x\n"})


def sleeper_model(wd: Path) -> Callable[[FakeRequest], Reply]:
    def model(req: FakeRequest) -> Reply:
        if not req.has_tool("Bash") or req.tool_results:
            return text_reply("t")
        return tool_use_reply(
            "Bash", {"command": "python3 -c 'import time; time.sleep(300)'", "timeout": 600000}
        )

    return model


def cli_task(root: Path, name: str, factory=cli_model, timeout: float = 120) -> tuple[float, bool]:
    wd, home = root / f"wt-{name}", root / f"home-{name}"
    wd.mkdir(parents=True)
    home.mkdir(parents=True)
    with FakeAnthropic(model=factory(wd)) as fake:
        env = {"ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": "sk-bench", "HOME": str(home)}
        t0 = time.perf_counter()
        ctx = WorkContext(workdir=wd, env=env, timeout_s=timeout)
        r = ClaudeCodeWorker(OrchestratorConfig()).run(UNIT, ctx)
        return time.perf_counter() - t0, r.ok and (wd / "out.txt").exists()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--parallel", type=int, default=4)
    args = ap.parse_args()
    cfg = OrchestratorConfig()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with FakeAnthropic(model=api_model) as fake:
            llm = LLM.from_config(cfg, api_key="sk-bench", base_url=fake.base_url)
            times = []
            for i in range(args.runs):
                wd = root / f"api{i}"
                wd.mkdir()
                t0 = time.perf_counter()
                r = ApiAgentWorker(llm, cfg).run(UNIT, WorkContext(workdir=wd))
                times.append(time.perf_counter() - t0)
                assert r.ok and (wd / "out.txt").exists(), r.error
            llm.close()
        print(
            f"api backend, 2-turn task:        median {statistics.median(times) * 1000:7.1f} ms  ({args.runs} runs)"
        )
        if find_claude_cli() is None:
            print("claude-code backend: CLI not found, skipped")
            return
        runs = [cli_task(root, f"seq{i}") for i in range(args.runs)]
        assert all(ok for _, ok in runs)
        med = statistics.median(t for t, _ in runs)
        print(f"claude-code backend, 2-turn task: median {med:7.2f} s   ({args.runs} runs)")
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.parallel) as pool:
            par = list(pool.map(lambda i: cli_task(root, f"par{i}"), range(args.parallel)))
        wall = time.perf_counter() - t0
        assert all(ok for _, ok in par)
        print(f"claude-code backend, {args.parallel} in parallel:   wall {wall:7.2f} s")
        took, _ = cli_task(root, "kill", sleeper_model, timeout=5)
        print(f"claude-code timeout 5 s -> returned after {took:5.2f} s (CLI and its Bash child killed)")


if __name__ == "__main__":
    main()
