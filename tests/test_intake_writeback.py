"""`--write-back --close` through a real run: issues imported from the fake GitHub, executed by the api
backend against the fake Anthropic API (the real anthropic SDK), reviewed, committed and merged; each done
task's issue gets one comment (commit, cost, review verdict) and is closed, and a later run posts nothing
again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_orchestrator.cli.main import cli
from claude_orchestrator.testing.demo_model import demo_model
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic
from claude_orchestrator.testing.fake_github import FakeGitHub

TOKEN = "ghp_writeback_token_never_shown_42"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def make_repo(root: Path) -> Path:
    from claude_orchestrator.project import init_orchestrator

    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    init_orchestrator(root, "t")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch):
    with FakeGitHub(token=TOKEN) as gh:
        fake = FakeAnthropic(model=demo_model).start()
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-writeback")
        monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
        try:
            yield gh, fake
        finally:
            fake.stop()


def test_write_back_comments_and_closes_when_tasks_are_done_in_a_run(tmp_path: Path, services):
    gh, _ = services
    gh.add_issue("o/r", 1, "Write the notes file", "Notes for the team.", labels=["priority:high"])
    gh.add_issue("o/r", 2, "Write the second notes file", "More notes.")
    gh.add_issue("o/r", 3, "Not for write-back", "")
    gh.block("o/r", 2, by=1)
    root = make_repo(tmp_path / "p")
    runner = CliRunner()
    res = runner.invoke(cli, ["import", "github:o/r", "--write-back", "--close", "--project", str(root)])
    assert res.exit_code == 0, res.output
    tasks = json.loads((root / ".taskmaster/tasks/tasks.json").read_text())["master"]["tasks"]
    assert [t["metadata"]["source"]["writeBack"] for t in tasks] == ["close", "close", "close"]

    res = runner.invoke(
        cli,
        [
            "run",
            "--working-dir",
            str(root),
            "--no-progress",
            "--backend",
            "api",
            "--workers",
            "2",
            "--id",
            "1,2",
        ],
    )
    assert res.exit_code == 0, res.output
    assert TOKEN not in res.output
    for n in (1, 2):
        comments = gh.comments("o/r", n)
        assert len(comments) == 1, comments
        assert f"Task {n} is done" in comments[0] and "- Review: pass" in comments[0]
        assert "- Commit: `" in comments[0] and "- Cost: $" in comments[0]
        assert gh.issue("o/r", n).state == "closed" and gh.issue("o/r", n).state_reason == "completed"
    assert gh.comments("o/r", 3) == [] and gh.issue("o/r", 3).state == "open"  # not run
    ledger = json.loads((root / ".taskmaster/intake/github-writeback.json").read_text())
    assert set(ledger) == {"o/r#1", "o/r#2"} and all(e["closed"] for e in ledger.values())
    assert ledger["o/r#1"]["task_id"] == "1" and ledger["o/r#1"]["run_id"]

    posted = len([r for r in gh.requests if r["method"] == "POST"])
    res = runner.invoke(
        cli, ["run", "--working-dir", str(root), "--no-progress", "--backend", "api", "--id", "1,2"]
    )
    assert "nothing to run among 1, 2" in res.output, res.output
    assert len([r for r in gh.requests if r["method"] == "POST"]) == posted  # nothing posted twice


def test_write_back_without_a_token_stops_before_the_run(tmp_path: Path, services, monkeypatch):
    gh, fake = services
    gh.add_issue("o/r", 1, "Write the notes file", "")
    root = make_repo(tmp_path / "p")
    runner = CliRunner()
    assert runner.invoke(cli, ["import", "github:o/r", "--write-back", "--project", str(root)]).exit_code == 0
    monkeypatch.delenv("GH_TOKEN")
    monkeypatch.setenv("PATH", "/nonexistent")
    res = runner.invoke(cli, ["run", "--working-dir", str(root), "--no-progress", "--backend", "api"])
    assert res.exit_code == 2 and "no GitHub token" in res.output
    assert not fake.requests  # nothing ran


def test_write_back_observer_group_completion_and_no_double_post(tmp_path: Path):
    """The observer on a bus of typed events: a group's completion (a task run as its subtasks) comments
    on its issue; the same completion seen twice (a resumed run) posts once; a failure is a notice."""
    from claude_orchestrator.events import EventBus, TaskCompleted, TaskReviewed
    from claude_orchestrator.intake.github import GitHub
    from claude_orchestrator.intake.github.writeback import Target, WriteBack

    with FakeGitHub(token=TOKEN) as gh:
        gh.add_issue("o/r", 5, "Parent", "")
        client = GitHub(TOKEN, gh.url)
        targets = {"3": Target("o/r#5", "comment"), "4": Target("o/r#404", "close")}
        wb = WriteBack(client, targets, tmp_path / "ledger.json")
        bus = EventBus()
        bus.subscribe(wb)
        bus.publish(TaskReviewed(run_id="r1", task_id="3", verdict="fail"))
        bus.publish(TaskCompleted(run_id="r1", task_id="3", subtasks=["3.1", "3.2"], cost_usd=0.5))
        bus.publish(TaskCompleted(run_id="r1", task_id="3", subtasks=["3.1", "3.2"], cost_usd=0.5))
        bus.publish(TaskCompleted(run_id="r1", task_id="4"))
        bus.publish(TaskCompleted(run_id="r1", task_id="9"))  # not imported with write-back: ignored
        wb.close()
        client.close()
        comments = gh.comments("o/r", 5)
    assert len(comments) == 1
    assert (
        "Subtasks done: 3.1, 3.2" in comments[0]
        and "Review: fail" in comments[0]
        and "$0.5000" in comments[0]
    )
    assert gh.issue("o/r", 5).state == "open"  # comment only
    assert wb.notices == [
        "write-back to o/r#404 failed: GitHub POST /repos/o/r/issues/404/comments: 404 Not Found (no such repository or issue, or no access)"
    ]
