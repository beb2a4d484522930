"""One credential rule for the model client, `check`, the demo and the Claude Code worker."""

from __future__ import annotations

import os
from pathlib import Path

import anthropic
import pytest
from click.testing import CliRunner

from claude_orchestrator.cli.main import cli
from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.credentials import (
    claude_code_env,
    claude_code_logged_in,
    detect_credentials,
    flag_on,
)
from claude_orchestrator.demo import demo_model_choice
from claude_orchestrator.errors import ConfigError
from claude_orchestrator.llm.client import LLM
from claude_orchestrator.workers.base import WorkContext
from claude_orchestrator.workers.claude_code import ClaudeCodeWorker

RULE_VARS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_OAUTH_TOKEN",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """os.environ with no credential of any source."""
    for var in RULE_VARS:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "yes", "YES", " yes "])
def test_flags_read_the_same_everywhere(value: str) -> None:
    assert flag_on(value)


@pytest.mark.parametrize("value", [None, "", "0", "false", "no", "2", "enabled"])
def test_other_flag_values_are_off(value: str | None) -> None:
    assert not flag_on(value)


def test_the_order_and_placeholders() -> None:
    assert detect_credentials({}).source is None
    both = {"ANTHROPIC_API_KEY": "sk-a", "ANTHROPIC_AUTH_TOKEN": "tok", "CLAUDE_CODE_USE_BEDROCK": "1"}
    assert detect_credentials(both).source == "ANTHROPIC_API_KEY"
    placeholder = {"ANTHROPIC_API_KEY": "your_api_key_here", "ANTHROPIC_AUTH_TOKEN": "tok"}
    assert detect_credentials(placeholder).source == "ANTHROPIC_AUTH_TOKEN"
    flags = {"ANTHROPIC_API_KEY": "your_api_key_here", "CLAUDE_CODE_USE_VERTEX": "yes"}
    assert detect_credentials(flags).kind == "vertex"
    creds = detect_credentials({"CLAUDE_CODE_USE_BEDROCK": "true", "ANTHROPIC_BASE_URL": "http://x"})
    assert (creds.kind, creds.base_url) == ("bedrock", "http://x")
    assert creds.describe() == "Amazon Bedrock (CLAUDE_CODE_USE_BEDROCK is on)"


def test_bedrock_true_check_demo_and_client_agree(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("CLAUDE_CODE_USE_BEDROCK", "true")
    env.setenv("AWS_REGION", "us-east-1")
    env.setenv("HOME", str(tmp_path))  # no Claude Code login here
    res = CliRunner().invoke(cli, ["check", "-d", str(tmp_path)])
    assert "[ok  ] api-key       Amazon Bedrock (CLAUDE_CODE_USE_BEDROCK is on)" in res.output, res.output
    offline, model = demo_model_choice()
    assert not offline and model == "real Claude; Amazon Bedrock (CLAUDE_CODE_USE_BEDROCK is on)"
    llm = LLM.from_config(OrchestratorConfig())
    try:
        assert isinstance(llm.client, anthropic.AnthropicBedrock)
    finally:
        llm.close()


def test_vertex_yes_builds_a_vertex_client(env: pytest.MonkeyPatch) -> None:
    env.setenv("CLAUDE_CODE_USE_VERTEX", "Yes")
    env.setenv("CLOUD_ML_REGION", "us-east5")
    env.setenv("ANTHROPIC_VERTEX_PROJECT_ID", "demo-project")
    llm = LLM.from_config(OrchestratorConfig())
    try:
        assert isinstance(llm.client, anthropic.AnthropicVertex)
    finally:
        llm.close()


def test_no_credentials_everywhere(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("CLAUDE_CODE_USE_BEDROCK", "0")
    env.setenv("ANTHROPIC_API_KEY", "your_api_key_here")
    env.setenv("HOME", str(tmp_path))
    env.delenv("CLAUDE_CONFIG_DIR", raising=False)
    res = CliRunner().invoke(cli, ["check", "-d", str(tmp_path)])
    assert "[FAIL] api-key" in res.output
    assert demo_model_choice() == (True, "offline, embedded fake model")
    with pytest.raises(ConfigError, match="no Anthropic credentials"):
        LLM.from_config(OrchestratorConfig())


def test_bedrock_without_a_region_is_a_config_error(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("CLAUDE_CODE_USE_BEDROCK", "1")
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        env.delenv(var, raising=False)
    env.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ConfigError, match="Amazon Bedrock .* cannot be built"):
        LLM.from_config(OrchestratorConfig())


def test_a_subscription_token_counts_as_a_claude_code_login(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert not claude_code_logged_in(home)
    assert not claude_code_logged_in({**home, "CLAUDE_CODE_OAUTH_TOKEN": "your_token_here"})
    assert claude_code_logged_in({**home, "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-x"})


def test_claude_code_keeps_its_credential_and_loses_other_secrets(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("CLAUDE_CODE_USE_BEDROCK", "TRUE")
    env.setenv("AWS_SECRET_ACCESS_KEY", "aws-canary")
    env.setenv("GITHUB_TOKEN", "gh-canary")
    env.setenv("OPENAI_API_KEY", "openai-canary")
    env.setenv("CANARY_SECRET_TOKEN", "canary")
    env.setenv("HARMLESS", "ok")
    over = ClaudeCodeWorker(OrchestratorConfig()).build_env(WorkContext(workdir=tmp_path), "tok")
    seen = {**os.environ, **over}  # what the CLI gets: the SDK merges the overrides over os.environ
    assert seen["CLAUDE_CODE_USE_BEDROCK"] == "1"  # the CLI reads the flag as the rule does
    assert seen["AWS_SECRET_ACCESS_KEY"] == "aws-canary"  # Bedrock needs it
    assert seen["GITHUB_TOKEN"] == seen["OPENAI_API_KEY"] == seen["CANARY_SECRET_TOKEN"] == ""
    assert seen["HARMLESS"] == "ok"


def test_claude_code_follows_the_rule_when_a_key_wins() -> None:
    over = claude_code_env(
        {"ANTHROPIC_API_KEY": "sk-a", "CLAUDE_CODE_USE_BEDROCK": "1", "AWS_SECRET_ACCESS_KEY": "aws-canary"}
    )
    assert over == {"ANTHROPIC_API_KEY": "sk-a", "CLAUDE_CODE_USE_BEDROCK": "", "AWS_SECRET_ACCESS_KEY": ""}
