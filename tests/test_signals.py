"""Ctrl-C and SIGTERM at any moment: one line, "Interrupted.", exit 130; never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HELD = """
import os, signal, sys
from claude_orchestrator.cli import boot
boot.hold()  # what the console scripts do first
os.kill(os.getpid(), getattr(signal, sys.argv[1]))  # arrives while the program is still starting
from claude_orchestrator.cli.main import main
main(["status"])
"""


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_during_start_up_is_one_line(name: str, tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-c", HELD, name], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (r.returncode, r.stderr, r.stdout) == (130, "Interrupted.\n", "")


def test_sigterm_during_a_command_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "run.sh").write_text("echo up; exec sleep 1000.625\n")
    boot = "from claude_orchestrator.cli.boot import claude_orchestrator as m; m()"
    cfg = tmp_path / "cfg.json"
    cfg.write_text('{"execution": {"sandbox": "off"}}')
    proc = subprocess.Popen(
        [sys.executable, "-c", boot, "run-project", str(project), "--config", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.stdout is not None and proc.stdout.readline() == "up\n"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert (proc.returncode, err) == (130, "Interrupted.\n")
    from test_stack_builds import assert_gone

    assert_gone("1000.625")  # the project's process group went with it


def test_a_git_killed_by_the_terminals_ctrl_c_is_a_stop_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Git runs in its own session, but a Ctrl-C sent to the whole group in the instant before it left
    ours kills it. That is the stop arriving (the run's flag is set a moment later), not a bug: one line
    in the log, no traceback."""
    from claude_orchestrator.errors import GitInterruptedError
    from claude_orchestrator.workers.base import WorkContext, WorkResult, WorkUnit, run_worker
    from claude_orchestrator.workspace.gitops import GitRunner

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    kill_self = ("-c", "alias.die=!kill -INT $PPID", "die")  # git's alias shell signals git itself

    class Worker:
        name = "w"

        def run(self, unit: WorkUnit, ctx: WorkContext) -> WorkResult:
            raise AssertionError("never reached: its workdir could not be made")

    def make_ctx() -> WorkContext:
        GitRunner().run(tmp_path, *kill_self)
        return WorkContext(tmp_path)

    with pytest.raises(GitInterruptedError, match="interrupted by SIGINT"):
        make_ctx()
    with caplog.at_level("INFO"):
        res = run_worker(Worker(), WorkUnit("1", "1", "t"), make_ctx, stopped=lambda: False)
    assert not res.ok and "GitInterruptedError" in (res.error or "")
    assert [r.exc_info for r in caplog.records] == [None] and "stopped on unit 1" in caplog.text
