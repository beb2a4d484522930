"""No test reaches a real model.

Before the session and before every test, the environment loses every credential-looking variable (the
product's own rule, `process.is_secret_name`: ANTHROPIC_*, AWS_*, GOOGLE_*, *_TOKEN, ...) and every Claude
Code setting (CLAUDE_CODE_*); ANTHROPIC_BASE_URL points at a loopback port that refuses connections; Claude
Code and the cloud SDKs read their configuration from empty folders, not from the user's home. A test that
wants a model asks for one: the `fake_api` fixture, or its own `FakeAnthropic` set through `monkeypatch`
(fixtures that take `monkeypatch` run after this guard, so their settings win).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_orchestrator.process import is_secret_name
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic

CLAUDE_CODE_VARS = ("CLAUDE_CODE_", "CLAUDECODE", "CLAUDE_CONFIG_DIR")


@pytest.fixture(scope="session")
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but never listens: a connection is refused at once, and no other
    process can take the port while the session runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def _guard(mp: pytest.MonkeyPatch, port: int, config_root: Path) -> None:
    for name in list(os.environ):
        if is_secret_name(name) or name.startswith(CLAUDE_CODE_VARS):
            mp.delenv(name)
    mp.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}")
    (config_root / "claude").mkdir(parents=True, exist_ok=True)
    mp.setenv("CLAUDE_CONFIG_DIR", str(config_root / "claude"))  # settings, logins, .claude.json
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(config_root / "aws-credentials"))  # absent files
    mp.setenv("AWS_CONFIG_FILE", str(config_root / "aws-config"))
    mp.setenv("CLOUDSDK_CONFIG", str(config_root / "gcloud"))


@pytest.fixture(scope="session", autouse=True)
def _no_real_model_in_session(closed_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """For session- and module-scoped fixtures, which run before any per-test guard."""
    with pytest.MonkeyPatch.context() as mp:
        _guard(mp, closed_port, tmp_path_factory.mktemp("session-config"))
        yield


@pytest.fixture(autouse=True)
def _no_real_model(
    monkeypatch: pytest.MonkeyPatch, closed_port: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Again for each test (undoing what an earlier test left in os.environ), with its own empty
    Claude Code configuration folder."""
    _guard(monkeypatch, closed_port, tmp_path_factory.mktemp("config"))


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """A loopback fake model that the environment points at (ANTHROPIC_BASE_URL and a fake API key), for
    code that builds its client from the environment (CLI commands, Claude Code)."""
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-fake-key")
        yield fake
