"""The orchestrator's own git never runs what a task planted in the repository (hooks, fsmonitor, filters,
merge drivers, diff programs, signing programs), and no secret of ours reaches a program git starts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from gitrepo import isolate_git, make_repo, run, write

from claude_orchestrator.config import GitConfig
from claude_orchestrator.errors import WorkspaceError
from claude_orchestrator.workspace import GitWorkspace, hardening

TASKS = ".taskmaster/tasks/tasks.json"
CANARY = "canary-secret-7f3a9"
HOOKS = ("pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "post-checkout", "post-merge")
HOOKS += ("reference-transaction", "pre-auto-gc", "post-rewrite")


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git(monkeypatch, tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    monkeypatch.setenv("DEPLOY_TOKEN", CANARY + "-token")
    monkeypatch.setenv("SERVICE_SECRET_VALUE", CANARY + "-secret")


def program(marks: Path, name: str, *, passthrough: bool = True) -> str:
    """A script that leaves `marks/name` (with its environment) when it runs; a filter copies stdin."""
    script = marks / f"{name}.sh"
    body = f'#!/bin/sh\nenv > "{marks}/{name}"\n' + ("cat\n" if passthrough else "exit 0\n")
    script.write_text(body, encoding="utf-8")
    script.chmod(0o755)
    return str(script)


def plant(repo: Path, marks: Path, *, config: bool = True) -> None:
    """What a model-issued command with write access to the main repository's .git could do."""
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for hook in HOOKS:
        (hooks / hook).write_text(Path(program(marks, hook, passthrough=False)).read_text())
        (hooks / hook).chmod(0o755)
    planted = {
        "core.fsmonitor": program(marks, "fsmonitor", passthrough=False),
        "filter.evil.clean": program(marks, "clean"),
        "filter.evil.smudge": program(marks, "smudge"),
        "filter.evil.process": program(marks, "process", passthrough=False),
        "filter.evil.required": "true",
        "merge.evil.driver": program(marks, "merge-driver", passthrough=False) + " %A %O %B",
        "diff.evil.textconv": program(marks, "textconv"),
        "diff.evil.command": program(marks, "diff-command", passthrough=False),
        "diff.external": program(marks, "diff-external", passthrough=False),
        "commit.gpgSign": "true",
        "gpg.program": program(marks, "gpg", passthrough=False),
        "log.showSignature": "true",
    }
    always_off = ("core.fsmonitor", "diff.external", "log.showSignature")
    for key, value in planted.items():
        if config or key in always_off:
            run(repo, "config", key, value)
    attributes = repo / ".git" / "info" / "attributes"
    before = attributes.read_text() if attributes.exists() else ""
    write(attributes, "* filter=evil merge=evil diff=evil\n" + before)


def test_nothing_planted_in_the_repository_runs_and_no_secret_reaches_git(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    files = {"a.txt": "one\n", "shared.txt": "base\n", TASKS: json.dumps({"status": "pending"}) + "\n"}
    repo = make_repo(tmp_path / "repo", files)
    # the user's own filter, set before the run: it keeps working, and shows what git's programs receive
    run(repo, "config", "filter.mine.clean", program(marks, "user-filter"))
    write(repo / ".git" / "info" / "attributes", "*.dat filter=mine\n")
    ws = GitWorkspace.open(repo, "r1", GitConfig())
    assert isinstance(ws, GitWorkspace)
    assert "filter.mine.clean" in (ws.notice or "")  # the repository's own program-running config is named
    p1 = ws.prepare("1")
    plant(repo, marks)  # the first task's command escapes and plants everything
    write(p1 / "one.txt", "1\n")
    write(p1 / "shared.txt", "task one\n")
    write(p1 / "data.dat", "payload\n")
    assert ws.diff("1") and "one.txt" in ws.changed_files("1")
    assert ws.commit_task("1", "one") is not None
    p2 = ws.prepare("2")  # a worktree checked out after the planting (post-checkout, smudge)
    write(p2 / "shared.txt", "task two\n")
    assert ws.commit_task("2", "two") is not None
    write(repo / TASKS, json.dumps({"status": "1 running"}) + "\n")
    assert ws.commit_status() is not None
    assert ws.merge_task("1", "one").ok  # fast-forward of the checked-out tree (post-merge, post-checkout)
    for legacy in (False, True):  # a content merge (merge driver); in a temporary worktree (post-checkout)
        conflict = ws.merge_task("2", "two", legacy=legacy)
        assert not conflict.ok and conflict.kind == "conflict"
    assert ws.reset_to_base("2") is not None
    write(p2 / "three.txt", "3\n")
    assert ws.commit_task("2", "two again") is not None
    assert ws.merge_task("2", "two again").ok  # a merge commit (commit-tree; signing would run here)
    assert ws.cleanup("1") and ws.cleanup("2")
    ws.finish()

    ran = sorted(p.name for p in marks.iterdir() if not p.name.endswith(".sh"))
    assert ran == ["user-filter"], f"planted programs ran: {ran}"
    seen = (marks / "user-filter").read_text()
    assert CANARY not in seen and "PATH=" in seen
    assert run(repo, "show", "HEAD:data.dat") == "payload"
    assert "gpgsig" not in run(repo, "cat-file", "commit", "HEAD")  # not signed: gpg.program never ran


def test_hooks_and_fsmonitor_set_before_the_run_are_off_too(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    repo = make_repo(tmp_path / "repo")
    plant(repo, marks, config=False)  # left behind by an earlier run, say
    ws = GitWorkspace.open(repo, "r1", GitConfig())
    assert isinstance(ws, GitWorkspace)
    write(ws.prepare("1") / "one.txt", "1\n")
    assert "+1" in ws.diff("1")  # git's own diff, not diff.external
    assert ws.commit_task("1", "one") is not None
    assert ws.merge_task("1", "one").ok and ws.cleanup("1")
    ran = [p.name for p in marks.iterdir() if not p.name.endswith(".sh")]
    assert ran == [], f"planted programs ran: {ran}"


def test_git_location_variables_of_the_caller_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    other = make_repo(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "stray-index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    ws = GitWorkspace.open(repo, "r1", GitConfig())
    assert isinstance(ws, GitWorkspace) and ws.root == repo.resolve()
    write(ws.prepare("1") / "one.txt", "1\n")
    assert ws.commit_task("1", "one") is not None and ws.merge_task("1", "one").ok
    for var in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"):
        monkeypatch.delenv(var)
    assert (repo / "one.txt").read_text() == "1\n"
    assert run(other, "log", "--format=%s") == "initial"
    assert not (tmp_path / "stray-index").exists()


def test_planted_config_is_overridden_on_the_command_line() -> None:
    entries = hardening.parse_config(
        "file:.git/config\0filter.x.clean\nevil\0file:.git/config\0merge.y.driver\nevil %A\0"
        "file:.git/config\0gpg.program\nevil\0file:.git/config\0user.name\nAda\0"
    )
    assert [e.runs_program for e in entries] == [True, True, True, False]
    args = hardening.overrides(entries)
    pairs = list(zip(args[0::2], args[1::2], strict=True))
    assert ("-c", "filter.x.clean=") in pairs and ("-c", "filter.x.process=") in pairs
    assert ("-c", f"merge.y.driver={hardening.TEXT_MERGE}") in pairs
    assert ("-c", "commit.gpgSign=false") in pairs
    with pytest.raises(WorkspaceError, match="cannot be overridden"):
        hardening.overrides(hardening.parse_config("file:x\0filter.a=b.clean\nevil\0"))


def test_git_sees_no_secret_in_its_environment(tmp_path: Path) -> None:
    from claude_orchestrator.workspace.gitops import environment

    overrides, unset = environment({"GIT_INDEX_FILE": "/tmp/i"})
    assert overrides["ANTHROPIC_API_KEY"] == "" and overrides["DEPLOY_TOKEN"] == ""
    assert overrides["SERVICE_SECRET_VALUE"] == "" and overrides["LC_ALL"] == "C"
    assert "GIT_INDEX_FILE" not in unset and os.environ.get("PATH") and "PATH" not in overrides


def test_a_git_that_hangs_is_stopped_at_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from claude_orchestrator.workspace import gitops

    repo = make_repo(tmp_path / "repo")
    run(repo, "config", "filter.slow.clean", "sleep 2; cat")
    write(repo / ".gitattributes", "*.slow filter=slow\n")
    monkeypatch.setattr(gitops, "GIT_TIMEOUT", 0.3)
    with pytest.raises(WorkspaceError, match=r"git hash-object timed out after 0.3s"):
        gitops.git(repo, "hash-object", "--path=a.slow", "--stdin", input="data\n")
    monkeypatch.setattr(gitops, "GIT_TIMEOUT", 30.0)
    assert gitops.git(repo, "hash-object", "--path=a.slow", "--stdin", input="data\n").stdout.strip()
