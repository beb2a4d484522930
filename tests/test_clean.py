"""`claude-orchestrator clean`: what ended runs leave behind goes; unmerged work stays unless --force; a live
run is never touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from run_helpers import git, make_project, task, writer

from claude_orchestrator.cli.main import cli
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic


def branches(root: Path) -> set[str]:
    return set(git(root, "for-each-ref", "--format=%(refname:short)", "refs/heads/orchestrator/").split())


def worktrees(root: Path) -> list[str]:
    return [
        line.split()[1]
        for line in git(root, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ][1:]


def clean(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["clean", "--project", str(root), *args])


@pytest.fixture
def ended_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run that merged task 1 and failed task 2 at review (its branch committed, never merged)."""
    root = make_project(tmp_path / "p", [task(1), task(2)])
    with FakeAnthropic(model=writer(rejected=("2",))) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-clean")
        res = CliRunner().invoke(
            cli, ["run", "--working-dir", str(root), "--no-progress", "--backend", "api"]
        )
    assert res.exit_code == 1 and "review failed twice" in res.output, res.output
    return root


def test_clean_removes_merged_work_and_keeps_unmerged_work_until_forced(ended_run: Path) -> None:
    root = ended_run
    (run,) = (p.name for p in (root / ".taskmaster" / "runs").iterdir())
    assert branches(root) == {f"orchestrator/{run}/1", f"orchestrator/{run}/2"}
    assert len(worktrees(root)) == 1  # task 2's, left by the failure
    dry = clean(root, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would remove branch orchestrator/{run}/1" in dry.output
    assert branches(root) == {f"orchestrator/{run}/1", f"orchestrator/{run}/2"}  # a dry run removes nothing
    res = clean(root)
    assert res.exit_code == 0, res.output
    assert f"removed branch orchestrator/{run}/1" in res.output
    assert f"kept orchestrator/{run}/2: not merged into main (clean --force removes it)" in res.output
    assert worktrees(root) == []  # its worktree held nothing uncommitted
    assert branches(root) == {f"orchestrator/{run}/2"}
    res = clean(root, "--force")
    assert res.exit_code == 0 and branches(root) == set(), res.output
    assert not (root / ".taskmaster" / "worktrees" / run).exists()
    assert (root / ".taskmaster" / "runs" / run / "summary.json").is_file()  # the history stays
    assert clean(root).output.strip() == "nothing to clean"
    assert git(root, "status", "--porcelain", "--untracked-files=no").strip() == ""


def test_clean_never_touches_a_live_run_and_keeps_uncommitted_work(ended_run: Path) -> None:
    import json

    root = ended_run
    live = "29990101-000000-aaaaaa"
    (root / ".taskmaster" / "runs" / live).mkdir(parents=True)
    (root / ".taskmaster" / "runs" / live / "run.json").write_text(
        json.dumps({"run_id": live, "status": "running", "pid": os.getpid(), "target_branch": "main"})
    )
    wt = root / ".taskmaster" / "worktrees" / live / "5"
    git(root, "worktree", "add", "-q", "-b", f"orchestrator/{live}/5", str(wt), "main")
    stopped = "20000101-000000-bbbbbb"
    wip = root / ".taskmaster" / "worktrees" / stopped / "6"
    git(root, "worktree", "add", "-q", "-b", f"orchestrator/{stopped}/6", str(wip), "main")
    (wip / "half-done.txt").write_text("work in progress\n")
    res = clean(root)
    assert res.exit_code == 0, res.output
    assert f"left run {live} alone: it is going on" in res.output
    assert f"kept {wip}: uncommitted changes" in res.output
    assert wt.is_dir() and wip.is_dir() and (wip / "half-done.txt").is_file()
    assert {f"orchestrator/{live}/5", f"orchestrator/{stopped}/6"} <= branches(root)
    res = clean(root, "--force")
    assert wt.is_dir() and f"orchestrator/{live}/5" in branches(root)  # --force does not touch it either
    assert not wip.exists() and f"orchestrator/{stopped}/6" not in branches(root)


def test_clean_outside_git_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / ".taskmaster").mkdir()
    res = subprocess.run(
        [sys.executable, "-m", "claude_orchestrator", "clean", "--project", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)},
    )
    assert res.returncode == 2 and "not in a git repository" in res.stderr and "Traceback" not in res.stderr
