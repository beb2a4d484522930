"""The OS sandbox of commands a model or a plan chooses: every way out the reliability campaign tried.

A command of the api backend runs in bubblewrap with its worktree writable and nothing else: not the main
repository's .git (no planted hooks), not the home directory, not another folder; /tmp is its own; it has
no network and cannot see our processes (nor their environment); nothing it starts outlives it. Where
bubblewrap cannot run, commands are refused unless the config turns the sandbox off.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitrepo import isolate_git, make_repo, run
from test_stack_builds import assert_gone

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.confine import CommandPolicy
from claude_orchestrator.confine.policy import claude_code_sandbox_missing, run_notices
from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.errors import BuildError, SandboxUnavailableError
from claude_orchestrator.stack.launcher import run_project
from claude_orchestrator.stack.runner import execute_plan
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    FakeRequest,
    Reply,
    text_reply,
    tool_use_reply,
)
from claude_orchestrator.workers.base import WorkContext, WorkUnit
from claude_orchestrator.workers.claude_code import ClaudeCodeWorker, claude_code_sandbox
from claude_orchestrator.workers.sandbox import Sandbox

pytestmark = pytest.mark.skipif(not CommandPolicy.detect().confined, reason="bubblewrap cannot run here")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A main repository and a task worktree inside it, as a run lays them out."""
    isolate_git(monkeypatch, tmp_path)
    main = make_repo(tmp_path / "main")
    wt = main / ".taskmaster" / "worktrees" / "run1" / "1"
    run(main, "worktree", "add", "-q", "-b", "task1", str(wt))
    return main, wt


def box(wt: Path, main: Path, **kw: object) -> Sandbox:
    return Sandbox(wt, command_timeout=20, protect=(main / ".git",), **kw)  # type: ignore[arg-type]


def test_writes_outside_the_worktree_fail(repo: tuple[Path, Path], tmp_path: Path) -> None:
    main, wt = repo
    hook = main / ".git" / "hooks" / "post-commit"
    attempts = {
        "hook": f"printf '#!/bin/sh\\necho pwned\\n' > {hook} && chmod +x {hook}",
        "hook via git": 'git config --file "$(git rev-parse --git-common-dir)/config" core.hooksPath /tmp',
        "worktree .git": "echo 'gitdir: /tmp' > .git",
        "main folder": f"echo x > {main}/planted.txt",
        "sibling": f"echo x > {tmp_path}/sibling.txt",
        "home": 'echo x > "$HOME/planted-by-a-model.txt"',
        "system": "echo x > /usr/planted-by-a-model.txt",
    }
    sb = box(wt, main)
    for name, command in attempts.items():
        text, is_error = sb.dispatch("run_command", {"command": command})
        if name in ("main folder", "sibling"):
            continue  # under /tmp (pytest's tmp_path): the write lands in the command's private /tmp
        assert is_error, f"{name}: {text}"
        assert "Read-only file system" in text or "Permission denied" in text, f"{name}: {text}"
    assert not hook.exists() and not (main / "planted.txt").exists()
    assert not (tmp_path / "sibling.txt").exists() and not (Path.home() / "planted-by-a-model.txt").exists()
    assert not Path("/usr/planted-by-a-model.txt").exists()
    assert "hookspath" not in (main / ".git" / "config").read_text().lower()
    assert (wt / ".git").read_text().startswith("gitdir: ")
    text, is_error = sb.dispatch("run_command", {"command": "echo made > inside.txt && git status --short"})
    assert not is_error and (wt / "inside.txt").read_text() == "made\n" and "inside.txt" in text


def test_tmp_is_private_and_our_processes_are_invisible(
    repo: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main, wt = repo
    monkeypatch.setenv("CANARY_SECRET_TOKEN", "canary-in-our-environ-7")
    (tmp_path / "host-only.txt").write_text("host")
    sb = box(wt, main)
    text, _ = sb.dispatch("run_command", {"command": f"ls {tmp_path}/host-only.txt; echo t > /tmp/mine"})
    assert "No such file" in text and not Path("/tmp/mine").exists()
    text, _ = sb.dispatch("run_command", {"command": "cat /proc/[0-9]*/environ | tr '\\0' '\\n'; ls /proc"})
    assert "canary-in-our-environ-7" not in text
    assert len([p for p in text.split() if p.isdigit()]) < 10  # only the command's own processes


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on the host's loopback that answers 'hello' to whoever connects."""
    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"hello\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    srv.close()


def test_no_network_unless_configured(repo: tuple[Path, Path], listener: int) -> None:
    main, wt = repo
    command = f"exec 3<>/dev/tcp/127.0.0.1/{listener} && head -1 <&3"
    text, is_error = box(wt, main).dispatch("run_command", {"command": command})
    assert is_error and "hello" not in text
    networked = CommandPolicy.detect(network=True)
    text, is_error = box(wt, main, policy=networked).dispatch("run_command", {"command": command})
    assert not is_error and text.startswith("hello")


def test_nothing_outlives_the_command(repo: tuple[Path, Path]) -> None:
    main, wt = repo
    command = "(setsid env -i /bin/sleep 1000.75 &) ; nohup sleep 1000.875 >/dev/null 2>&1 & echo started"
    text, is_error = box(wt, main).dispatch("run_command", {"command": command})
    assert not is_error and text.startswith("started")
    assert_gone("1000.75")  # left the group and dropped the marker: the PID namespace still ends it
    assert_gone("1000.875")


def test_refused_where_bubblewrap_cannot_run_unless_off(repo: tuple[Path, Path]) -> None:
    main, wt = repo
    missing = CommandPolicy.detect(bwrap=None)
    text, is_error = box(wt, main, policy=missing).dispatch("run_command", {"command": "touch x"})
    assert is_error and "command refused: no OS sandbox" in text and 'execution.sandbox to "off"' in text
    assert not (wt / "x").exists()
    off = CommandPolicy.detect("off", bwrap=None)
    text, is_error = box(wt, main, policy=off).dispatch("run_command", {"command": f"touch {main}/x"})
    assert not is_error and (main / "x").exists()  # the user's explicit choice: unconfined


def test_the_run_says_so_at_its_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert run_notices(OrchestratorConfig(), {"api", "build"}) == []
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    (notice,) = run_notices(OrchestratorConfig(), {"api"})
    assert notice.startswith("no OS sandbox (bubblewrap (bwrap) is not installed)") and "refused" in notice
    off = OrchestratorConfig.model_validate({"execution": {"sandbox": "off"}})
    assert run_notices(off, {"build"}) == [
        'execution.sandbox is "off": commands a model or a plan chooses run unconfined'
    ]


def test_plan_steps_are_confined(tmp_path: Path, listener: int) -> None:
    outside = tmp_path / "escaped.txt"
    escape = f"echo x > {outside}; echo y > $HOME/escaped-from-a-plan.txt"
    plan = {"name": "p", "files": {"main.py": "print('hi')\n"}, "post_install": [escape]}
    with pytest.raises(BuildError, match="post_install 1"):
        execute_plan(plan, tmp_path / "out", allow_commands=True)
    assert not outside.exists() and not (Path.home() / "escaped-from-a-plan.txt").exists()
    fetch = f"exec 3<>/dev/tcp/127.0.0.1/{listener} && head -1 <&3"
    plan = {"name": "q", "files": {"main.py": "print('hi')\n"}, "run": f"bash -c '{fetch}'"}
    result = execute_plan(plan, tmp_path / "out")
    lines: list[str] = []
    assert run_project(result.project_dir, timeout=30, on_output=lines.append) != 0
    assert "hello" not in lines


def test_execute_is_refused_before_writing_where_bubblewrap_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(SandboxUnavailableError, match="no OS sandbox"):
        execute_plan({"name": "p", "files": {"main.py": ""}}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_claude_code_sessions_get_its_sandbox() -> None:
    settings, no_bash = claude_code_sandbox(OrchestratorConfig())
    if claude_code_sandbox_missing() is None:
        assert settings is not None and not no_bash
        assert settings["enabled"] and settings["allowUnsandboxedCommands"] is False
        assert settings["network"] == {"allowedDomains": [], "allowLocalBinding": False}
    else:
        assert settings is None and no_bash  # Bash is withheld, as the api backend refuses commands
    net = OrchestratorConfig.model_validate({"execution": {"sandbox_network": True}})
    assert "network" not in (claude_code_sandbox(net)[0] or {})
    for off in ({"sandbox": "off"}, {"claude_code_sandbox": False}):
        assert claude_code_sandbox(OrchestratorConfig.model_validate({"execution": off})) == (None, False)


@pytest.mark.skipif(find_claude_cli() is None, reason="Claude Code CLI not bundled")
@pytest.mark.skipif(claude_code_sandbox_missing() is not None, reason="Claude Code's sandbox cannot run here")
@pytest.mark.claude_cli
def test_claude_code_bash_cannot_write_outside_its_worktree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-confine")  # for the fake model only
    wd, home = tmp_path / "wt", tmp_path / "home"
    wd.mkdir()
    home.mkdir()
    (wd / ".git").write_text("gitdir: /nowhere\n")
    command = f"echo in > inside.txt; echo out > {home}/outside.txt; echo x >> .git; echo finished"

    def model(req: FakeRequest) -> Reply:
        if not req.has_tool("Bash"):
            return text_reply("title")  # Claude Code's side requests
        return text_reply("Done.") if req.tool_results else tool_use_reply("Bash", {"command": command})

    unit = WorkUnit(unit_id="1", task_id="1", title="Write files")
    with FakeAnthropic(model=model) as fake:
        ctx = WorkContext(
            workdir=wd, env={"ANTHROPIC_BASE_URL": fake.base_url, "HOME": str(home)}, timeout_s=120
        )
        result = ClaudeCodeWorker(OrchestratorConfig()).run(unit, ctx)
        output = str([r.tool_results for r in fake.requests if r.tool_results])
    assert result.ok, result.error
    assert "finished" in output and "Read-only file system" in output
    assert (wd / "inside.txt").read_text() == "in\n"
    assert not (home / "outside.txt").exists() and (wd / ".git").read_text() == "gitdir: /nowhere\n"
