"""The one process-group runner and the one secret policy (claude_orchestrator.process)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from claude_orchestrator.confine import CommandPolicy
from claude_orchestrator.errors import BuildError
from claude_orchestrator.process import (
    MARKER_VAR,
    is_secret_name,
    run_process_group,
    scrubbed_env,
    tree_pids,
)
from claude_orchestrator.stack.proc import StepLog, run_step
from claude_orchestrator.workers.sandbox import Sandbox

CANARIES = {
    "CANARY_SECRET_TOKEN": "canary-0001",
    "GITHUB_TOKEN": "canary-0002",
    "AWS_SECRET_ACCESS_KEY": "canary-0003",
    "AWS_ACCESS_KEY_ID": "canary-0004",
    "OPENAI_API_KEY": "canary-0005",
    "ANTHROPIC_API_KEY": "canary-0006",
    "ANTHROPIC_AUTH_TOKEN": "canary-0007",
    "SLACK_WEBHOOK_URL": "canary-0008",
    "AZURE_CLIENT_SECRET": "canary-0009",
    "GOOGLE_APPLICATION_CREDENTIALS": "canary-0010",
    "DB_PASSWORD": "canary-0011",
    "SENTRY_DSN": "canary-0012",
    "STRIPE_KEY": "canary-0013",
    "CLAUDE_CODE_OAUTH_TOKEN": "canary-0014",
}
needs_setsid = pytest.mark.skipif(shutil.which("setsid") is None, reason="setsid(1) is not installed")


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("name", sorted(CANARIES))
def test_secret_looking_names_are_secret(name: str) -> None:
    assert is_secret_name(name)


ORDINARY = (
    "PATH HOME PWD OLDPWD LANG TERM VIRTUAL_ENV GOFLAGS SSH_AUTH_SOCK AWS_REGION TOKENIZERS_PARALLELISM"
)


@pytest.mark.parametrize("name", ORDINARY.split())
def test_ordinary_names_pass(name: str) -> None:
    assert not is_secret_name(name)


def test_scrubbed_env_drops_secrets_keeps_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in CANARIES.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    env = scrubbed_env(extra={"GOFLAGS": "-mod=mod"}, path_prepend=[Path("/opt/tool/bin")])
    assert not set(CANARIES) & set(env)
    assert env["HARMLESS_SETTING"] == "visible" and env["GOFLAGS"] == "-mod=mod"
    assert env["PATH"].startswith("/opt/tool/bin" + os.pathsep)


def test_a_command_never_sees_a_secret_even_when_handed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in CANARIES.items():
        monkeypatch.setenv(k, v)
    for env in (None, {**os.environ}):
        r = run_process_group(["env"], cwd=tmp_path, env=env)
        assert r.ok and "canary-" not in r.stdout
        assert f"{MARKER_VAR}=" in r.stdout and "PATH=" in r.stdout


def test_timeout_kills_a_background_child(tmp_path: Path) -> None:
    r = run_process_group(["bash", "-c", "sleep 1000 & echo $!; sleep 1000"], cwd=tmp_path, timeout=0.3)
    assert r.timed_out and not r.ok
    assert not alive(int(r.stdout.split()[0]))
    assert tree_pids(r.pid) == set()


@needs_setsid
def test_timeout_kills_a_child_that_left_the_group(tmp_path: Path) -> None:
    inner = "read -r _ _ _ _ _ sid _ < /proc/$$/stat; echo $$ $sid; exec sleep 1000"
    r = run_process_group(["bash", "-c", f"setsid bash -c '{inner}' & sleep 1000"], cwd=tmp_path, timeout=0.5)
    assert r.timed_out
    child, session = map(int, r.stdout.split())
    assert child == session != r.pid  # it led a session of its own, outside the command's group
    assert not alive(child)


@needs_setsid
def test_a_daemonized_leftover_is_reaped_when_the_command_exits(tmp_path: Path) -> None:
    # double fork + setsid: the sleep is re-parented away from the command and out of its group
    script = "( setsid bash -c 'echo $$; exec sleep 1000' & ); sleep 0.2"
    r = run_process_group(["bash", "-c", script], cwd=tmp_path, timeout=30)
    assert r.ok and not alive(int(r.stdout.split()[0]))


def test_cancel_stops_a_command_that_ignores_term(tmp_path: Path) -> None:
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    r = run_process_group(
        ["bash", "-c", "trap '' TERM; sleep 1000"], cwd=tmp_path, cancel=cancel, term_grace=0.2
    )
    assert r.cancelled and not alive(r.pid) and tree_pids(r.pid) == set()


def test_output_to_a_log_or_line_by_line(tmp_path: Path) -> None:
    log = tmp_path / "log"
    with log.open("ab") as fh:
        r = run_process_group(["bash", "-c", "echo out; echo err >&2; exit 3"], cwd=tmp_path, log=fh)
    assert r.returncode == 3 and r.stdout == "" and log.read_text() == "out\nerr\n"
    lines: list[str] = []
    r = run_process_group(["bash", "-c", "echo a; echo b >&2; echo c"], cwd=tmp_path, on_line=lines.append)
    assert r.ok and lines == ["a", "b", "c"]


def test_interrupt_kills_the_tree(tmp_path: Path) -> None:
    pids: list[int] = []

    def on_start(proc: object) -> None:
        pids.append(getattr(proc, "pid"))  # noqa: B009
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_process_group(["sleep", "1000"], cwd=tmp_path, on_start=on_start)
    assert pids and not alive(pids[0])


def test_a_ctrl_c_while_a_command_starts_still_kills_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that comes after the command started but before its wait began (its output readers are
    starting) used to leave it running."""
    from test_stack_builds import assert_gone

    from claude_orchestrator.process import runner as process

    start_io = process._start_io

    def ctrl_c_then_start_io(*args: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)
        return start_io(*args)

    monkeypatch.setattr(process, "_start_io", ctrl_c_then_start_io)
    with pytest.raises(KeyboardInterrupt):
        run_process_group(["sleep", "1000.375"], cwd=tmp_path)
    assert_gone("1000.375")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # nothing held any more


@needs_setsid
def test_build_step_and_model_command_timeouts_reach_setsid_children(tmp_path: Path) -> None:
    def script(pidfile: str) -> str:  # the leader waits until its setsid child has written its pid
        inner = f"echo $$ > {pidfile}; exec sleep 1000"
        return f"setsid bash -c '{inner}' & while [ ! -s {pidfile} ]; do sleep 0.01; done; sleep 1000"

    with pytest.raises(BuildError, match="timed out after 1s"):
        run_step(
            "hang",
            ["bash", "-c", script("step.pid")],
            cwd=tmp_path,
            log=StepLog(tmp_path / "b.log"),
            timeout=1,
        )
    unconfined = CommandPolicy.detect("off")  # the process module's own reach (bwrap adds a PID namespace)
    text, is_error = Sandbox(tmp_path, command_timeout=1, policy=unconfined).dispatch(
        "run_command", {"command": script("cmd.pid")}
    )
    assert is_error and text.endswith("[killed: timed out after 1s]")
    pids = [int((tmp_path / f).read_text()) for f in ("step.pid", "cmd.pid")]
    assert not [p for p in pids if alive(p)]


def test_a_threads_mark_reaches_only_the_commands_that_thread_starts(tmp_path: Path):
    """A Ray node runs several attempts in one process: each marks its own commands (process.marked)."""
    from claude_orchestrator.process import marked

    seen: dict[str, str] = {}
    together = threading.Barrier(3, timeout=30)

    def run(name: str, mark: str | None) -> None:
        with marked({"ORCH_TEST_MARK": mark}) if mark else contextlib.nullcontext():
            together.wait()  # the three threads are inside their blocks at once
            r = run_process_group(["sh", "-c", 'echo "${ORCH_TEST_MARK:-none}"'], cwd=tmp_path)
        seen[name] = r.stdout.strip()

    threads = [threading.Thread(target=run, args=a) for a in (("a", "one"), ("b", "two"), ("c", None))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert seen == {"a": "one", "b": "two", "c": "none"}
    assert "ORCH_TEST_MARK" not in scrubbed_env()  # the mark ended with its block
