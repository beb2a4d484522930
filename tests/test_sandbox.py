"""The api backend's sandboxed tools: they work inside the worktree and refuse every way out."""

from __future__ import annotations

import contextlib
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


def test_a_link_swapped_in_after_the_check_is_never_written_through(box: Sandbox, tmp_path: Path):
    """200 writes to a file and 200 to a file in a folder while a thread keeps swapping each for a link
    out: every write lands inside or is refused, none outside."""
    outside_dir = tmp_path / "outside-dir"
    outside_dir.mkdir()
    secret = tmp_path / "outside.txt"
    root = box.root
    stop = threading.Event()

    def attempt(fn, *args) -> None:  # type: ignore[no-untyped-def]
        with contextlib.suppress(OSError):
            fn(*args)

    def swap() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            link, plain, away = root / f".l{n}", root / f".p{n}", root / f".d{n}"
            attempt(os.symlink, secret, link)
            attempt(os.replace, link, root / "target.txt")
            attempt(plain.write_text, "plain")
            attempt(os.replace, plain, root / "target.txt")
            attempt(os.rename, root / "d", away)
            attempt(os.symlink, outside_dir, root / "d")
            attempt(os.unlink, root / "d")
            attempt(os.rename, away, root / "d")

    (root / "d").mkdir()
    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    outcomes: dict[str, int] = {"written": 0, "refused": 0}
    try:
        for i in range(200):
            for path in ("target.txt", "d/f.txt"):
                _, is_error = box.dispatch("write_file", {"path": path, "content": f"write {i}\n"})
                outcomes["refused" if is_error else "written"] += 1
    finally:
        stop.set()
        swapper.join()
    assert secret.read_text() == "secret\n" and list(outside_dir.iterdir()) == []
    assert outcomes["written"] > 0 and sum(outcomes.values()) == 400


def test_a_hard_link_to_an_outside_file_is_never_written_through(box: Sandbox, tmp_path: Path):
    os.link(tmp_path / "outside.txt", box.root / "hl.txt")
    assert box.read_file("hl.txt") == "     1\tsecret"  # the link is the model's own file now
    assert box.write_file("hl.txt", "mine\n") == "wrote 5 bytes to hl.txt"
    os.link(tmp_path / "outside.txt", box.root / "hl2.txt")
    assert box.edit_file("hl2.txt", "secret", "edited") == "edited hl2.txt"
    assert (tmp_path / "outside.txt").read_text() == "secret\n"
    assert (box.root / "hl.txt").read_text() == "mine\n" and (box.root / "hl2.txt").read_text() == "edited\n"


def test_writes_replace_and_keep_the_mode(box: Sandbox):
    script = box.root / "run.sh"
    script.write_text("echo one\n")
    script.chmod(0o755)
    box.edit_file("run.sh", "one", "two")
    assert script.read_text() == "echo two\n" and script.stat().st_mode & 0o777 == 0o755
    (box.root / "inner").symlink_to("src/a.py")  # a link that stays inside: its target is replaced
    box.write_file("inner", "x = 1\n")
    assert (box.root / "src" / "a.py").read_text() == "x = 1\n" and (box.root / "inner").is_symlink()
    assert [p.name for p in box.root.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(
    "path",
    ["..", "../outside.txt", "src/../../outside.txt", "/", "/etc/passwd", "./../wt/../outside.txt"],
)
def test_dot_dot_and_absolute_paths_out(box: Sandbox, path: str):
    for tool, args in (("write_file", {"content": "x"}), ("edit_file", {"old": "secret", "new": "x"})):
        text, is_error = box.dispatch(tool, {"path": path, **args})
        assert is_error and "outside the workspace" in text
    assert (box.root.parent / "outside.txt").read_text() == "secret\n"
    assert box.write_file(str(box.root / "src" / ".." / "abs.txt"), "ok") == "wrote 2 bytes to abs.txt"


def test_a_fifo_does_not_hang_a_read(box: Sandbox):
    os.mkfifo(box.root / "pipe")
    text, is_error = box.dispatch("read_file", {"path": "pipe"})
    assert is_error and "no such file" in text
    assert box.grep("anything") == "no matches"
