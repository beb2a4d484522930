"""One outcome: the RunReport. The printed report, run.json and summary.json are written from it, from
memory; summary.json matches what the event log of the same run rebuilds (the crashed-run path)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from run_helpers import make_project as make_repo
from run_helpers import task as _task
from test_engine import _writer, env_fake  # noqa: F401  (env_fake: a fixture)

from claude_orchestrator.testing.demo_model import request_text
from claude_orchestrator.testing.fake_anthropic import FakeRequest, Reply, error_reply


def subtask(sid: int, deps: list[int] | None = None) -> dict[str, Any]:
    return {
        "id": sid,
        "title": f"Part {sid}",
        "description": f"part {sid}",
        "status": "pending",
        "dependencies": deps or [],
    }


def test_report_summary_and_run_record_come_from_one_outcome(tmp_path: Path, env_fake: Any):  # noqa: F811
    from claude_orchestrator.config import load_config
    from claude_orchestrator.run.engine import RunEngine, RunOptions
    from claude_orchestrator.run.folder import read_summary, summary_from_events
    from claude_orchestrator.taskmaster.store import TaskStore

    tasks = [_task(1, subtasks=[subtask(1), subtask(2, [1])]), _task(2, [1]), _task(3), _task(4, [3])]
    root = make_repo(tmp_path / "p", tasks)
    inner = _writer({"1.1": ("a.txt", "a\n"), "1.2": ("b.txt", "b\n"), "2": ("c.txt", "c\n")})

    def model(req: FakeRequest) -> Reply:
        return error_reply(400, "no way") if "# Task 3:" in request_text(req) else inner(req)

    env_fake(model)
    cfg = load_config(None, start=root)
    cfg.execution.max_retries = 0
    report = RunEngine(
        TaskStore.discover(root), cfg, RunOptions(backend="api", review=False, no_progress=True)
    ).run()
    assert (report.status, report.exit_code) == ("failed", 1)
    assert report.done == ["1.1", "1.2", "2"] and report.groups_done == ["1"]
    assert list(report.failed) == ["3"] and "no way" in report.failed["3"] and report.blocked == {"4": ["3"]}
    assert report.cost_usd > 0 and report.tokens_by_role["worker"].input > 0

    run_path = report.run_path
    assert run_path is not None
    written = read_summary(run_path)
    assert written is not None and written == report.summary()
    rebuilt = summary_from_events(run_path)
    for key in (
        "run_id",
        "status",
        "tasks_done",
        "tasks_failed",
        "tasks_blocked",
        "tokens_by_role",
        "tokens_by_model",
    ):
        assert getattr(written, key) == getattr(rebuilt, key), key
    assert written.cost_usd == rebuilt.cost_usd == report.cost_usd
    assert [(f.task_id, f.reason) for f in written.failures] == [
        (f.task_id, f.reason) for f in rebuilt.failures
    ]

    record = json.loads((run_path / "run.json").read_text())
    assert record == report.run_record()
    assert record["run_id"] == report.run_id and record["tag"] == "master" and record["status"] == "failed"
    assert record["pid"] == os.getpid() and record["finished_at"] >= record["started_at"]
    assert record["target_branch"] == report.target_branch == "main" and record["branch"] is None
