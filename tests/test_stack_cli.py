import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_orchestrator.cli.main import cli
from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.stack.generate import build_prompt

EXAMPLES = Path(__file__).resolve().parent.parent / "claude_orchestrator" / "examples"


def invoke(*args, cwd=None):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_plan(tmp_path, plan, name="plan.json"):
    p = tmp_path / name
    p.write_text(json.dumps(plan))
    return p


def test_execute_run_streams_output_and_reports(tmp_path):
    plan = write_plan(tmp_path, {"name": "Hello CLI", "files": {"main.py": "print('hello cli')"}})
    res = invoke("execute", plan, "-o", tmp_path / "out", "--run", "--no-plugins")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert f"Project:   {(tmp_path / 'out' / 'hello-cli').resolve()}" in out
    assert "Stacks:    python (., pip)" in out
    assert "-m venv --without-pip .venv" in out
    assert "Run:       python main.py" in out
    assert out.rstrip().endswith("hello cli")


def test_execute_json_and_skipped_post_install(tmp_path):
    plan = write_plan(tmp_path, {"name": "j", "files": {"main.py": ""}, "post_install": ["touch pwned"]})
    res = invoke("execute", plan, "-o", tmp_path / "out", "--json", "--no-plugins")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["stacks"] == ["python"] and data["post_install_skipped"] == ["touch pwned"]
    res = invoke("execute", plan, "-o", tmp_path / "out", "--no-plugins")
    assert "post_install commands NOT run (use --allow-commands to run them):\n  touch pwned" in res.stdout
    res = invoke("execute", plan, "-o", tmp_path / "out", "--no-plugins", "--allow-commands")
    assert "post_install commands run (allowed):\n  touch pwned" in res.stdout
    assert len(list((tmp_path / "out").rglob("pwned"))) == 1


@pytest.mark.parametrize("bad", ["../escape.txt", "/abs.txt", "a/../../b.txt", "C:\\x.txt", ".git/config"])
def test_escaping_paths_exit_2_and_write_nothing(tmp_path, bad):
    plan = write_plan(tmp_path, {"name": "evil", "files": {"ok.txt": "fine", bad: "x"}})
    res = invoke("execute", plan, "-o", tmp_path / "out", "--no-plugins")
    assert res.exit_code == 2
    assert res.stderr.startswith("Error: invalid build plan: ") and len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.output
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["plan.json"]


def test_execute_missing_and_malformed_plan_files(tmp_path):
    res = invoke("execute", tmp_path / "nope.json", "--no-plugins")
    assert res.exit_code == 2 and "no such file" in res.stderr
    (tmp_path / "bad.json").write_text("{nope")
    res = invoke("execute", tmp_path / "bad.json", "--no-plugins")
    assert res.exit_code == 2 and "malformed JSON at line 1 column 2" in res.stderr


@pytest.mark.skipif(shutil.which("g++") is None, reason="toolchain not installed: g++")
def test_failed_build_exits_1_with_step(tmp_path):
    plan = write_plan(tmp_path, {"name": "b", "files": {"main.cpp": "int main( {"}})
    res = invoke("execute", plan, "-o", tmp_path / "out", "--no-plugins")
    assert res.exit_code == 1
    assert "Error: step 'g++' failed (exit status 1)" in res.stderr


def test_veto_through_the_cli_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("ORCH_AUDIT_LOG", str(tmp_path / "audit.ndjson"))
    plan = write_plan(tmp_path, {"name": "s", "files": {"id_rsa": "KEY", "main.py": ""}})
    res = invoke("execute", plan, "-o", tmp_path / "out", "--plugins-dir", EXAMPLES)
    assert res.exit_code == 2
    assert "audit policy blocked plan 's': secret-looking file id_rsa" in res.stderr
    assert not (tmp_path / "out").exists()


def test_run_project_timeout_and_status(tmp_path):
    plan = write_plan(
        tmp_path,
        {"name": "r", "files": {"main.py": "import sys, time\nprint('tick', flush=True)\ntime.sleep(300)\n"}},
    )
    assert invoke("execute", plan, "-o", tmp_path / "out", "--no-plugins").exit_code == 0
    res = invoke("run-project", tmp_path / "out" / "r", "--timeout", "1", "--no-plugins")
    assert res.exit_code == 124
    assert res.stdout == "tick\n"
    assert "Timed out after 1s; the project's process group was killed." in res.stderr

    plan2 = write_plan(tmp_path, {"name": "q", "files": {"main.py": "raise SystemExit(3)"}}, "p2.json")
    assert invoke("execute", plan2, "-o", tmp_path / "out", "--no-plugins").exit_code == 0
    assert invoke("run-project", tmp_path / "out" / "q", "--no-plugins").exit_code == 3
    res = invoke("run-project", tmp_path, "--no-plugins")
    assert res.exit_code == 2 and "no run.sh" in res.stderr


def test_plugins_command_lists_hooks(tmp_path):
    res = invoke("plugins", "--plugins-dir", EXAMPLES)
    assert res.exit_code == 0
    assert f"audit  [{EXAMPLES / 'audit_plugin.py'}]" in res.stdout
    assert "hooks: post_build, post_execute, post_run, pre_execute, pre_run" in res.stdout
    data = json.loads(invoke("plugins", "--json", "--plugins-dir", EXAMPLES).stdout)
    assert data[0]["name"] == "audit"


def test_generate_without_credentials_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    res = invoke("generate", "a CLI calculator in Rust", "--no-plugins")
    assert res.exit_code == 2
    assert "ANTHROPIC_API_KEY" in res.stderr


def test_build_plan_prompt_states_the_shape():
    system, user = build_prompt("  a todo API  ", OrchestratorConfig())
    assert '"files": [{"filename": "relative/path.ext", "code": "full file content"}]' in system
    assert "1000000 bytes" in system and 'never contain ".."' in system
    assert "a todo API" in user and "$request" not in user


def test_generate_validates_the_managers_plan_then_executes(tmp_path, monkeypatch):
    from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, json_reply

    good = {"name": "gen", "files": [{"filename": "main.py", "code": "print('generated')"}]}
    evil = {"name": "e", "files": [{"filename": "../x", "code": ""}]}
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-generate")
        fake.enqueue(json_reply(evil, fenced=True), json_reply(good))  # invalid once, then repaired
        res = invoke("generate", "hello", "-o", tmp_path / "out", "--run", "--no-plugins")
        assert res.exit_code == 0, res.stderr
        assert res.stdout.rstrip().endswith("generated")
        asks = [r for r in fake.requests if r.endpoint == "/v1/messages"]
        assert len(asks) == 2 and "contains '..'" in asks[1].last_user_text
        assert "relative/path.ext" in asks[0].system_text and "hello" in asks[0].last_user_text
        fake.enqueue(*(json_reply(evil) for _ in range(3)))
        res = invoke("generate", "evil", "-o", tmp_path / "out2", "--no-plugins")
        assert res.exit_code == 1 and "never produced a valid build plan" in res.stderr
        assert not (tmp_path / "out2").exists() or not any((tmp_path / "out2").iterdir())


def test_ctrl_c_kills_the_project_process_group(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from test_stack_builds import assert_gone, live_with_arg

    code = "import subprocess, time\nsubprocess.Popen(['sleep', '300.125'])\nprint('up', flush=True)\ntime.sleep(300)\n"
    plan = write_plan(tmp_path, {"name": "cc", "files": {"main.py": code}})
    assert invoke("execute", plan, "-o", tmp_path / "out", "--no-plugins").exit_code == 0
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "claude_orchestrator",
            "run-project",
            str(tmp_path / "out" / "cc"),
            "--no-plugins",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline() == "up\n"  # the project is up
    (child,) = live_with_arg("300.125")
    assert os.getpgid(child) != os.getpgrp()  # the project has its own group
    proc.send_signal(signal.SIGINT)  # Ctrl-C reaches the CLI
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Interrupted." in err
    assert_gone("300.125")
