"""Run control through the MCP server: run_tasks starts `claude-orchestrator run` as a detached process and
answers at once, run_status / run_log read its run folder, cancel_run stops it as Ctrl-C does. The workers
are the `api` backend on the real anthropic SDK against the loopback fake, held at will by the test."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from mcp_helpers import Session, session
from run_helpers import make_project as make_repo
from run_helpers import tasks_of
from test_engine import plan_tasks
from test_mcp_tools import call

from claude_orchestrator.mcp import build_server, runs
from claude_orchestrator.testing.demo_model import FILES, demo_model
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, FakeRequest, Reply

pytestmark = pytest.mark.slow


class HeldModel:
    """The demo model, whose workers wait for `release` after telling `started` that one has begun."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, req: FakeRequest) -> Reply:
        if req.has_tool("write_file") and not req.tool_results:
            self.started.set()
            self.release.wait(120)
        return demo_model(req)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Any:
    model = HeldModel()
    with FakeAnthropic(model=model) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-mcp-runs")
        monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
        yield model
        model.release.set()


@pytest.fixture
def mcp() -> Any:
    with session(build_server("core")) as s:
        yield s


def repo(tmp_path: Path, ids: list[int], grace: float | None = None) -> Path:
    root = make_repo(tmp_path / "p", plan_tasks(ids))
    if grace is not None:
        cfg_path = root / "orchestrator_config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg["execution"]["shutdown_grace_seconds"] = grace
        cfg_path.write_text(json.dumps(cfg))
        import subprocess

        subprocess.run(["git", "-C", str(root), "commit", "-qam", "grace"], check=True)
    return root


def test_run_tasks_starts_a_run_that_status_and_log_follow(
    mcp: Session, held: HeldModel, tmp_path: Path
) -> None:
    root = repo(tmp_path, [1, 2, 6])
    started = call(mcp, root, "run_tasks", backend="api", workers=2, noReview=True).data
    assert started["status"] == "running" and started["runId"]
    run_id, pid = started["runId"], started["pid"]
    assert held.started.wait(120)  # a worker is at work, held by the test

    again = call(mcp, root, "run_tasks", backend="api")
    assert again.is_error and f"run {run_id} is still running (pid {pid})" in again.text

    live = call(mcp, root, "run_status").data
    assert live["runId"] == run_id and live["status"] == "running"
    running = [t for t in live["tasks"] if t["state"] == "running"]
    assert running and running[0]["worker"].startswith("w") and running[0]["attempt"] == 1
    assert live["budget"]["costUsd"] >= 0 and "mergeQueue" in live

    held.release.set()
    assert runs.wait_for_exit(pid, 180)
    done = call(mcp, root, "run_status", runId=run_id).data
    assert done["status"] == "completed", done
    assert {t["id"]: t["state"] for t in done["tasks"]} == {"1": "done", "2": "done", "6": "done"}
    assert sorted(done["merged"]) == ["1", "2", "6"] and done["mergeQueue"] == []
    assert all(t["costUsd"] > 0 for t in done["tasks"])
    assert done["counts"]["done"] == 3 and done["budget"]["costUsd"] > 0
    for tid in (1, 2, 6):
        path, content = FILES[tid]
        assert (root / path).read_text() == content
        assert tasks_of(root)[str(tid)]["status"] == "done"

    log = call(mcp, root, "run_log", lines=3).data
    assert log["finished"] is True and len(log["events"]) == 3
    assert f"run {run_id} completed: 3 done" in log["events"][-1]
    task_log = call(mcp, root, "run_log", taskId="2", raw=True, lines=50).data
    assert {e["task_id"] for e in task_log["events"]} == {"2"}
    assert {"task_started", "task_completed"} <= {e["kind"] for e in task_log["events"]}

    nothing = call(mcp, root, "run_tasks", backend="api").data
    assert nothing["status"] == "nothing-to-do" and nothing["runId"] is None


def test_cancel_run_stops_it_like_ctrl_c(mcp: Session, held: HeldModel, tmp_path: Path) -> None:
    root = repo(tmp_path, [1, 2], grace=0.5)
    started = call(mcp, root, "run_tasks", backend="api", workers=1, noReview=True).data
    assert held.started.wait(120)
    cancelled = call(mcp, root, "cancel_run").data
    assert cancelled["runId"] == started["runId"] and cancelled["signalled"]
    held.release.set()  # the worker's model call returns; the run then stops instead of going on
    assert runs.wait_for_exit(started["pid"], 180)
    after = call(mcp, root, "run_status").data
    assert after["status"] == "stopped", after
    assert tasks_of(root)["2"]["status"] == "pending"  # it never started
    again = call(mcp, root, "cancel_run")
    assert again.is_error and "is not running" in again.text


def test_a_run_that_cannot_start_says_why(mcp: Session, held: HeldModel, tmp_path: Path) -> None:
    root = repo(tmp_path, [1])
    (root / ".taskmaster" / "tasks" / "tasks.json").write_text(
        json.dumps({"master": {"tasks": [dict(plan_tasks([1])[0], dependencies=[9])]}})
    )
    r = call(mcp, root, "run_tasks", backend="api")
    assert r.is_error and "the run did not start" in r.text and "9" in r.text
    assert runs.active_run(root) is None
    assert "withDeps needs `ids`" in call(mcp, root, "run_tasks", withDeps=True).text
    missing = call(mcp, root, "run_status", runId="nope")
    assert missing.is_error and "no run 'nope'" in missing.text
