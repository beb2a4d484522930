"""The real Claude Code CLI (bundled with claude-agent-sdk) and the agent SDK, pointed at the fake API:
a scripted model makes the CLI use its Write tool, and the CLI reports the cost of the turn."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest

from claude_orchestrator.llm import cost_usd
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic
from claude_orchestrator.testing.models import write_file_model

pytestmark = [pytest.mark.claude_cli, pytest.mark.slow]


def cli_path() -> Path:
    import claude_agent_sdk

    path = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if not path.is_file():
        pytest.skip(f"no bundled Claude Code CLI at {path}")
    return path


def cli_env(fake: FakeAnthropic, home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": fake.base_url,
        "ANTHROPIC_API_KEY": "sk-fake-key",
        "IS_SANDBOX": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }


def fake_cost(fake: FakeAnthropic) -> float:
    total = 0.0
    for model, t in fake.accounting.by_model.items():
        usage = {
            k: t[k]
            for k in (
                "input_tokens",
                "output_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
            )
        }
        usage["cache_creation"] = {"ephemeral_1h_input_tokens": t["cache_write_1h"]}
        total += cost_usd(model, usage)
    return total


def test_cli_writes_a_file_and_reports_cost(tmp_path: Path) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    target = work / "hello.txt"
    model = write_file_model(str(target), "hello from the fake model\n", "Wrote hello.txt.")
    with FakeAnthropic(model=model) as fake:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **cli_env(fake, home)}
        proc = subprocess.run(
            [
                str(cli_path()),
                "-p",
                "Create hello.txt",
                "--output-format",
                "json",
                "--permission-mode",
                "acceptEdits",
            ],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        result = json.loads(proc.stdout)
        assert result["is_error"] is False and result["result"] == "Wrote hello.txt."
        assert target.read_text() == "hello from the fake model\n"
        assert result["total_cost_usd"] > 0
        # the CLI's cost equals our pricing of the fake's own accounting
        assert result["total_cost_usd"] == pytest.approx(fake_cost(fake), rel=1e-9)
        main = [r for r in fake.requests if r.endpoint == "/v1/messages" and r.tools]
        assert main and all(r.auth_kind == "x-api-key" and r.stream for r in main)
        assert "?beta=true" in main[0].path
        assert any(r.tool_results for r in main)


def test_agent_sdk_query_writes_a_file(tmp_path: Path) -> None:
    from claude_agent_sdk import ClaudeAgentOptions, ResultMessage, query

    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    target = work / "sdk.txt"
    model = write_file_model(str(target), "written through the agent SDK\n", "Done via SDK.")
    with FakeAnthropic(model=model) as fake:
        options = ClaudeAgentOptions(
            env=cli_env(fake, home), cwd=str(work), permission_mode="acceptEdits", cli_path=str(cli_path())
        )

        async def run() -> list[object]:
            return [m async for m in query(prompt="Create sdk.txt", options=options)]

        messages = asyncio.run(run())
        results = [m for m in messages if isinstance(m, ResultMessage)]
        assert results and results[-1].is_error is False and results[-1].result == "Done via SDK."
        assert (results[-1].total_cost_usd or 0) > 0
        assert target.read_text() == "written through the agent SDK\n"
        assert results[-1].total_cost_usd == pytest.approx(fake_cost(fake), rel=1e-9)
