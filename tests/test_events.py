"""Typed events: every kind round-trips through its NDJSON form, reading tolerates old and newer logs, emit
checks field names at once, and mypy sees the fields."""

import dataclasses
import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

import claude_orchestrator
from claude_orchestrator import events as ev
from claude_orchestrator.observers.eventlog import event_to_line
from claude_orchestrator.observers.snapshot import SnapshotBuilder
from claude_orchestrator.observers.text import describe_event

# one fully populated event of every kind (every data field set to a value that is not its default)
SAMPLES: list[ev.RunEvent] = [
    ev.RunStarted(total=5, ready=2, done_before=1, critical_path=["1", "3"], workers=3, budget_usd=9.5),
    ev.RunFinished(
        status="failed",
        done=3,
        failed=1,
        blocked=1,
        interrupted=["4"],
        error="boom",
        duration_s=12.5,
        cost_usd=1.25,
    ),
    ev.TaskReady(task_id="3"),
    ev.TaskStarted(task_id="1", title="Add a parser", backend="api", worker_id="w2", attempt=2),
    ev.TaskProgress(
        task_id="1",
        phase="working",
        turns=4,
        tokens_in=1200,
        tokens_out=300,
        cost_usd=0.05,
        attempt=2,
        usage_window_pct=42.0,
        node="host-a:1a2b3c4d",
    ),
    ev.TaskRetry(task_id="1", attempt=3, reason="review: add a test", delay_s=1.5),
    ev.TaskCommitted(task_id="1", commit="abc123", branch="orchestrator/r/1"),
    ev.TaskReviewed(task_id="1", verdict="fail", issues=["no test"], follow_ups=["Write docs"]),
    ev.TaskMerged(task_id="1", commit="def456", branch="orchestrator/r/1", target="main"),
    ev.TaskCompleted(
        task_id="2",
        cost_usd=0.5,
        duration_s=30.0,
        commit="fed654",
        branch="orchestrator/r/2",
        turns=7,
        subtasks=["2.1", "2.2"],
        title="A group",
    ),
    ev.TaskFailed(
        task_id="5",
        reason="tests failed",
        attempts=2,
        blocked_dependents=["6", "7"],
        cost_usd=0.3,
        branch="orchestrator/r/5",
        commit="0a0a0a",
        title="Flaky one",
    ),
    ev.TaskBlocked(task_id="6", reason="dependency 5 did not complete", blocked_by=["5"]),
    ev.TaskSkipped(task_id="7", status="deferred", reason="deferred in tasks.json"),
    ev.Usage(
        tokens_in=10,
        tokens_out=20,
        cache_read=30,
        cache_write=40,
        cost_usd=0.01,
        budget_usd=5.0,
        ratelimit_headroom=0.5,
        usage_window_pct=12.0,
        delta=True,
    ),
    ev.RateLimited(
        backend="claude-code",
        status="allowed_warning",
        utilization=0.9,
        usage_window_pct=90.0,
        resets_at=1.7e9,
        rate_limit_type="five_hour",
    ),
    ev.RunWarning(
        task_id="7",
        message="budget at 90%",
        source="usage",
        level="warn",
        metric="budget",
        pct=90.0,
        cost_usd=4.5,
        interrupted=True,
        units=["8"],
        running=["7"],
        hold="paused",
        grace_s=30.0,
    ),
    ev.Log(message="added 1 follow-up units", level="info", units=["9"], hold="none"),
    ev.TaskVerification(
        task_id="2",
        status="failed",
        checks=2,
        passed=1,
        command="python -m pytest -q",
        exit_code=1,
        timed_out=True,
        output="1 failed",
        duration_s=3.5,
        candidate=2,
    ),
    ev.TaskPicked(task_id="2", candidates=3, winner=2, passing=["2", "3"], reason="smaller", cost_usd=0.3),
    ev.TaskSession(
        task_id="2",
        session_id="5f0c",
        workdir="/w/2",
        backend="claude-code",
        attempt=2,
        candidate=1,
        resumed=True,
    ),
]


def test_every_kind_has_a_sample_a_distinct_tag_and_a_type_in_the_union():
    members = typing.get_args(ev.RunEvent)
    assert {type(s) for s in SAMPLES} == set(members)
    assert sorted(ev.EVENT_TYPES) == sorted(c.kind for c in members)
    assert len(ev.EVENT_TYPES) == len(members) == 20
    for s in SAMPLES:  # every data field is set, so a lost field would show in the round trip
        for f in dataclasses.fields(s):
            if f.name not in ("run_id", "task_id", "ts", "extra", "_wire"):
                assert getattr(s, f.name) != f.default, (type(s).__name__, f.name)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.kind)
def test_round_trip_through_to_dict_and_a_json_line(event):
    d = event.to_dict()
    assert list(d) == ["kind", "run_id", "task_id", "data", "ts"]
    assert d["kind"] == event.kind
    back = ev.from_dict(json.loads(json.dumps(d)))
    assert type(back) is type(event) and back == event
    assert event_to_line(back) == event_to_line(event)


def test_a_fresh_event_writes_its_fields_in_order_and_leaves_out_unset_optionals():
    e = ev.TaskCompleted(run_id="r", task_id="1", cost_usd=0.5, duration_s=3.0, turns=2, ts=10.0)
    assert e.to_dict() == {
        "kind": "task_completed",
        "run_id": "r",
        "task_id": "1",
        "data": {"cost_usd": 0.5, "duration_s": 3.0, "commit": None, "branch": None, "turns": 2},
        "ts": 10.0,
    }
    assert list(ev.RunWarning(message="m", hold="h").data) == ["message", "hold"]


def test_reading_tolerates_old_and_newer_lines():
    line = {
        "kind": "task_failed",
        "run_id": "r",
        "task_id": 3,
        "data": {"reason": "x", "attempts": "2", "blocked_dependents": "4", "cost_usd": "n/a", "new": [1]},
        "ts": "12.5",
    }
    e = ev.from_dict(line)
    assert isinstance(e, ev.TaskFailed)
    assert (e.task_id, e.ts, e.reason, e.attempts, e.blocked_dependents) == ("3", 12.5, "x", 2, ("4",))
    assert e.cost_usd is None  # garbage gives the default
    assert e.extra == {"new": [1]} and e.data["new"] == [1]  # unknown fields are kept and written back
    assert list(e.data) == ["reason", "attempts", "blocked_dependents", "cost_usd", "new"]

    old = ev.from_dict({"kind": "task_started", "task_id": "1", "data": {"title": "t"}})
    assert isinstance(old, ev.TaskStarted)
    assert (old.run_id, old.backend, old.worker_id, old.attempt, old.ts) == ("", "", "", 1, 0.0)
    assert old.data == {"title": "t"}  # what was missing stays missing when written back

    assert isinstance(ev.from_dict({"kind": "usage", "data": "not an object"}), ev.Usage)
    assert ev.from_dict({"kind": "run_started", "data": {"critical_path": 4}}).critical_path == 4


def test_an_unknown_kind_reads_as_a_generic_event_every_observer_accepts():
    line = {"kind": "task_verified", "run_id": "r", "task_id": "2", "data": {"passed": True}, "ts": 5.0}
    e = ev.from_dict(line)
    assert isinstance(e, ev.UnknownEvent) and e.to_dict() == line
    assert describe_event(e) == "task_verified task 2 passed=True"
    b = SnapshotBuilder()
    b.fold(e)
    assert b.snapshot(now=6.0).recent_events[-1].endswith("task_verified task 2 passed=True")


def test_emit_builds_the_typed_event_and_rejects_unknown_names_at_once():
    bus = ev.EventBus()
    seen: list[ev.Event] = []
    bus.subscribe(seen.append)
    e = bus.emit(ev.TASK_BLOCKED, "r", "4", reason="dep", blocked_by=["2"])
    assert seen == [e] and isinstance(e, ev.TaskBlocked) and e.blocked_by == ("2",)
    with pytest.raises(TypeError, match="TaskBlocked has no field 'blocked_on'"):
        bus.emit(ev.TASK_BLOCKED, "r", "4", reason="dep", blocked_on=["2"])
    with pytest.raises(TypeError, match="'ts'"):
        bus.emit(ev.LOG, "r", message="m", ts=1.0)
    with pytest.raises(ValueError, match="unknown event kind 'task_exploded'"):
        bus.emit("task_exploded", "r")
    assert len(seen) == 1  # nothing half-published


def test_events_are_frozen_and_hashable():
    e = ev.TaskFailed(task_id="1", blocked_dependents=["2"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.reason = "x"  # type: ignore[misc]
    assert e.blocked_dependents == ("2",) and hash(e) == hash(
        ev.TaskFailed(task_id="1", blocked_dependents=["2"], ts=e.ts)
    )


def test_mypy_sees_a_renamed_field_at_a_consumer(tmp_path):
    env = {**os.environ, "MYPYPATH": str(Path(claude_orchestrator.__file__).parent.parent)}  # this checkout
    src = tmp_path / "consumer.py"
    src.write_text(
        "from claude_orchestrator.events import Event, TaskFailed\n"
        "def why(e: Event) -> str:\n"
        "    match e:\n"
        "        case TaskFailed():\n"
        "            return e.reasons\n"
        "    return ''\n"
        "TaskFailed(reasn='x')\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent", str(src)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert out.returncode == 1, out.stdout
    assert '"TaskFailed" has no attribute "reasons"' in out.stdout
    assert 'Unexpected keyword argument "reasn" for "TaskFailed"' in out.stdout
