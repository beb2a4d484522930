"""Real git repositories in temporary directories, for the workspace tests (no global git config)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

AUTHOR = ("Ada Tester", "ada@example.test")


def isolate_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No global/system git config and no author overrides from the environment."""
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_DIR",
    ):
        monkeypatch.delenv(var, raising=False)


def run(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.rstrip()


def make_repo(path: Path, files: dict[str, str] | None = None, *, identity: bool = True) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    run(path, "init", "-q", "-b", "main")
    run(path, "config", "user.useConfigOnly", "true")
    if identity:
        run(path, "config", "user.name", AUTHOR[0])
        run(path, "config", "user.email", AUTHOR[1])
    for name, text in (files or {"a.txt": "one\ntwo\nthree\n", "b.txt": "bee\n"}).items():
        write(path / name, text)
    if identity:
        run(path, "add", "-A")
        run(path, "commit", "-q", "-m", "initial")
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def commit_files(cwd: Path, message: str = "worker commit") -> None:
    run(cwd, "add", "-A")
    run(cwd, "commit", "-q", "-m", message)


def files_in(cwd: Path, rev: str) -> list[str]:
    return sorted(run(cwd, "ls-tree", "-r", "--name-only", rev).splitlines())


def changed_in(cwd: Path, rev: str) -> list[str]:
    return sorted(run(cwd, "show", "--format=", "--name-only", rev).splitlines())


def porcelain(cwd: Path) -> str:
    return run(cwd, "status", "--porcelain", "--untracked-files=all")
