"""The live view as a person sees it: frames rendered from a real run's event stream (three workers, a fake
model taking 1.5 s per turn), and the states around it (retry backoff, a stop's grace, `status` mid-run)."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from run_helpers import make_project, task, writer

from claude_orchestrator import events as ev
from claude_orchestrator.config import load_config
from claude_orchestrator.events import Event
from claude_orchestrator.observers.display import render
from claude_orchestrator.observers.snapshot import RunSnapshot, SnapshotBuilder
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, Reply, error_reply

T0 = 1_000_000.0
WIDTH = 120


def text_of(snapshot: RunSnapshot, width: int = WIDTH) -> str:
    con = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    con.print(render(snapshot, width))
    return con.export_text()


def row_of(text: str, tid: str) -> str | None:
    """The worker-table line of a task (its cells start with "<id> Task number <id>")."""
    return next(
        (line for line in text.splitlines() if line.lstrip().startswith(f"{tid} Task number {tid}")), None
    )


class Frames:
    """On every event: fold it, render a frame, and note which units are in flight by the event stream
    itself (started, not yet completed or failed). One lock, so a frame and its truth never drift apart."""

    def __init__(self) -> None:
        self.builder = SnapshotBuilder()
        self.lock = threading.Lock()
        self.in_flight: set[str] = set()
        self.frames: list[tuple[Event, RunSnapshot, str, frozenset[str]]] = []

    def __call__(self, e: Event) -> None:
        with self.lock:
            self.builder.fold(e)
            if isinstance(e, ev.TaskStarted) and e.task_id:
                self.in_flight.add(e.task_id)
            elif isinstance(e, (ev.TaskCompleted, ev.TaskFailed)) and e.task_id:
                self.in_flight.discard(e.task_id)
            snap = self.builder.snapshot(now=e.ts)
            self.frames.append((e, snap, text_of(snap), frozenset(self.in_flight)))


def test_every_unit_in_flight_is_shown_with_its_true_phase_and_cost(tmp_path: Path, monkeypatch: Any) -> None:
    from claude_orchestrator.run.engine import RunEngine, RunOptions
    from claude_orchestrator.taskmaster.store import TaskStore

    root = make_project(
        tmp_path / "p", [task(i) for i in range(1, 6)], execution={"retry_backoff_seconds": 2}
    )
    failed_once: set[str] = set()

    def fail_4_once(tid: str, _req: Any) -> Reply | None:
        if tid == "4" and tid not in failed_once:
            failed_once.add(tid)
            return error_reply(400, "invalid request (injected)")
        return None

    with FakeAnthropic(model=writer(before=fail_4_once), latency=1.5) as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-live-view")
        options = RunOptions(workers=3, backend="api", no_progress=True, console=Console(file=io.StringIO()))
        engine = RunEngine(TaskStore.discover(root), load_config(start=root), options)
        frames = Frames()
        engine.bus.subscribe(frames)
        report = engine.run()
    assert report.status == "completed", report.failed
    hidden = [
        (e.kind, e.task_id, sorted(u for u in flying if row_of(text, u) is None))
        for e, _s, text, flying in frames.frames
        if any(row_of(text, u) is None for u in flying)
    ]
    assert hidden == []  # no frame ever hides a unit in flight
    done_rows = [
        (e.kind, u)
        for e, s, _t, flying in frames.frames
        for w in s.workers
        if (u := w.task_id) in flying and w.phase == "done"
    ]
    assert done_rows == []  # "done" is for finished tasks, not a phase
    phases: dict[str, list[str]] = {}
    for _e, s, _t, _f in frames.frames:
        for w in s.workers:
            seen = phases.setdefault(w.task_id, [])
            if not seen or seen[-1] != w.phase:
                seen.append(w.phase)
    assert [p for p in phases["1"] if p in ("working", "verifying", "reviewing", "merging")] == [
        "working",
        "verifying",
        "reviewing",
        "merging",
    ]
    waiting = [text for e, _s, text, _f in frames.frames if isinstance(e, ev.TaskRetry) and e.task_id == "4"]
    assert len(waiting) == 1 and "waiting to retry in 2s" in (row_of(waiting[0], "4") or "")
    # the cost of a task shows as it accrues (after a turn, before the task is done)
    costs = [
        w.cost_usd
        for e, s, text, _f in frames.frames
        for w in s.workers
        if w.task_id == "2"
        and w.phase == "working"
        and w.cost_usd > 0
        and f"{w.cost_usd:.2f}" in (row_of(text, "2") or "")
    ]
    assert costs, "per-task cost never showed while task 2 worked"


def snapshot_after(*events: Event, now: float) -> RunSnapshot:
    b = SnapshotBuilder()
    for e in events:
        b.fold(e)
    return b.snapshot(now=now)


def test_a_reused_worker_slot_keeps_the_new_task_row() -> None:
    """Task 1 frees w1 when its worker returns; task 2 starts on w1 before 1's completion (after its review
    and merge) arrives. The completion of 1 must not take 2's row with it."""
    s = snapshot_after(
        ev.RunStarted(run_id="r", total=2, ready=2, workers=1, ts=T0),
        ev.TaskStarted(run_id="r", task_id="1", title="Task number 1", worker_id="w1", ts=T0),
        ev.TaskStarted(run_id="r", task_id="2", title="Task number 2", worker_id="w1", ts=T0 + 5),
        ev.TaskCompleted(run_id="r", task_id="1", cost_usd=0.1, duration_s=5, ts=T0 + 6),
        now=T0 + 7,
    )
    assert [(w.task_id, w.worker_id) for w in s.workers] == [("2", "w1")]
    assert row_of(text_of(s), "2") is not None


def test_retry_backoff_is_shown_with_its_countdown() -> None:
    events = (
        ev.RunStarted(run_id="r", total=1, ready=1, workers=1, ts=T0),
        ev.TaskStarted(run_id="r", task_id="7", title="Task number 7", worker_id="w1", ts=T0),
        ev.TaskProgress(run_id="r", task_id="7", phase="working", turns=1, cost_usd=0.25, ts=T0 + 1),
        ev.TaskRetry(run_id="r", task_id="7", attempt=2, reason="overloaded", delay_s=8, ts=T0 + 2),
    )
    s = snapshot_after(*events, now=T0 + 5)
    (row,) = s.workers
    assert (row.task_id, row.phase, row.worker_id) == ("7", "waiting to retry", "")
    line = row_of(text_of(s), "7") or ""
    assert "waiting to retry in 5s" in line and "0.25" in line  # the first attempt's cost stays counted
    assert "no workers running" not in text_of(s)
    # the next attempt adds to what the first one cost
    b = SnapshotBuilder()
    for e in events:
        b.fold(e)
    b.fold(
        ev.TaskStarted(run_id="r", task_id="7", title="Task number 7", worker_id="w1", attempt=2, ts=T0 + 10)
    )
    b.fold(ev.TaskProgress(run_id="r", task_id="7", phase="working", turns=1, cost_usd=0.5, ts=T0 + 11))
    (row,) = b.snapshot(now=T0 + 12).workers
    assert row.cost_usd == pytest.approx(0.75) and row.attempt == 2


def test_a_stop_shows_its_grace_counting_down_then_stopping_now() -> None:
    b = SnapshotBuilder()
    b.fold(ev.RunStarted(run_id="r", total=2, ready=2, workers=2, ts=T0))
    b.fold(ev.TaskStarted(run_id="r", task_id="1", title="Task number 1", worker_id="w1", ts=T0))
    b.fold(
        ev.RunWarning(
            run_id="r",
            message="stop requested: waiting up to 30s for 1 running units",
            running=["1"],
            grace_s=30.0,
            ts=T0 + 10,
        )
    )
    s = b.snapshot(now=T0 + 22)
    assert s.status == "stopping" and s.stop_left == pytest.approx(18)
    head = text_of(s).splitlines()[0]
    assert "stopping (18s left)" in head
    b.fold(ev.RunWarning(run_id="r", message="stop now", running=["1"], grace_s=0.0, ts=T0 + 23))
    assert "stopping now" in text_of(b.snapshot(now=T0 + 23)).splitlines()[0]
    b.fold(ev.RunFinished(run_id="r", status="stopped", ts=T0 + 24))
    assert b.snapshot(now=T0 + 30).status == "stopped"


def test_status_during_a_run_shows_its_real_elapsed_time(tmp_path: Path) -> None:
    import json
    import os
    import time

    from claude_orchestrator.observers.eventlog import EventLogWriter
    from claude_orchestrator.status import run_status

    run_path = tmp_path / ".taskmaster" / "runs" / "20260101-000000-abcdef"
    run_path.mkdir(parents=True)
    started = time.time() - 125
    (run_path / "run.json").write_text(
        json.dumps({"status": "running", "pid": os.getpid(), "started_at": started})
    )
    with EventLogWriter(run_path) as log:
        log(ev.RunStarted(run_id=run_path.name, total=3, ready=3, ts=started))
    st = run_status(run_path)
    assert st.summary.status == "running"
    assert st.summary.duration_s is not None and 124 <= st.summary.duration_s <= 135


def test_a_stop_takes_the_rows_of_units_waiting_to_retry() -> None:
    """They will not start again in this run; their cost stays in the run's sum."""
    s = snapshot_after(
        ev.RunStarted(run_id="r", total=2, ready=2, workers=2, ts=T0),
        ev.TaskStarted(run_id="r", task_id="1", title="Task number 1", worker_id="w1", ts=T0),
        ev.TaskStarted(run_id="r", task_id="2", title="Task number 2", worker_id="w2", ts=T0),
        ev.TaskProgress(run_id="r", task_id="2", phase="working", cost_usd=0.5, ts=T0 + 1),
        ev.TaskRetry(run_id="r", task_id="2", attempt=2, reason="x", delay_s=30, ts=T0 + 2),
        ev.RunWarning(run_id="r", message="stop", running=["1"], grace_s=30.0, ts=T0 + 3),
        now=T0 + 4,
    )
    assert [w.task_id for w in s.workers] == ["1"]
    assert s.usage.cost_usd == pytest.approx(0.5)
