"""The event log format is a contract with every run folder already on disk. tests/data/events_golden.ndjson
was written by EventLogWriter from events shaped like each producer's (one run: retries, a review, a merge,
a group of subtasks, a usage warning, a gate hold, a failure that blocks a dependent, a stop, and one event
kind from a newer writer). These tests pin what every reader makes of it, and that writing an event again
gives back its line byte for byte."""

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from claude_orchestrator.cli.main import cli
from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.events import EventBus
from claude_orchestrator.observers.eventlog import EventLogWriter, event_to_line, read_events
from claude_orchestrator.observers.slack import SlackNotifier
from claude_orchestrator.observers.snapshot import SnapshotBuilder
from claude_orchestrator.observers.text import describe_event
from claude_orchestrator.run.folder import run_dir, summary_from_events
from claude_orchestrator.run.resume import journal_merged
from claude_orchestrator.testing.fake_slack import FakeSlack

GOLDEN = Path(__file__).parent / "data" / "events_golden.ndjson"
RUN = "20260301-120000-a1b2c3"
BR = f"orchestrator/{RUN}"
KNOWN_KINDS = {
    "run_started",
    "run_finished",
    "task_ready",
    "task_started",
    "task_progress",
    "task_retry",
    "task_completed",
    "task_failed",
    "task_blocked",
    "task_reviewed",
    "task_merged",
    "task_committed",
    "usage",
    "rate_limited",
    "warning",
    "log",
}

DESCRIBED = [
    "claude CLI not found: tasks for claude-code run on the api backend",
    f"run {RUN} started: 6 tasks, 2 ready",
    "task 1 started on claude-code: Parse the config file",
    "task 2 started on api: Write the CLI entry point",
    "task 1 starting (turn 0, $0.00)",
    "rate limit allowed_warning 81% (five_hour)",
    "task 1 working (turn 3, $0.08)",
    "usage: $0.09, 15230 in / 1204 out",
    "task 2 done (turn 6, $0.14)",
    "WARNING: task 2: not committed (sensitive): .env",
    f"task 2 committed 9f1c2ab3d4e5 on {BR}/2",
    "task 2 review FAIL: no test covers --help; exit code is 0 on error",
    "task 2 retry 2 in 0s: review: no test covers --help; exit code is 0 on error",
    "task 2 started on api (attempt 2): Write the CLI entry point",
    "task 1 done (turn 9, $0.31)",
    f"task 1 committed 0a1b2c3d4e5f on {BR}/1",
    "task 1 review PASS (+1 follow-up)",
    "task 1: review added 1 follow-up task(s)",
    "task 1 merged into main @ 1b2c3d4e5f60",
    "task 1 done in 39s, $0.31 @ 1b2c3d4e5f60",
    "task 1: added 1 follow-up units",
    "task_ready task 3",
    "task 3 started on claude-code: Load defaults",
    "WARNING: budget at 81% ($4.06 of $5.00); consider pausing or raising the budget",
    "WARNING: dispatch held: paused until the usage window resets",
    "dispatch resumed",
    "WARNING: pausing new work: Claude Code usage window rejected until 13:00",
    "task 2 FAILED after 2 attempt(s): pytest: 3 failed; blocks 5",
    "task 5 blocked by 2: dependency 2 did not complete",
    "task 3 done in 72s, $0.12 @ 2c3d4e5f6071",
    "task_ready task 4.1",
    "task 4.1 started on api: Validate the schema",
    "task_verified task 4.1 verifier=pytest, passed=True",
    "task 4.1 done in 10s, $0.05 @ 3d4e5f607182",
    "task_ready task 4.2",
    "task 4.2 started on api: Report schema errors",
    "task 4.2 done in 8s, $0.07 @ 4e5f60718293",
    "task 4 done in 18s, $0.12",
    "task_ready task 7",
    "task 7 started on api: Document the config keys",
    "WARNING: follow-up units rejected: dependency cycle 8 -> 9 -> 8",
    "usage: $0.73, 120400 in / 11020 out",
    "WARNING: stop requested: waiting up to 30s for 1 running units",
    "WARNING: task 7: interrupted: stop requested",
    "WARNING: workers still running after cancel (left behind)",
    f"run {RUN} stopped: 4 done, 1 failed, 157s",
]


def golden_lines() -> list[str]:
    return GOLDEN.read_text(encoding="utf-8").splitlines(keepends=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    run = run_dir(tmp_path, RUN, create=True)
    shutil.copy(GOLDEN, run / "events.ndjson")
    (tmp_path / ".taskmaster" / "tasks").mkdir(parents=True)
    (tmp_path / ".git").mkdir()  # a repository root: project searches stop here
    return tmp_path


def test_every_line_reads_back_and_writes_again_byte_for_byte():
    events = list(read_events(GOLDEN))
    assert len(events) == len(golden_lines()) == 46
    assert {e.kind for e in events} == KNOWN_KINDS | {"task_verified"}
    assert [event_to_line(e) for e in events] == golden_lines()


def test_the_bus_and_writer_produce_the_same_lines(tmp_path):
    def no_ts(line: str) -> str:
        return re.sub(r',"ts":[^,}]+}\n$', ',"ts":0}\n', line)

    bus = EventBus()
    expected = []
    with EventLogWriter(tmp_path) as w:
        bus.subscribe(w)
        for line in golden_lines():
            d = json.loads(line)
            if d["kind"] in KNOWN_KINDS:
                bus.emit(d["kind"], d["run_id"], d["task_id"], **d["data"])
                expected.append(no_ts(line))
    written = (tmp_path / "events.ndjson").read_text(encoding="utf-8").splitlines(keepends=True)
    assert [no_ts(x) for x in written] == expected


def test_event_text():
    assert [describe_event(e) for e in read_events(GOLDEN)] == DESCRIBED


def test_summary_from_events(project):
    s = summary_from_events(run_dir(project, RUN))
    assert s.model_dump(mode="json") == {
        "run_id": RUN,
        "started_at": 1772366400.012345,
        "finished_at": 1772366565.937345,
        "duration_s": 157.337345,
        "status": "stopped",
        "cost_usd": 0.7334,
        "tokens_by_role": {},
        "tokens_by_model": {},
        "tasks_done": 4,
        "tasks_failed": 1,
        "tasks_blocked": 1,
        "tasks_verified": 0,
        "tasks_failed_verification": 0,
        "tasks_unchecked": 0,
        "failures": [{"task_id": "2", "reason": "pytest: 3 failed"}],
        "integration": {},  # an old log has no integration figures
    }


def test_resume_journal(project):
    assert journal_merged(run_dir(project, RUN)) == {"1", "3", "4", "4.1", "4.2"}


def _snapshot_dict(b: SnapshotBuilder, now: float) -> dict:
    d = dataclasses.asdict(b.snapshot(now=now))
    d["recent_events"] = [r[9:] for r in d["recent_events"]]  # drop the local-time "HH:MM:SS " stamp
    return d


def test_snapshot_fold():
    b = SnapshotBuilder()
    mid = None
    events = list(read_events(GOLDEN))
    for e in events:
        b.fold(e)
        if e.kind == "task_started" and e.task_id == "7":
            mid = _snapshot_dict(b, e.ts + 10)
    usage = {
        "budget_usd": 5.0,
        "cache_read": 9000,
        "cache_write": 2100,
        "cost_usd": 0.0912,
        "ratelimit_headroom": None,
        "tokens_in": 15230,
        "tokens_out": 1204,
        "usage_window_pct": 81.0,
    }
    assert mid == {
        "run_id": RUN,
        "started_at": 1772366400.012345,
        "now": 1772366543.837345,
        "tasks": {"ready": 0, "running": 1, "waiting": 0, "blocked": 1, "done": 5, "failed": 1, "total": 8},
        "workers": (
            {
                "worker_id": "w0",
                "task_id": "7",
                "title": "Document the config keys",
                "backend": "api",
                "phase": "starting",
                "turns": 0,
                "tokens_in": 0,
                "tokens_out": 0,
                "cost_usd": 0.0,
                "started_at": 1772366533.837345,
                "attempt": 1,
                "retry_at": None,
                "node": None,
            },
        ),
        "usage": usage,
        "retries": 1,
        "recent_events": DESCRIBED[34:40],
        "eta_seconds": 11.03125,
        "critical_path_remaining": 0,
        "status": "running",
        "max_workers": 2,
        "finished_at": None,
        "stop_deadline": None,
        "checks": {"verified": 0, "failed": 0, "unchecked": 0},
    }
    end = _snapshot_dict(b, events[-1].ts + 5)
    assert end == {
        **mid,
        "now": 1772366570.937345,
        "tasks": {**mid["tasks"], "running": 0, "ready": 1},  # 7 was interrupted: ready for the next run
        "workers": (),
        "usage": {**usage, "cache_read": 64000, "cache_write": 8200, "cost_usd": 0.7334}
        | {"tokens_in": 120400, "tokens_out": 11020},
        "recent_events": [DESCRIBED[i] for i in (39, 40, 42, 43, 44, 45)],  # no usage lines
        "eta_seconds": None,
        "status": "stopped",
        "finished_at": 1772366565.937345,
    }


def test_slack_messages():
    with FakeSlack() as slack:
        with SlackNotifier(OrchestratorConfig(), url=slack.url) as n:
            for e in read_events(GOLDEN):
                n(e)
            assert n.flush(10)
        texts = [p["text"] for p in slack.posts]
    cost = "*Cost so far:* $0.09 for the run of a $5.00 budget"
    assert texts == [
        "✅ Task 1: Parse the config file done\n"
        "*What happened:* Task 1: Parse the config file completed after 38s in 9 turns.\n"
        "*Cost so far:* $0.31 for this task, $0.09 for the run of a $5.00 budget\n"
        f"*Where:* branch `{BR}/1`, commit `1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e`\n"
        "*Next:* review the commit; 5 task(s) still to run.",
        "⚠️ Usage warn: budget at 81%\n"
        "*What happened:* budget at 81% ($4.06 of $5.00); consider pausing or raising the budget\n"
        f"{cost}\n"
        "*Next:* new work stops at 95%; raise `budgets.run_usd` or pause the run if needed.",
        "❌ Task 2: Write the CLI entry point failed\n"
        "*What happened:* Task 2: Write the CLI entry point failed after 2 attempt(s). Blocked dependents: 5.\n"
        "*Why:* pytest: 3 failed\n"
        f"{cost}\n"
        "*Where:* no commit recorded\n"
        f"*Next:* read `claude-orchestrator tail-events --run {RUN} --task 2`, fix the cause, "
        "then set task 2 back to pending and run again.",
        "✅ Task 3: Load defaults done\n"
        "*What happened:* Task 3: Load defaults completed after 1m 11s in 4 turns.\n"
        "*Cost so far:* $0.12 for this task, $0.09 for the run of a $5.00 budget\n"
        f"*Where:* branch `{BR}/3`, commit `2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f`\n"
        "*Next:* review the commit; 2 task(s) still to run.",
        "✅ Task 4.1: Validate the schema done\n"
        "*What happened:* Task 4.1: Validate the schema completed after 10s in 2 turns.\n"
        "*Cost so far:* $0.05 for this task, $0.09 for the run of a $5.00 budget\n"
        f"*Where:* branch `{BR}/4.1`, commit `3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60`\n"
        "*Next:* review the commit; 1 task(s) still to run.",
        "✅ Task 4.2: Report schema errors done\n"
        "*What happened:* Task 4.2: Report schema errors completed after 8s in 3 turns.\n"
        "*Cost so far:* $0.07 for this task, $0.09 for the run of a $5.00 budget\n"
        f"*Where:* branch `{BR}/4.2`, commit `4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071`\n"
        "*Next:* review the commit; this was the last task.",
        "✅ Task 4 done\n"
        "*What happened:* Task 4 completed after 18s in 5 turns.\n"
        "*Cost so far:* $0.12 for this task, $0.09 for the run of a $5.00 budget\n"
        "*Where:* no commit recorded\n"
        "*Next:* review the commit; this was the last task.",
        f"⚠️ Run {RUN} stopped\n"
        "*What happened:* run stopped in 2m 37s: 4 done, 1 failed, 1 blocked.\n"
        "*Cost:* $0.73\n"
        "*Next:* `claude-orchestrator status` lists the failures and "
        f"`claude-orchestrator tail-events --run {RUN}` shows what happened; fix the causes, then "
        "`claude-orchestrator run` again.",
    ]


def test_tail_events_and_status_commands(project):
    runner = CliRunner()
    r = runner.invoke(cli, ["tail-events", "--project", str(project), "--json", "-n", "100"])
    assert r.exit_code == 0, r.output
    assert r.output == "".join(golden_lines())
    r = runner.invoke(cli, ["tail-events", "--project", str(project), "--task", "2", "-n", "100"])
    assert r.exit_code == 0, r.output
    assert [x[9:] for x in r.output.splitlines()] == [d for d in DESCRIBED if "task 2" in d]
    r = runner.invoke(cli, ["status", "--project", str(project), "--json"])
    assert r.exit_code == 0, r.output
    st = json.loads(r.output)
    assert st["budget"]["usage_window_pct"] == 81.0
    assert [(x["run_id"], x["status"], x["source"]) for x in st["runs"]] == [(RUN, "stopped", "events")]
