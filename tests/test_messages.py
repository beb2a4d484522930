"""Messages a person reads: each one says what is true and what to do, in the person's words."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from run_helpers import git, make_project, task

from claude_orchestrator.cli.main import cli
from claude_orchestrator.cli.taskmaster import cli as tm_cli


def run(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["run", "--working-dir", str(root), "--no-progress", *args])


def test_run_on_an_unknown_tag_is_bad_input(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", [task(1)])
    res = run(root, "--tag", "nope")
    assert res.exit_code == 2
    assert "no tag 'nope'" in res.output and "its tags: master" in res.output
    assert "every selected task is done" not in res.output


def test_run_says_why_there_is_nothing_to_run(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", [])
    res = run(root)
    assert res.exit_code == 0, res.output
    assert "Nothing to do: tag 'master' has no tasks yet" in res.output and "parse" in res.output
    tasks = root / ".taskmaster" / "tasks" / "tasks.json"
    tasks.write_text(
        json.dumps(
            {
                "master": {
                    "tasks": [
                        task(1, status="done"),
                        task(2, status="deferred"),
                        task(3, status="cancelled"),
                    ],
                    "metadata": {},
                }
            }
        )
    )
    res = run(root)
    assert res.exit_code == 0, res.output
    assert "no task of tag 'master' is left to run (1 cancelled, 1 deferred, 1 done)" in res.output
    tasks.write_text(json.dumps({"master": {"tasks": [task(1, status="done")], "metadata": {}}}))
    assert "Nothing to do: every task of tag 'master' is done." in run(root).output


def test_dry_run_counts_in_words(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", [task(1)])
    res = run(root, "--dry-run")
    assert res.exit_code == 0, res.output
    assert "Schedule (1 unit, 1 worker):" in res.output


def test_next_on_an_empty_project_says_there_are_no_tasks(tmp_path: Path) -> None:
    from claude_orchestrator.project import init_orchestrator

    init_orchestrator(tmp_path, "t")
    (tmp_path / ".taskmaster" / "tasks" / "tasks.json").write_text(
        '{"master": {"tasks": [], "metadata": {}}}'
    )
    res = CliRunner().invoke(
        tm_cli, ["next", "--file", str(tmp_path / ".taskmaster" / "tasks" / "tasks.json")]
    )
    assert res.exit_code == 0, res.output
    assert "No tasks in tag 'master' yet." in res.output and "parse-prd" in res.output
    assert "done, blocked" not in res.output


def check(root: Path, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["check", "-d", str(root)], env=env)


def test_check_fails_a_repository_without_a_commit_and_exits_1_on_any_fail(tmp_path: Path) -> None:
    from claude_orchestrator.project import init_orchestrator

    init_orchestrator(tmp_path, "t")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    key = {"ANTHROPIC_API_KEY": "sk-ant-test-check"}
    res = check(tmp_path, key)
    assert res.exit_code == 1, res.output
    assert "[FAIL] git" in res.output and "no commit yet" in res.output
    assert "1 check failed: git" in res.output
    ident = ["-c", "user.name=T", "-c", "user.email=t@example.com"]
    git(tmp_path, *ident, "commit", "-q", "--allow-empty", "-m", "first")
    res = check(tmp_path, key)
    assert res.exit_code == 0 and "[FAIL]" not in res.output, res.output
    res = check(tmp_path, {"ANTHROPIC_API_KEY": ""})
    assert res.exit_code == 1 and "[FAIL] api-key" in res.output, res.output


def test_check_outside_git_warns_but_does_not_fail(tmp_path: Path) -> None:
    from claude_orchestrator.project import init_orchestrator

    init_orchestrator(tmp_path, "t")
    res = CliRunner().invoke(
        cli,
        ["check", "-d", str(tmp_path)],
        env={"ANTHROPIC_API_KEY": "sk-ant-test-check", "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)},
    )
    assert "[warn] git" in res.output and "not a git repository" in res.output
    assert res.exit_code == 0, res.output


def test_claude_code_errors_are_said_in_words() -> None:
    from claude_agent_sdk import ResultMessage

    from claude_orchestrator.workers.claude_code import _result_error

    def result(**kw: Any) -> ResultMessage:
        base: dict[str, Any] = dict(
            subtype="success", duration_ms=1, duration_api_ms=1, is_error=True, num_turns=1, session_id="s"
        )
        return ResultMessage(**{**base, **kw})

    overloaded = _result_error(result(api_error_status=529, result="Overloaded", terminal_reason="api_error"))
    assert overloaded == "Claude Code ended with an error (the API answered 529): Overloaded"
    during = _result_error(result(subtype="error_during_execution", errors=["tool crashed"]))
    assert during == "Claude Code ended with an error (during execution): tool crashed"
    for text in (overloaded, during):
        assert "subtype" not in text and "terminal_reason" not in text and "=" not in text


def test_slack_run_summary_says_what_is_true_and_names_real_commands() -> None:
    from claude_orchestrator import events as ev
    from claude_orchestrator.config import OrchestratorConfig
    from claude_orchestrator.observers.slack import SlackNotifier

    n = SlackNotifier(OrchestratorConfig(), url="https://hooks.slack.invalid/x")
    try:
        done = n.build(ev.RunFinished(run_id="r1", status="completed", done=3, failed=0, duration_s=60))
        stopped = n.build(ev.RunFinished(run_id="r2", status="stopped", done=1, failed=0, duration_s=60))
        failed = n.build(ev.RunFinished(run_id="r3", status="failed", done=1, failed=1, duration_s=60))
    finally:
        n.close()
    texts = [json.dumps(m) for m in (done, stopped, failed)]
    assert all("review and merge" not in t for t in texts)
    assert "every task is done" in texts[0]
    assert "`claude-orchestrator run` resumes" in texts[1]
    assert "claude-orchestrator tail-events --run r3" in texts[2]
    assert all("(`--run" not in t for t in texts)


@pytest.fixture
def garbage_model(monkeypatch: pytest.MonkeyPatch):
    from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, text_reply

    with FakeAnthropic(model=lambda req: text_reply("I would rather not answer in JSON.")) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-messages")
        yield fake


def test_an_invalid_answer_is_named_for_people_not_by_class(tmp_path: Path, garbage_model: Any) -> None:
    root = make_project(tmp_path / "p", [task(1)])
    res = CliRunner().invoke(
        cli, ["add", "Add a --json flag", "-f", str(root / ".taskmaster" / "tasks" / "tasks.json")]
    )
    assert res.exit_code != 0
    assert "the model gave no valid new tasks" in res.output, res.output
    assert "AddAnswer" not in res.output and "Traceback" not in res.output
