"""`claude-orchestrator init` and `check`; the Slack observer during a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from claude_orchestrator.cli.main import cli


def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env=env)


def test_init_creates_project_files_and_keeps_existing(tmp_path: Path):
    res = invoke("init", "-d", str(tmp_path), "-n", "demo")
    assert res.exit_code == 0, res.output
    tm = tmp_path / ".taskmaster"
    for p in ("config.json", "state.json", "templates/example_prd.txt"):
        assert (tm / p).is_file()
    assert not (tm / "tasks" / "tasks.json").exists()  # as task-master init: no tasks.json yet
    cfg = json.loads((tmp_path / "orchestrator_config.json").read_text())
    assert set(cfg) >= {"models", "execution", "monitoring", "notifications", "git"}
    assert ".taskmaster/runs/" in (tmp_path / ".gitignore").read_text()
    assert "ANTHROPIC_API_KEY=your_api_key_here" in (tmp_path / ".env.example").read_text()
    assert oct((tmp_path / "orchestrator_config.json").stat().st_mode & 0o777) != "0o600"
    (tmp_path / "orchestrator_config.json").write_text('{"execution": {"max_workers": 7}}')
    res = invoke("init", "-d", str(tmp_path))
    assert res.exit_code == 0 and "nothing changed" in res.output
    assert json.loads((tmp_path / "orchestrator_config.json").read_text()) == {
        "execution": {"max_workers": 7}
    }


def test_check_reports_each_line_and_never_a_secret(tmp_path: Path):
    invoke("init", "-d", str(tmp_path))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    ident = ["-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run(
        ["git", "-C", str(tmp_path), *ident, "commit", "-q", "--allow-empty", "-m", "x"], check=True
    )
    secret = "sk-ant-api03-supersecretvalue"
    res = invoke("check", "-d", str(tmp_path), env={"ANTHROPIC_API_KEY": secret})
    assert res.exit_code == 0, res.output
    assert secret not in res.output
    assert "[ok  ] api-key       ANTHROPIC_API_KEY is set" in res.output
    assert "[ok  ] git" in res.output and "[ok  ] config" in res.output
    assert "claude-code" in res.output


def test_check_placeholder_key_from_env_example_is_not_a_key(tmp_path: Path):
    invoke("init", "-d", str(tmp_path))
    (tmp_path / ".env").write_text((tmp_path / ".env.example").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    proc = subprocess.run(
        [sys.executable, "-m", "claude_orchestrator", "check", "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert "[FAIL] api-key" in proc.stdout, proc.stdout + proc.stderr


def test_check_bad_config_fails_with_the_key_named(tmp_path: Path):
    invoke("init", "-d", str(tmp_path))
    (tmp_path / "orchestrator_config.json").write_text('{"execution": {"max_workerz": 2}}')
    res = invoke("check", "-d", str(tmp_path))
    assert res.exit_code == 1
    assert "unknown key 'execution.max_workerz'" in res.output


def test_python_dash_m_works():
    proc = subprocess.run(
        [sys.executable, "-m", "claude_orchestrator", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "demo" in proc.stdout


def test_standalone_fake_server_with_the_demo_model(tmp_path: Path):
    from claude_orchestrator.config import OrchestratorConfig
    from claude_orchestrator.llm import LLM
    from claude_orchestrator.manager import Manager

    proc = subprocess.Popen(
        [sys.executable, "-m", "claude_orchestrator.testing.fake_anthropic", "--port", "0", "--demo"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        cfg = OrchestratorConfig()
        manager = Manager(llm=LLM.from_config(cfg, api_key="sk-test", base_url=url), cfg=cfg)
        answer = manager.review({"id": 1, "title": "t", "description": "d"}, diff="+x")
        assert answer.verdict == "pass"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_check_accepts_a_claude_code_subscription_login(tmp_path: Path):
    invoke("init", "-d", str(tmp_path / "p"))
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / ".credentials.json").write_text("{}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_CONFIG"))}
    env["HOME"] = str(home)
    proc = subprocess.run(
        [sys.executable, "-m", "claude_orchestrator", "check", "-d", str(tmp_path / "p")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert "[ok  ] api-key       no API key, but Claude Code is logged in" in proc.stdout, proc.stdout
