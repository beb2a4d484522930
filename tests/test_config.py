import json

import pytest

from claude_orchestrator.config import (
    OrchestratorConfig,
    default_config_dict,
    is_placeholder,
    load_config,
    load_dotenv,
)
from claude_orchestrator.errors import ConfigError


def test_defaults_round_trip(tmp_path):
    path = tmp_path / "orchestrator_config.json"
    path.write_text(json.dumps(default_config_dict()))
    cfg = load_config(path)
    assert cfg == OrchestratorConfig()
    assert cfg.models.manager.model == "claude-opus-5-5"
    assert cfg.execution.max_workers == 3


def test_unknown_key_rejected_by_name(tmp_path):
    path = tmp_path / "orchestrator_config.json"
    path.write_text(json.dumps({"execution": {"max_workerz": 4}}))
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "unknown key 'execution.max_workerz'" in str(e.value)
    assert e.value.exit_code == 2


def test_malformed_json_is_one_line(tmp_path):
    path = tmp_path / "orchestrator_config.json"
    path.write_text("{nope")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "malformed JSON" in str(e.value) and "\n" not in str(e.value)


def test_placeholder_env_values_are_not_loaded(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("REAL_THING", raising=False)
    env = tmp_path / ".env"
    env.write_text("ANTHROPIC_API_KEY=your_api_key_here\nREAL_THING='abc123'\n")
    loaded = load_dotenv(env)
    assert loaded == ["REAL_THING"]
    import os

    assert "ANTHROPIC_API_KEY" not in os.environ
    assert is_placeholder("sk-ant-...") and not is_placeholder("sk-ant-api03-realvalue")


def test_slack_url_is_secret(monkeypatch):
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    cfg = OrchestratorConfig.model_validate(
        {"notifications": {"slack_webhook_url": "https://hooks.slack.com/services/T/B/secret"}}
    )
    assert "secret" not in repr(cfg)
    assert cfg.slack_webhook_url() == "https://hooks.slack.com/services/T/B/secret"
