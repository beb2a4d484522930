import json
import os
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from claude_orchestrator import events as ev
from claude_orchestrator.cli.main import cli
from claude_orchestrator.observers.eventlog import EventLogWriter
from claude_orchestrator.run.folder import RunSummary, new_run_id, run_dir, write_summary

NOW = time.time()


@pytest.fixture
def project(tmp_path):
    tm = tmp_path / ".taskmaster" / "tasks"
    tm.mkdir(parents=True)
    tasks = [
        {"id": 1, "title": "a", "status": "done", "dependencies": []},
        {"id": 2, "title": "b", "status": "pending", "dependencies": [1]},
        {"id": 3, "title": "c", "status": "pending", "dependencies": [2]},
        {"id": 4, "title": "d", "status": "in-progress", "dependencies": []},
    ]
    (tm / "tasks.json").write_text(json.dumps({"master": {"tasks": tasks, "metadata": {}}}), encoding="utf-8")
    (tmp_path / "orchestrator_config.json").write_text(json.dumps({"budgets": {"run_usd": 5.0}}))
    (tmp_path / ".git").mkdir()  # a repository root: searches stop here
    old = run_dir(tmp_path, new_run_id(NOW - 600), create=True)
    write_summary(
        old,
        RunSummary(
            run_id=old.name,
            started_at=NOW - 600,
            finished_at=NOW - 300,
            duration_s=300,
            status="failed",
            cost_usd=4.2,
            tokens_by_role={"worker": {"input": 1000, "output": 200, "cost_usd": 3.0}},  # type: ignore[dict-item]
            tokens_by_model={"claude-sonnet-5-5": {"input": 1000, "output": 200, "cost_usd": 3.0}},  # type: ignore[dict-item]
            tasks_done=2,
            tasks_failed=1,
            failures=[{"task_id": "3", "reason": "tests failed"}],  # type: ignore[list-item]
        ),
    )
    live = run_dir(tmp_path, new_run_id(NOW - 60), create=True)
    with EventLogWriter(live) as w:
        w(ev.RunStarted(run_id=live.name, total=4, ready=1, ts=NOW - 60))
        w(ev.TaskStarted(run_id=live.name, task_id="2", title="b", backend="api", ts=NOW - 59))
        w(ev.TaskProgress(run_id=live.name, task_id="2", phase="editing", turns=2, ts=NOW - 50))
        w(ev.TaskStarted(run_id=live.name, task_id="4", title="d", backend="api", ts=NOW - 45))
        w(ev.Usage(run_id=live.name, cost_usd=4.1, usage_window_pct=40, ts=NOW - 40))
        w(ev.TaskCompleted(run_id=live.name, task_id="2", duration_s=20, cost_usd=1.0, ts=NOW - 39))
    return tmp_path, old.name, live.name


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_status_human(project):
    root, old, live = project
    r = invoke("status", "--project", str(root))
    assert r.exit_code == 0, r.output
    out = r.output
    assert "Tasks (tag master): 4 total, 1 ready to run — done 1, in-progress 1, pending 2" in out
    assert f"Run {live}: running, 21s, $4.10, 1 done, 0 failed" in out
    assert f"Run {old}: failed, 300s, $4.20, 2 done, 1 failed" in out
    assert "role worker: 1000 in / 200 out / 0 cache read, $3.00" in out
    assert "model claude-sonnet-5-5:" in out
    assert "failed 3: tests failed" in out
    assert "Budget: $5.00 per run; last run used 82%; $8.30 spent in the last 5 h" in out
    assert "Claude Code window 40% used — WARN" in out
    assert out.index(live) < out.index(old)  # newest first


def test_status_json(project, monkeypatch):
    root, old, live = project
    monkeypatch.chdir(root)
    r = invoke("status", "--json", "--runs", "1")
    assert r.exit_code == 0
    st = json.loads(r.output)
    assert st["tasks"]["by_status"] == {"done": 1, "pending": 2, "in-progress": 1}
    assert [x["run_id"] for x in st["runs"]] == [live]
    assert st["runs"][0]["source"] == "events"
    b = st["budget"]
    assert (b["run_usd"], b["level"], b["usage_window_pct"]) == (5.0, "warn", 40.0)
    assert b["spent_last_5h_usd"] == pytest.approx(8.3)  # both runs, though only one is listed
    assert b["last_run_budget_pct"] == pytest.approx(82.0)


def test_status_without_a_project_is_one_clear_line(tmp_path):
    (tmp_path / ".git").mkdir()
    r = CliRunner().invoke(cli, ["status", "--project", str(tmp_path)])
    assert r.exit_code == 2
    assert r.output.strip().startswith("Error: no .taskmaster/") and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_status_with_a_broken_task_file(project):
    root, _, _ = project
    (root / ".taskmaster" / "tasks" / "tasks.json").write_text("{nope")
    r = CliRunner().invoke(cli, ["status", "--project", str(root)])
    assert r.exit_code == 2 and "tasks.json: malformed JSON" in r.output and "Traceback" not in r.output


def test_status_with_no_runs_and_no_tasks(tmp_path):
    (tmp_path / ".taskmaster").mkdir()
    (tmp_path / ".git").mkdir()
    r = invoke("status", "--project", str(tmp_path))
    assert r.exit_code == 0
    assert "0 total" in r.output and "Runs: none yet" in r.output and "no run budget" in r.output


def test_tail_events_readable_filtered_and_json(project):
    root, old, live = project
    r = invoke("tail-events", "--project", str(root))
    lines = r.output.splitlines()
    assert r.exit_code == 0 and len(lines) == 6
    assert lines[0].endswith(f"run {live} started: 4 tasks, 1 ready")
    assert lines[-1].endswith("task 2 done in 20s, $1.00")
    r = invoke("tail-events", "--project", str(root), "--task", "2", "--lines", "2")
    assert [line.split(" ", 1)[1] for line in r.output.splitlines()] == [
        "task 2 editing (turn 2, $0.00)",
        "task 2 done in 20s, $1.00",
    ]
    r = invoke("tail-events", "--project", str(root), "--json", "-n", "3")
    raw = [json.loads(line) for line in r.output.splitlines()]
    assert [x["kind"] for x in raw] == ["task_started", "usage", "task_completed"]
    r = CliRunner().invoke(cli, ["tail-events", "--project", str(root), "--run", old[:15]])
    assert r.exit_code == 0 and r.stdout == ""  # the old run has a summary but no event log
    assert f"no events recorded in run {old}" in r.stderr


def test_tail_events_unknown_run(project):
    root, _, _ = project
    r = CliRunner().invoke(cli, ["tail-events", "--project", str(root), "--run", "2099"])
    assert r.exit_code == 2 and "Error: no run '2099'" in r.output


def test_tail_events_follow_prints_new_events_until_the_run_finishes(project):
    root, _, live = project
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "claude_orchestrator", "tail-events", "--project", str(root)]
    proc = subprocess.Popen(
        [*cmd, "--follow", "--timeout", "30", "-n", "1"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the tail is printed: the reader is now following
        assert first.rstrip().endswith("task 2 done in 20s, $1.00")
        with EventLogWriter(run_dir(root, live)) as w:
            w(ev.TaskFailed(run_id=live, task_id="4", reason="boom", attempts=2))
            w(ev.RunFinished(run_id=live, status="failed", done=1, failed=1))
        rest = proc.stdout.read()  # ends when the command exits after RUN_FINISHED
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    lines = rest.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("task 4 FAILED after 2 attempt(s): boom")
    assert f"run {live} failed: 1 done, 1 failed" in lines[1]
    # following a finished run returns at once
    done = subprocess.run([*cmd, "--follow", "-n", "1"], capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 0 and "failed" in done.stdout


def test_status_takes_tokens_from_the_usage_ledger_when_the_summary_has_none(project):
    root, _, live = project
    rows = [
        {"role": "worker", "model": "claude-sonnet-5-5", "input_tokens": 100, "output_tokens": 10,
         "cache_write_5m": 5, "cache_write_1h": 1, "cache_read": 50, "cost_usd": 0.5},
        {"role": "manager", "model": "claude-opus-5-5", "input_tokens": 7, "output_tokens": 3, "cost_usd": 0.25},
        {"role": "worker", "model": "claude-opus-5-5", "input_tokens": 1, "output_tokens": 1, "cost_usd": 0.25},
    ]  # fmt: skip
    (run_dir(root, live) / "usage.json").write_text(json.dumps({"run_id": live, "by_role_model": rows}))
    st = json.loads(invoke("status", "--json", "--project", str(root)).output)
    run = st["runs"][0]
    assert run["tokens_by_role"]["worker"] == {
        "input": 101, "output": 11, "cache_read": 50, "cache_write": 6, "cost_usd": 0.75
    }  # fmt: skip
    assert run["tokens_by_model"]["claude-opus-5-5"]["input"] == 8
    assert st["tasks"]["ready_ids"] == ["2"]


def test_status_survives_one_corrupt_summary(project):
    root, old, _ = project
    (run_dir(root, old) / "summary.json").write_text("[not a summary")
    r = invoke("status", "--json", "--project", str(root))
    assert r.exit_code == 0
    bad = [x for x in json.loads(r.output)["runs"] if x["run_id"] == old][0]
    assert bad["source"].startswith("events (unreadable run summary")


def test_status_is_data_and_the_cli_only_formats_it(project):
    from claude_orchestrator.status import ProjectStatus, project_status, run_status

    root, old, live = project
    st = project_status(root)
    assert isinstance(st, ProjectStatus)
    assert (st.tasks.total, st.tasks.ready, st.tasks.ready_ids) == (4, 1, ["2"])
    assert [(r.summary.run_id, r.source) for r in st.runs] == [(live, "events"), (old, "summary.json")]
    assert st.runs[1].summary.failures[0].reason == "tests failed"
    assert (st.budget.level, st.budget.usage_window_pct) == ("warn", 40.0)
    assert st.budget.last_run_cost_usd == pytest.approx(4.1)
    assert json.loads(invoke("status", "--json", "--project", str(root)).output) == st.to_dict()
    assert run_status(run_dir(root, old)).summary.cost_usd == pytest.approx(4.2)
    assert project_status(root, runs=0).runs == [] and project_status(root, runs=0).budget.level == "ok"
