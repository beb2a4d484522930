"""Exactly once: work already merged is done and never runs again; a stop is an interruption, not a
failure. Real git repositories, the api backend through the real SDK against the fake model."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from run_helpers import git, tasks_of
from run_helpers import make_project as make_repo
from run_helpers import task as _task
from test_engine import _writer, env_fake, run_cli, worker_starts

from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.taskmaster.store import TaskStore
from claude_orchestrator.testing.demo_model import FILES, demo_model

__all__ = ["env_fake"]  # the fixture, shared with test_engine


def expected(uid: str) -> tuple[str, str]:
    """The file the demo model's worker writes for a task."""
    if uid.isdigit() and int(uid) in FILES:
        return FILES[int(uid)]
    return f"notes/task-{uid}.md", f"# Task {uid}\n\nDone by the demo worker.\n"


def per_task_commits(root: Path) -> list[str]:
    subjects = git(root, "log", "--format=%s", "main").splitlines()
    return [s for s in subjects if re.match(r"\[orchestrator\] Task \d+:", s)]


def set_pending(root: Path, tid: str, *, forget: bool = False) -> None:
    store = TaskStore(root)
    with store.edit(store.current_tag()) as data:
        item = data.find(tid)
        item.status = "pending"
        if forget:
            item.extra.pop("metadata", None)


def test_a_merged_task_set_back_to_pending_is_done_not_run(tmp_path: Path, env_fake: Any) -> None:
    root = make_repo(tmp_path / "p", [_task(1), _task(2, [1])])
    fake = env_fake(_writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n")}))
    assert run_cli(root, "--backend", "api", "--no-review").exit_code == 0
    set_pending(root, "1")
    before = len(worker_starts(fake))
    res = run_cli(root, "--backend", "api", "--no-review")
    assert res.exit_code == 0, res.output
    assert "task 1: its work is already in main" in res.output
    assert worker_starts(fake)[before:] == []  # nothing ran again
    assert all(t["status"] == "done" for t in tasks_of(root).values())
    assert len(per_task_commits(root)) == 2


def test_a_run_killed_between_merge_and_record_resumes_without_rerunning(
    tmp_path: Path, env_fake: Any
) -> None:
    """The state `kill -9` leaves right after task 2's merge: the branch is in main, but neither
    tasks.json nor the run's journal says so, and the run is still marked running."""
    root = make_repo(tmp_path / "p", [_task(1), _task(2, [1]), _task(3, [2])])
    fake = env_fake(_writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n"), "3": ("c.txt", "c\n")}))
    assert run_cli(root, "--backend", "api", "--no-review", "--id", "1,2").exit_code == 0
    run_dir = next((root / ".taskmaster" / "runs").iterdir())
    meta = json.loads((run_dir / "run.json").read_text())
    dead = subprocess.Popen(["true"])
    dead.wait()
    (run_dir / "run.json").write_text(json.dumps({**meta, "status": "running", "pid": dead.pid}))
    events = (run_dir / "events.ndjson").read_text().splitlines()
    kept = [e for e in events if json.loads(e).get("task_id") != "2"]
    (run_dir / "events.ndjson").write_text("\n".join(kept) + "\n")
    set_pending(root, "2", forget=True)
    before = len(worker_starts(fake))
    res = run_cli(root, "--backend", "api", "--no-review")
    assert res.exit_code == 0, res.output
    assert "resuming run" in res.output and "task 2: its work is already in main" in res.output
    assert worker_starts(fake)[before:] == ["3"]
    assert all(t["status"] == "done" for t in tasks_of(root).values())
    assert len(per_task_commits(root)) == 3


def _start_run(root: Path, workers: int = 3) -> subprocess.Popen[bytes]:
    script = (
        "import sys\nfrom claude_orchestrator.cli.main import main\n"
        f"main(['run', '--working-dir', sys.argv[1], '--backend', 'api', '--no-progress', '--no-review', "
        f"'--workers', '{workers}'])\n"
    )
    return subprocess.Popen(  # its own process group, as a terminal's foreground job
        [sys.executable, "-c", script, str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait_for(root: Path, status: str, count: int = 1) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if sum(t["status"] == status for t in tasks_of(root).values()) >= count:
                return
        except (json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.01)
    raise AssertionError(f"no task became {status}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_double_interrupt_fails_nothing(tmp_path: Path, env_fake: Any, signum: int) -> None:
    """Two Ctrl-C (to the whole process group, as a terminal sends them) while tasks are being prepared,
    worked and merged: the run stops, no task is failed, and the next run finishes them all."""
    n = 8
    root = make_repo(tmp_path / "p", [_task(i) for i in range(1, n + 1)])
    env_fake(_writer({str(i): (f"f{i}.txt", f"{i}\n") for i in range(1, n + 1)}), latency=0.05)
    proc = _start_run(root)
    _wait_for(root, "in-progress")
    os.killpg(proc.pid, signum)
    time.sleep(0.05)
    os.killpg(proc.pid, signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), err  # done before the stop took, or stopped
    assert b"Traceback" not in err and b"Exception ignored" not in err, err
    statuses = {k: t["status"] for k, t in tasks_of(root).items()}
    assert "blocked" not in statuses.values(), statuses
    res = run_cli(root, "--backend", "api", "--no-review")
    assert res.exit_code == 0, res.output
    assert all(t["status"] == "done" for t in tasks_of(root).values())
    assert len(per_task_commits(root)) == n


def _merged_events(root: Path) -> int:
    runs = root / ".taskmaster" / "runs"
    try:
        return sum(f.read_text().count('"task_merged"') for f in runs.glob("*/events.ndjson"))
    except OSError:
        return 0


def _statuses(root: Path) -> list[str]:
    try:
        return [t["status"] for t in tasks_of(root).values()]
    except (json.JSONDecodeError, KeyError, OSError):
        return []


KILL_POINTS = {  # while the first task works; right after a merge (maybe before its record); later on
    "working": lambda root: "in-progress" in _statuses(root),
    "merged": lambda root: _merged_events(root) >= 1,
    "two done": lambda root: _statuses(root).count("done") >= 2,
    "three merged": lambda root: _merged_events(root) >= 3,
}
BACKENDS = [
    "api",
    pytest.param(
        "claude-code",
        marks=[
            pytest.mark.claude_cli,
            pytest.mark.skipif(find_claude_cli() is None, reason="Claude Code CLI not bundled"),
        ],
    ),
]


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_at_any_point_then_one_run_finishes_exactly_once(
    tmp_path: Path, env_fake: Any, backend: str, point: str
) -> None:
    n = 4
    root = make_repo(tmp_path / "p", [_task(i, [i - 1] if i > 1 else []) for i in range(1, n + 1)])
    fake = env_fake(demo_model)
    argv = ["run", "--working-dir", str(root), "--backend", backend, "--no-progress", "--workers", "2"]
    script = f"from claude_orchestrator.cli.main import main\nmain({argv!r})\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not KILL_POINTS[point](root) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.kill()  # kill -9 of the run's process
    proc.wait()
    done_at_kill = {k for k, t in tasks_of(root).items() if t["status"] == "done"}
    before = len(worker_starts(fake))
    res = run_cli(root, "--backend", backend)
    assert res.exit_code == 0, res.output
    assert set(worker_starts(fake)[before:]).isdisjoint(done_at_kill), "a finished task ran again"
    assert all(s == "done" for s in _statuses(root))
    assert sorted(per_task_commits(root)) == sorted(
        f"[orchestrator] Task {i}: Task number {i}" for i in range(1, n + 1)
    )
    for i in range(1, n + 1):
        path, body = expected(str(i))
        assert (root / path).read_text() == body
    assert subprocess.run(["git", "fsck", "--no-progress"], cwd=root, capture_output=True).returncode == 0


def test_a_worktree_added_but_never_checked_out_is_checked_out_when_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kill -9` right after `git worktree add --no-checkout`, before its marker: the resumed run's
    worktree must hold the files (it used to start empty, and the task's commit failed)."""
    from gitrepo import isolate_git
    from gitrepo import make_repo as plain_repo

    from claude_orchestrator.config import GitConfig
    from claude_orchestrator.workspace.git import GitWorkspace

    isolate_git(monkeypatch, tmp_path)
    repo = plain_repo(tmp_path / "r")
    ws = GitWorkspace.open(repo, "run1", GitConfig())
    assert isinstance(ws, GitWorkspace)
    path = ws.run_dir / "1"
    git(repo, "worktree", "add", "-q", "--no-checkout", "--no-track", "-b", ws.branch("1"), str(path), "main")
    assert sorted(p.name for p in ws.prepare("1").iterdir()) == [".git", "a.txt", "b.txt"]
    assert git(path, "status", "--porcelain") == ""
