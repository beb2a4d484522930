"""The conftest guard: no credential, no user configuration, and a model call that is refused at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx2
import pytest

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.credentials import claude_code_logged_in
from claude_orchestrator.errors import ConfigError, LLMError, RetriesExhaustedError
from claude_orchestrator.llm import LLM
from claude_orchestrator.process import is_secret_name
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic

HI = [{"role": "user", "content": "hi"}]
MODEL = "claude-sonnet-5-5"


def test_no_credentials_and_a_closed_loopback_base_url(closed_port: int) -> None:
    set_by_guard = {"ANTHROPIC_BASE_URL", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "CLOUDSDK_CONFIG"}
    assert [k for k in os.environ if is_secret_name(k) and k not in set_by_guard] == []
    for var in set_by_guard - {"ANTHROPIC_BASE_URL"}:  # where the cloud SDKs look for their files
        assert not Path(os.environ[var]).exists()
    assert [k for k in os.environ if k.startswith(("CLAUDE_CODE_", "CLAUDECODE"))] == []
    assert os.environ["ANTHROPIC_BASE_URL"] == f"http://127.0.0.1:{closed_port}"
    config_dir = Path(os.environ["CLAUDE_CONFIG_DIR"])
    assert config_dir.is_dir() and list(config_dir.iterdir()) == []
    assert not config_dir.is_relative_to(Path.home())
    assert not claude_code_logged_in()
    with pytest.raises(ConfigError, match="no Anthropic credentials"):
        LLM.from_config(OrchestratorConfig())


def test_commands_we_start_inherit_the_guard() -> None:
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    child = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout)
    assert "ANTHROPIC_API_KEY" not in child and "ANTHROPIC_AUTH_TOKEN" not in child
    assert child["ANTHROPIC_BASE_URL"] == os.environ["ANTHROPIC_BASE_URL"]
    assert child["CLAUDE_CONFIG_DIR"] == os.environ["CLAUDE_CONFIG_DIR"]


def test_a_default_sdk_client_is_refused_within_seconds() -> None:
    """The SDK with its own defaults (base URL from the environment, two retries): refused, no hang."""
    client = anthropic.Anthropic(api_key="sk-not-a-real-key")
    t0 = time.monotonic()
    with pytest.raises(anthropic.APIConnectionError) as info:
        client.messages.create(model=MODEL, max_tokens=5, messages=HI)  # type: ignore[arg-type]
    assert time.monotonic() - t0 < 5.0  # three attempts with the SDK's short backoff
    cause: BaseException | None = info.value
    while cause is not None and not isinstance(cause, ConnectionRefusedError):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, ConnectionRefusedError)


def test_our_client_fails_at_once_naming_the_address(closed_port: int) -> None:
    llm = LLM.from_config(OrchestratorConfig(), api_key="sk-not-a-real-key")
    retries: list[dict[str, object]] = []
    llm.on_retry(retries.append)
    t0 = time.monotonic()
    with pytest.raises(LLMError) as info:
        llm.create(role="worker", model=MODEL, system="s", messages=HI, max_tokens=5)
    assert time.monotonic() - t0 < 2.0 and retries == []
    assert not isinstance(info.value, RetriesExhaustedError)
    assert f"connection refused by 127.0.0.1:{closed_port}: nothing listens there" in str(info.value)


def test_a_remote_refusal_is_still_retried() -> None:
    """Only a loopback refusal is final; elsewhere a refused connection may be a passing fault."""
    from claude_orchestrator.llm.retry import is_retryable, refused_locally

    request = httpx2.Request("POST", "https://api.example.test/v1/messages")
    exc = anthropic.APIConnectionError(request=request)
    exc.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert refused_locally(exc) is None and is_retryable(exc)


def test_the_fake_api_fixture_points_the_environment_at_a_fake(fake_api: FakeAnthropic) -> None:
    llm = LLM.from_config(OrchestratorConfig())
    assert llm.create(role="worker", model=MODEL, system="s", messages=HI, max_tokens=5).text
    assert len(fake_api.requests) == 1 and fake_api.requests[0].auth_kind != "none"
