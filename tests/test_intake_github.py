"""`import github:OWNER/REPO` through the real client (httpx) against the loopback fake GitHub REST API:
issues, sub-issues, "blocked by" dependencies, pagination over several pages, rate limits (a 403 with its
reset header, a 429 with retry-after), a 401; re-import after upstream edits; the token never shown."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tm_helpers import make_project, read_json, task, tasks_path

from claude_orchestrator.cli.main import cli
from claude_orchestrator.errors import RemoteError
from claude_orchestrator.intake.github import GitHub, GitHubOptions, github_token, read_github
from claude_orchestrator.testing.fake_github import FakeGitHub

TOKEN = "ghp_s3cr3t_value_never_shown_0123456789"


@pytest.fixture
def gh(monkeypatch: pytest.MonkeyPatch):
    with FakeGitHub(token=TOKEN) as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        yield fake


def imp(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["import", *args, "--project", str(root)])


def by_issue(root: Path) -> dict[str, dict[str, Any]]:
    return {t["metadata"]["source"]["id"]: t for t in read_json(root)["master"]["tasks"] if "metadata" in t}


def seed(gh: FakeGitHub) -> None:
    gh.add_issue(
        "o/r", 1, "Set up the service", "Create the skeleton in src/app.py.", labels=["priority:high"]
    )
    gh.add_issue(
        "o/r",
        2,
        "Add login",
        "Users log in.\n\n## Done when\n- [ ] wrong passwords are refused\n- [x] sessions expire\n",
        labels=["ready", "priority: low"],
        assignees=["alice"],
    )
    gh.add_issue("o/r", 3, "Hash passwords", "argon2")
    gh.add_issue("o/r", 4, "Rate-limit logins", "", state="closed")
    gh.add_issue("o/r", 5, "A pull request", "", pull_request=True)
    gh.add_issue("o/r", 6, "Document login", "")
    gh.add_sub_issue("o/r", 2, 3)
    gh.add_sub_issue("o/r", 2, 4)
    gh.block("o/r", 2, by=1)
    gh.block("o/r", 6, by=2)
    gh.block("o/r", 4, by=3)


def test_issues_become_tasks_with_subtasks_dependencies_criteria_priority(tmp_path: Path, gh: FakeGitHub):
    seed(gh)
    root = make_project(tmp_path / "p", [])
    res = imp(root, "github:o/r")
    assert res.exit_code == 0, res.output
    assert "github github:o/r: imported 3 new" in res.output
    t = by_issue(root)
    assert set(t) == {"o/r#1", "o/r#2", "o/r#6"}  # the PR is skipped, #3 is a sub-issue of #2
    one, two, six = t["o/r#1"], t["o/r#2"], t["o/r#6"]
    assert one["priority"] == "high" and two["priority"] == "low" and six["priority"] == "medium"
    assert one["relevantFiles"] == ["src/app.py"]
    assert two["dependencies"] == [one["id"]] and six["dependencies"] == [two["id"]]
    assert two["acceptanceCriteria"] == ["wrong passwords are refused", "sessions expire"]
    assert two["description"] == "Users log in." and "## Done when" in two["details"]
    src = two["metadata"]["source"]
    assert src["url"] == "https://github.com/o/r/issues/2" and src["labels"] == ["ready", "priority: low"]
    subs = {s["metadata"]["source"]["id"]: s for s in two["subtasks"]}
    assert [s["title"] for s in two["subtasks"]] == ["Hash passwords", "Rate-limit logins"]
    assert subs["o/r#4"]["status"] == "done" and subs["o/r#3"]["status"] == "pending"
    assert subs["o/r#4"]["dependencies"] == [f"{two['id']}.{subs['o/r#3']['id']}"]  # sibling blocker
    assert TOKEN not in res.output


def test_filters_label_milestone_title_assignee_state(tmp_path: Path, gh: FakeGitHub):
    seed(gh)
    gh.add_milestone("o/r", 7, "v1.0")
    gh.issue("o/r", 6).milestone = 7
    gh.issue("o/r", 6).labels = ["ready"]
    root = make_project(tmp_path / "p", [])
    assert imp(root, "github:o/r", "--label", "ready", "--milestone", "v1.0").exit_code == 0
    assert set(by_issue(root)) == {"o/r#6"}
    listed = [r for r in gh.requests if r["path"] == "/repos/o/r/issues"]
    assert listed[-1]["query"]["labels"] == "ready" and listed[-1]["query"]["milestone"] == "7"
    assert imp(root, "github:o/r", "--assignee", "alice").exit_code == 0
    assert set(by_issue(root)) == {"o/r#6", "o/r#2"}
    res = imp(root, "github:o/r", "--milestone", "v9")
    assert res.exit_code == 2 and "no milestone titled 'v9'" in res.output


def test_pagination_follows_link_headers_over_several_pages(tmp_path: Path, gh: FakeGitHub):
    for n in range(1, 231):
        gh.add_issue("o/r", n, f"Issue {n}", "")
    root = make_project(tmp_path / "p", [])
    assert imp(root, "github:o/r").exit_code == 0
    assert len(by_issue(root)) == 230
    pages = [r["query"].get("page", "1") for r in gh.requests if r["path"] == "/repos/o/r/issues"]
    assert pages == ["1", "2", "3"]
    ids = [t["id"] for t in read_json(root)["master"]["tasks"]]
    assert ids == list(range(1, 231))  # oldest first (direction=asc), ids in issue order


def test_primary_rate_limit_403_waits_for_reset_then_continues(tmp_path: Path, gh: FakeGitHub):
    seed(gh)
    gh.exhaust_rate_limit(reset_in=1)
    root = make_project(tmp_path / "p", [])
    t0 = time.monotonic()
    res = imp(root, "github:o/r")
    assert res.exit_code == 0, res.output
    assert time.monotonic() - t0 >= 0.9  # waited for x-ratelimit-reset
    statuses = [r["status"] for r in gh.requests]
    assert statuses[0] == 403 and statuses[1:] and all(s == 200 for s in statuses[1:])
    assert len(by_issue(root)) == 3


def test_secondary_limit_429_retry_after_and_5xx_are_retried(gh: FakeGitHub):
    seed(gh)
    gh.secondary_limit(status=429, retry_after=0)
    gh.fail_next(502)
    waits: list[float] = []
    with GitHub(sleep=waits.append) as client:
        batch = read_github("o/r", GitHubOptions(), client)
    assert [r["status"] for r in gh.requests][:3] == [429, 502, 200]
    assert waits == [0.0, 4.0]  # retry-after: 0, then backoff for the 502 (second attempt)
    assert len(batch.items) == 3


def test_rate_limit_past_the_bound_is_a_clear_error(gh: FakeGitHub):
    seed(gh)
    gh.exhaust_rate_limit(reset_in=3600)
    with GitHub(max_wait=5, sleep=lambda s: None) as client, pytest.raises(RemoteError) as err:
        read_github("o/r", GitHubOptions(), client)
    assert "rate limit reached; try again after" in str(err.value)


def test_401_bad_token_one_line_exit_2_nothing_written(tmp_path: Path, gh: FakeGitHub, monkeypatch: Any):
    seed(gh)
    wrong = "ghp_wrong_token_also_never_shown_987"
    monkeypatch.setenv("GH_TOKEN", wrong)
    root = make_project(tmp_path / "p", [task(1)])
    before = tasks_path(root).read_bytes()
    res = imp(root, "github:o/r")
    assert res.exit_code == 2
    assert res.output.strip() == "Error: GitHub GET /repos/o/r/issues: 401 Bad credentials (check the token)"
    assert wrong not in res.output and TOKEN not in res.output
    assert tasks_path(root).read_bytes() == before
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    res = imp(root, "github:o/nope")
    assert res.exit_code == 2 and "404 Not Found" in res.output
    assert imp(root, "github:not a repo").exit_code == 2


def test_no_token_is_a_clear_error(tmp_path: Path, gh: FakeGitHub, monkeypatch: Any):
    monkeypatch.delenv("GH_TOKEN")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `gh` either
    root = make_project(tmp_path / "p", [])
    res = imp(root, "github:o/r")
    assert res.exit_code == 2 and "no GitHub token" in res.output


def test_token_from_gh_auth_token(tmp_path: Path, monkeypatch: Any):
    fake_gh = tmp_path / "gh"
    fake_gh.write_text('#!/bin/sh\n[ "$1 $2" = "auth token" ] && echo ghp_from_gh_cli\n')
    fake_gh.chmod(fake_gh.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert github_token({}) == "ghp_from_gh_cli"
    assert github_token({"GITHUB_TOKEN": "ghp_env"}) == "ghp_env"


def test_reimport_after_upstream_edits(tmp_path: Path, gh: FakeGitHub):
    seed(gh)
    root = make_project(tmp_path / "p", [])
    assert imp(root, "github:o/r").exit_code == 0
    data = read_json(root)
    one = next(t for t in data["master"]["tasks"] if t["metadata"]["source"]["id"] == "o/r#1")
    one["status"] = "done"
    tasks_path(root).write_text(__import__("json").dumps(data, indent=2))
    gh.issue("o/r", 6).title = "Document login and logout"
    gh.add_issue("o/r", 8, "Audit log", "")
    gh.block("o/r", 8, by=6)
    gh.issue("o/r", 1).state = "open"
    res = imp(root, "github:o/r")
    assert "1 new, 1 updated, 2 unchanged" in res.output, res.output
    t = by_issue(root)
    assert len(t) == 4 and t["o/r#1"]["status"] == "done"
    assert t["o/r#6"]["title"] == "Document login and logout"
    assert t["o/r#8"]["dependencies"] == [t["o/r#6"]["id"]]
    gh.issue("o/r", 6).state = "closed"
    assert imp(root, "github:o/r", "--state", "all").exit_code == 0
    assert by_issue(root)["o/r#6"]["status"] == "done"
