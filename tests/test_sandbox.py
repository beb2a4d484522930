"""The api backend's sandboxed tools: they work inside the worktree and refuse every way out."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from test_stack_builds import assert_gone

from claude_orchestrator.errors import SandboxError
from claude_orchestrator.workers.sandbox import Sandbox


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    root = tmp_path / "wt"
    (root / "src").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "src" / "a.py").write_text("def f():\n    return 1\n\nprint(f())\n")
    (tmp_path / "outside.txt").write_text("secret\n")
    return Sandbox(root, command_timeout=5)


def test_read_write_edit_list(box: Sandbox):
    assert box.read_file("src/a.py", offset=2, limit=1) == "     2\t    return 1"
    assert box.write_file("pkg/new.txt", "hello\n") == "wrote 6 bytes to pkg/new.txt"
    assert (box.root / "pkg" / "new.txt").read_text() == "hello\n"
    assert box.edit_file("src/a.py", "return 1", "return 2") == "edited src/a.py"
    assert "return 2" in (box.root / "src" / "a.py").read_text()
    assert box.list_dir() == ".git/\npkg/\nsrc/"
    assert box.read_file(str(box.root / "src" / "a.py")).startswith("     1\tdef f():")  # absolute inside


def test_edit_needs_one_exact_match(box: Sandbox):
    with pytest.raises(SandboxError, match="old text not found"):
        box.edit_file("src/a.py", "return 3", "x")
    with pytest.raises(SandboxError, match="occurs 2 times"):
        box.edit_file("src/a.py", "f()", "g()")


@pytest.mark.parametrize("path", ["../outside.txt", "src/../../outside.txt", "/etc/passwd", "..", "/"])
def test_escapes_are_refused(box: Sandbox, path: str):
    for call in (lambda: box.read_file(path), lambda: box.write_file(path, "x"), lambda: box.list_dir(path)):
        with pytest.raises(SandboxError, match="outside the workspace"):
            call()
    text, is_error = box.dispatch("read_file", {"path": path})
    assert is_error and "outside the workspace" in text


def test_symlinks_out_are_refused(box: Sandbox, tmp_path: Path):
    (box.root / "link").symlink_to(tmp_path / "outside.txt")
    (box.root / "dirlink").symlink_to(tmp_path)
    (box.root / "dangling").symlink_to(tmp_path / "created-by-escape.txt")
    for path in ("link", "dirlink/outside.txt", "dirlink/new.txt", "dangling"):
        with pytest.raises(SandboxError, match="symlink"):
            box.read_file(path)
        with pytest.raises(SandboxError, match="symlink"):
            box.write_file(path, "pwned")
    assert (tmp_path / "outside.txt").read_text() == "secret\n"
    assert not (tmp_path / "created-by-escape.txt").exists()
    assert "outside" not in box.grep("secret")  # grep does not follow links out
    (box.root / "inner").symlink_to(box.root / "src" / "a.py")
    assert box.read_file("inner").startswith("     1\tdef f")  # links that stay inside are fine


def test_git_is_read_only(box: Sandbox):
    for path in (".git/config", ".git/hooks/pre-commit", "src/../.git/config"):
        with pytest.raises(SandboxError, match=r"\.git"):
            box.write_file(path, "x")
    (box.root / "gitlink").symlink_to(box.root / ".git" / "config")
    with pytest.raises(SandboxError, match=r"\.git"):
        box.edit_file("gitlink", "[core]", "[core]\n\thooksPath=/tmp")
    assert (box.root / ".git" / "config").read_text() == "[core]\n"
    assert box.read_file(".git/config") == "     1\t[core]"


def test_grep(box: Sandbox):
    (box.root / "src" / "b.txt").write_text("f() here\n")
    assert box.grep(r"f\(\)") == "src/a.py:1:def f():\nsrc/a.py:4:print(f())\nsrc/b.txt:1:f() here"
    assert box.grep(r"f\(\)", glob="*.txt") == "src/b.txt:1:f() here"
    assert box.grep("nothing-like-this") == "no matches"
    (box.root / "many.txt").write_text("x\n" * 500)
    assert box.grep("x", path="many.txt").endswith("[stopped after 200 matches]")
    with pytest.raises(SandboxError, match="invalid regular expression"):
        box.grep("(")


def test_run_command_scrubs_secrets(box: Sandbox, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-xyzzy1")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.example/xyzzy2")
    monkeypatch.setenv("HARMLESS", "ok")
    b = Sandbox(box.root, command_timeout=5)
    text, is_error = b.dispatch("run_command", {"command": "env; pwd"})
    assert not is_error and "HARMLESS=ok" in text and "xyzzy" not in text and "ANTHROPIC_API_KEY" not in text
    assert str(b.root) in text and text.endswith("[exit code 0]")
    text, is_error = b.dispatch("run_command", {"command": "echo oops >&2; exit 3"})
    assert is_error and text == "oops\n\n[exit code 3]"


def test_endless_command_is_killed_with_its_children(box: Sandbox):
    b = Sandbox(box.root, command_timeout=0.5)
    command = "sleep 1000.25 & setsid sleep 1000.5 & sleep 1000"
    text, is_error = b.dispatch("run_command", {"command": command, "timeout": 60})
    assert is_error and text.endswith("[killed: timed out after 0.5s]")
    assert_gone("1000.25")
    assert_gone("1000.5")


def test_cancel_kills_a_running_command(box: Sandbox):
    cancel = threading.Event()
    b = Sandbox(box.root, command_timeout=60, cancel=cancel)
    threading.Timer(0.2, cancel.set).start()
    text, is_error = b.dispatch("run_command", {"command": "sleep 1000"})
    assert is_error and "cancelled" in text


def test_specs_and_dispatch_errors(box: Sandbox):
    names = [s["name"] for s in box.tool_specs()]
    assert names == ["read_file", "write_file", "edit_file", "list_dir", "grep", "run_command"]
    assert all(s["input_schema"]["type"] == "object" for s in box.tool_specs())
    assert box.dispatch("rm_rf", {}) == (
        "unknown tool 'rm_rf'; available: read_file, write_file, edit_file, list_dir, grep, run_command",
        True,
    )
    text, is_error = box.dispatch("write_file", {"path": "x"})
    assert is_error and "missing ['content']" in text
    text, is_error = box.dispatch("read_file", {"path": "src"})
    assert is_error and "no such file" in text
    assert box.dispatch("list_dir", {}) == (".git/\nsrc/", False)


def test_root_must_exist(tmp_path: Path):
    with pytest.raises(SandboxError):
        Sandbox(tmp_path / "nope")
    assert os.path.isdir(tmp_path)


def test_symlink_loop_is_a_clear_error(box: Sandbox):
    (box.root / "loop1").symlink_to(box.root / "loop2")
    (box.root / "loop2").symlink_to(box.root / "loop1")
    text, is_error = box.dispatch("read_file", {"path": "loop1"})
    assert is_error and text.startswith("loop1: ")
    text, is_error = box.dispatch("write_file", {"path": "loop1/x", "content": "x"})
    assert is_error and text.startswith("loop1/x: ")
