"""The secret policy end to end: canary variables set in our environment never reach a command a model
issues (api backend through the real tool loop; Claude Code's Bash tool) nor a build or run step."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.llm.client import LLM
from claude_orchestrator.stack.launcher import run_project
from claude_orchestrator.stack.runner import execute_plan
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

CANARIES = {
    "CANARY_SECRET_TOKEN": "canary-value-1",
    "GITHUB_TOKEN": "canary-value-2",
    "AWS_SECRET_ACCESS_KEY": "canary-value-3",
    "OPENAI_API_KEY": "canary-value-4",
    "SLACK_WEBHOOK_URL": "https://hooks.example/canary-value-5",
}
KEY = "sk-canary-anthropic-key-6"  # the model client's own key: never a command's
UNIT = WorkUnit(unit_id="1", task_id="1", title="Look around", description="Print the environment.")


@pytest.fixture
def canaries(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in CANARIES.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("HARMLESS_SETTING", "visible")


def assert_clean(env_dump: str) -> None:
    assert "HARMLESS_SETTING=visible" in env_dump  # the dump is real
    assert "canary-value" not in env_dump and KEY not in env_dump


def env_command(tool: str, command: str):  # type: ignore[no-untyped-def]
    """A scripted model that runs `command` once through `tool`, then ends."""

    def model(req: FakeRequest) -> Reply:
        if not req.has_tool(tool):
            return text_reply("title")  # Claude Code's side requests
        if req.tool_results:
            return text_reply("Printed the environment.")
        return tool_use_reply(tool, {"command": command})

    return model


def test_api_backend_commands_see_no_secret(canaries: None, tmp_path: Path) -> None:
    wd = tmp_path / "wt"
    wd.mkdir()
    cfg = OrchestratorConfig()
    with FakeAnthropic(model=env_command("run_command", "env | tee seen.env")) as fake:
        llm = LLM.from_config(cfg, base_url=fake.base_url)  # it authenticates with the canary key
        try:
            result = ApiAgentWorker(llm, cfg).run(UNIT, WorkContext(workdir=wd))
        finally:
            llm.close()
        tool_output = str(fake.requests[-1].tool_results)
    assert result.ok, result.error
    assert fake.requests[0].auth_kind != "none"  # the key did go to the model, as a header
    assert_clean((wd / "seen.env").read_text())
    assert_clean(tool_output)


def test_build_and_run_steps_see_no_secret(canaries: None, tmp_path: Path) -> None:
    plan = {
        "name": "envdump",
        "files": {"main.py": "import os\nfor k, v in os.environ.items():\n    print(f'{k}={v}')\n"},
        "post_install": ["env > build-step.env"],
    }
    result = execute_plan(plan, tmp_path / "out", allow_commands=True)
    assert_clean((result.project_dir / "build-step.env").read_text())
    lines: list[str] = []
    assert run_project(result.project_dir, timeout=60, on_output=lines.append) == 0
    assert_clean("\n".join(lines))


@pytest.mark.skipif(find_claude_cli() is None, reason="Claude Code CLI not bundled")
@pytest.mark.claude_cli
def test_claude_code_bash_sees_no_secret_but_the_cli_has_its_key(canaries: None, tmp_path: Path) -> None:
    wd, home = tmp_path / "wt", tmp_path / "home"
    wd.mkdir()
    home.mkdir()
    with FakeAnthropic(model=env_command("Bash", "env > seen.env")) as fake:
        ctx = WorkContext(
            workdir=wd, env={"ANTHROPIC_BASE_URL": fake.base_url, "HOME": str(home)}, timeout_s=120
        )
        result = ClaudeCodeWorker(OrchestratorConfig()).run(UNIT, ctx)
        main = [r for r in fake.requests if r.has_tool("Bash")]
    assert result.ok, result.error
    assert main and all(r.auth_kind == "x-api-key" for r in main)  # the CLI used its credential
    seen = (wd / "seen.env").read_text()
    assert "HARMLESS_SETTING=visible" in seen
    assert not [k for k, v in CANARIES.items() if v in seen]  # blanked (the CLI itself keeps its key)
    assert os.environ["GITHUB_TOKEN"] == CANARIES["GITHUB_TOKEN"]  # ours is untouched
