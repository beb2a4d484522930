import io
import json
import logging
import math

import pytest
from rich.console import Console

from claude_orchestrator import events as ev
from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.events import Event, EventBus
from claude_orchestrator.observers.display import LiveDisplay, fmt_duration, open_display, render
from claude_orchestrator.observers.snapshot import (
    RunSnapshot,
    SnapshotBuilder,
    TaskCounts,
    UsagePanel,
    WorkerRow,
)
from claude_orchestrator.observers.text import PlainEventPrinter
from claude_orchestrator.run.gate import UsageGuard

T0 = 1_000_000.0
LONG = "Set up the database schema and migrations for the accounts service " * 3


def run_events() -> list[Event]:
    e = []

    def add(cls, tid=None, dt=0.0, **data):
        e.append(cls(run_id="20261121-233000-ab12", task_id=tid, ts=T0 + dt, **data))

    add(
        ev.RunStarted,
        total=8,
        ready=2,
        done_before=1,
        critical_path=["1", "3", "5"],
        budget_usd=10,
        workers=2,
    )
    add(ev.TaskStarted, "1", 1, title=LONG, backend="claude-code", worker_id="w1", attempt=1)
    add(ev.TaskStarted, "2", 2, title="API", backend="api", worker_id="w2", attempt=1)
    add(ev.TaskProgress, "1", 5, phase="editing", turns=4, tokens_in=12000, tokens_out=900, cost_usd=0.4)
    add(ev.TaskRetry, "2", 6, attempt=2, reason="overloaded", delay_s=2)
    add(ev.TaskStarted, "2", 9, title="API", backend="api", worker_id="w2", attempt=2)
    add(ev.TaskCompleted, "1", 61, cost_usd=0.5, duration_s=60, commit="abc1234", branch="orchestrator/1")
    add(ev.TaskReady, "3", 61)
    add(ev.TaskFailed, "2", 70, reason="tests failed", attempts=2, blocked_dependents=["4", "6"])
    add(ev.TaskBlocked, "4", 70, reason="dependency failed", blocked_by="2")  # duplicate of the above
    add(ev.TaskStarted, "3", 71, title="Next", backend="api", worker_id="w1", attempt=1)
    return e


def built(now: float = T0 + 100) -> RunSnapshot:
    b = SnapshotBuilder()
    for e in run_events():
        b.fold(e)
    return b.snapshot(now=now)


def test_builder_folds_counts_workers_and_retries():
    s = built()
    assert s.run_id == "20261121-233000-ab12"
    assert s.tasks == TaskCounts(ready=0, running=1, waiting=2, blocked=2, done=2, failed=1, total=8)
    assert [(w.worker_id, w.task_id, w.title) for w in s.workers] == [("w1", "3", "Next")]
    assert s.retries == 1
    assert s.usage.budget_usd == 10
    # no USAGE event: cost is the sum of what tasks reported
    assert s.usage.cost_usd == pytest.approx(0.5)
    assert s.critical_path_remaining == 2  # 1 done, 3 and 5 left
    assert s.eta_seconds is not None and s.eta_seconds > 0
    assert any("FAILED" in line and "blocks 4, 6" in line for line in s.recent_events)


def test_progress_updates_the_worker_row_and_usage_replaces_totals():
    b = SnapshotBuilder()
    b.fold(ev.RunStarted(run_id="r", total=1, ready=1, ts=T0))
    b.fold(ev.TaskStarted(run_id="r", task_id="7", title="x", worker_id="w9", ts=T0))
    b.fold(ev.TaskProgress(run_id="r", task_id="7", phase="testing", turns=3, cost_usd=0.25, ts=T0 + 1))
    (row,) = b.snapshot(now=T0 + 2).workers
    assert (row.phase, row.turns, row.cost_usd, row.started_at) == ("testing", 3, 0.25, T0)
    b.fold(ev.Usage(run_id="r", tokens_in=100, cost_usd=1.5, ratelimit_headroom=0.4))
    b.fold(ev.Usage(run_id="r", tokens_in=50, cost_usd=0.5, delta=True))
    u = b.snapshot().usage
    assert (u.tokens_in, u.cost_usd, u.ratelimit_headroom) == (150, 2.0, 0.4)
    b.fold(ev.RateLimited(run_id="r", status="allowed_warning", utilization=0.82))
    assert b.snapshot().usage.usage_window_pct == pytest.approx(82)


def test_eta_follows_the_critical_path():
    b = SnapshotBuilder()
    b.fold(ev.RunStarted(run_id="r", total=3, ready=1, critical_path=["a", "b", "c"], ts=T0))
    assert b.snapshot(now=T0).eta_seconds is None  # nothing measured yet
    b.fold(ev.TaskStarted(run_id="r", task_id="a", ts=T0))
    b.fold(ev.TaskCompleted(run_id="r", task_id="a", duration_s=100, ts=T0 + 100))
    b.fold(ev.TaskReady(run_id="r", task_id="b", ts=T0 + 100))
    b.fold(ev.TaskStarted(run_id="r", task_id="b", ts=T0 + 100))
    s = b.snapshot(now=T0 + 130)
    assert s.critical_path_remaining == 2
    assert s.eta_seconds == pytest.approx(170)  # two more at ~100 s, 30 s already spent on b


def lines_of(renderable, width: int) -> list[str]:
    con = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    con.print(renderable)
    return con.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 200])
def test_render_fits_the_width(width):
    lines = lines_of(render(built(), width), width)
    assert all(len(line) <= width for line in lines)
    text = "\n".join(lines)
    assert "run 20261121-233000-ab12" in text
    assert "ready 0  running 1  waiting 2  blocked 2  done 2  failed 1  retries 1" in text
    assert "3 Next" in text
    assert "$0.50 of $10.00 (5%)" in text
    assert "task 2 FAILED" in text
    assert ("critical path" in text) == (width >= 100)


def test_render_truncates_huge_titles_instead_of_wrapping():
    b = SnapshotBuilder()
    b.fold(ev.RunStarted(run_id="r", total=1, ready=1, ts=T0))
    b.fold(ev.TaskStarted(run_id="r", task_id="1", title="word " * 5000 + "\nsecond line\tTAB", ts=T0))
    lines = lines_of(render(b.snapshot(now=T0 + 5), 80), 80)
    row = [line for line in lines if line.startswith("1 word")]
    assert len(row) == 1 and row[0].rstrip().endswith("00:05") and "…" in row[0]
    assert not any("second line" in line for line in lines)


@pytest.mark.parametrize(
    "snap",
    [
        RunSnapshot(),
        RunSnapshot(tasks=TaskCounts(), usage=UsagePanel(budget_usd=None)),
        RunSnapshot(
            usage=UsagePanel(budget_usd=0.0, cost_usd=5, ratelimit_headroom=0.0, usage_window_pct=250)
        ),
        RunSnapshot(eta_seconds=math.nan, started_at=T0, now=T0 - 50),
        RunSnapshot(workers=(WorkerRow("w", "t", title="", started_at=0.0, cost_usd=-1),)),
        RunSnapshot(recent_events=("x" * 10_000, "line\nbreak")),
    ],
)
def test_render_never_raises_on_odd_snapshots(snap):
    for width in (20, 80, 200):
        lines = lines_of(render(snap, width), width)
        assert lines and all(len(line) <= width for line in lines)
        assert "display unavailable" not in "\n".join(lines)


def test_usage_panel_warns_past_the_thresholds():
    def title(cost):
        s = RunSnapshot(usage=UsagePanel(cost_usd=cost, budget_usd=10))
        return lines_of(render(s, 80, warn_pct=80, critical_pct=95), 80)

    assert not any("WARNING" in line or "CRITICAL" in line for line in title(5))
    assert any("usage - WARNING" in line for line in title(8.5))
    assert any("usage - CRITICAL" in line for line in title(9.6))
    con = Console(record=True, width=80, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    con.print(render(RunSnapshot(usage=UsagePanel(cost_usd=8.5, budget_usd=10)), 80))
    assert "\x1b[1;33m$8.50 of $10.00 (85%)" in con.export_text(styles=True)  # bold yellow


def test_fmt_duration():
    assert (fmt_duration(None), fmt_duration(-1), fmt_duration(59), fmt_duration(3725)) == (
        "--:--",
        "--:--",
        "00:59",
        "1:02:05",
    )


def test_usage_guard_levels_and_one_warning_per_crossing():
    cfg = OrchestratorConfig()
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    guard = UsageGuard(cfg, bus=bus, run_id="r1")
    assert guard.observe(UsagePanel(cost_usd=1, budget_usd=10)) == "ok"
    assert guard.observe(UsagePanel(cost_usd=8.1, budget_usd=10)) == "warn"
    assert guard.observe(UsagePanel(cost_usd=8.5, budget_usd=10)) == "warn"
    assert len(seen) == 1 and seen[0].kind == ev.WARNING and seen[0].data["level"] == "warn"
    assert "budget at 81%" in seen[0].data["message"] and seen[0].run_id == "r1"
    assert guard.observe(RunSnapshot(usage=UsagePanel(usage_window_pct=97.0))) == "critical"
    assert [e.data["level"] for e in seen] == ["warn", "critical"]
    assert seen[1].data["metric"] == "usage window"
    assert guard.observe(UsagePanel(cost_usd=1, budget_usd=10)) == "ok"  # e.g. the window reset
    assert guard.observe(UsagePanel(cost_usd=9, budget_usd=10)) == "warn"  # re-armed
    assert len(seen) == 3
    assert UsageGuard(cfg).observe(UsagePanel(cost_usd=1e6)) == "ok"  # no budget, no window


def test_plain_printer_prints_one_line_per_event():
    out = io.StringIO()
    p = PlainEventPrinter(out)
    for e in run_events():
        p(e)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(run_events()) - 1  # the TASK_PROGRESS is skipped
    assert "task 1 done in 60s, $0.50 @ abc1234" in lines[5]


def test_open_display_uses_plain_lines_off_a_terminal():
    bus = EventBus()
    out = io.StringIO()
    con = Console(file=out, width=80)  # not a terminal
    with open_display(bus, OrchestratorConfig(), console=con) as b:
        for e in run_events():
            bus.publish(e)
        assert b.snapshot().tasks.done == 2
    bus.publish(ev.Log(run_id="r", message="late message"))
    text = out.getvalue()
    assert "task 2 FAILED after 2 attempt(s): tests failed; blocks 4, 6" in text
    assert "late message" not in text  # unsubscribed on exit


def test_live_display_routes_logging_through_its_console():
    out = io.StringIO()
    con = Console(file=out, width=80, force_terminal=True, color_system=None)
    b = SnapshotBuilder()
    for e in run_events():
        b.fold(e)
    root = logging.getLogger()
    before = list(root.handlers)
    with LiveDisplay(con, b, cfg=OrchestratorConfig(), refresh_per_second=20) as live:
        logging.getLogger("claude_orchestrator.test").warning("hello from the engine")
        live.refresh()
    assert root.handlers == before
    text = out.getvalue()
    assert "hello from the engine" in text
    assert "run 20261121-233000-ab12" in text and "usage" in text


def test_finished_run_freezes_elapsed_and_drops_the_eta():
    b = SnapshotBuilder()
    for e in run_events():
        b.fold(e)
    b.fold(ev.RunFinished(run_id="r", status="failed", ts=T0 + 90))
    s = b.snapshot(now=T0 + 500)
    assert (s.status, s.elapsed, s.eta_seconds, s.workers) == ("failed", 90.0, None, ())
    text = "\n".join(lines_of(render(s, 80), 80))
    assert "failed  took 01:30" in text and "ETA" not in text


def test_plain_printer_stops_quietly_on_a_closed_stream():
    out = io.StringIO()
    p = PlainEventPrinter(out)
    out.close()
    p(ev.Log(run_id="r", message="x"))  # no exception
    assert p.closed


def test_groups_are_not_counted_twice_and_follow_ups_add_to_the_total():
    # the shape the scheduler emits: units "1", "2.1", "2.2" (task 2 has subtasks), group "2"
    b = SnapshotBuilder()
    b.fold(ev.RunStarted(run_id="r", total=3, ready=2, workers=2, ts=T0))
    b.fold(ev.TaskStarted(run_id="r", task_id="1", title="one", worker_id="w0", ts=T0))
    b.fold(ev.TaskStarted(run_id="r", task_id="2.1", title="sub", worker_id="w1", ts=T0))
    b.fold(ev.TaskCompleted(run_id="r", task_id="2.1", cost_usd=1.0, duration_s=5, ts=T0 + 5))
    b.fold(ev.TaskStarted(run_id="r", task_id="2.2", title="sub2", worker_id="w1", ts=T0 + 5))
    b.fold(ev.TaskCompleted(run_id="r", task_id="2.2", cost_usd=2.0, duration_s=5, ts=T0 + 10))
    b.fold(ev.TaskCompleted(run_id="r", task_id="2", cost_usd=3.0, subtasks=["2.1", "2.2"], ts=T0 + 10))
    s = b.snapshot(now=T0 + 11)
    assert s.tasks == TaskCounts(running=1, done=2, total=3)
    assert s.usage.cost_usd == pytest.approx(3.0)  # the group's sum is not added again
    assert [w.task_id for w in s.workers] == ["1"]
    # a reviewer adds follow-up units at run time
    b.fold(ev.Log(run_id="r", task_id="1", message="added 2 follow-up units", units=["4", "5"], ts=T0 + 12))
    assert b.snapshot().tasks == TaskCounts(running=1, waiting=2, done=2, total=5)
    # a failure blocks a whole group: the group's own events are listed, not counted
    b.fold(ev.TaskFailed(run_id="r", task_id="1", reason="x", blocked_dependents=["6.1"], ts=T0 + 13))
    b.fold(ev.TaskBlocked(run_id="r", task_id="6.1", reason="dep", blocked_by=["1"], ts=T0 + 13))
    b.fold(
        ev.TaskBlocked(run_id="r", task_id="6", reason="subtask 6.1 blocked", blocked_by=["6.1"], ts=T0 + 13)
    )
    s = b.snapshot()
    assert (s.tasks.failed, s.tasks.blocked, s.tasks.running) == (1, 1, 0)
    assert "task 6 blocked by 6.1: subtask 6.1 blocked" in s.recent_events[-1]


def test_builder_agrees_with_the_real_scheduler():
    from claude_orchestrator.run.executor import LocalExecutor
    from claude_orchestrator.run.scheduler import Scheduler, SchedulerConfig
    from claude_orchestrator.run.units import SchedUnit
    from claude_orchestrator.testing.fake_worker import FakeSpec, FakeWorker
    from claude_orchestrator.workers.base import WorkUnit

    def unit(uid, deps=(), parent=None):
        wu = WorkUnit(unit_id=uid, task_id=uid.split(".")[0], title=f"task {uid}", dependencies=list(deps))
        return SchedUnit(wu, parent=parent)

    units = [
        unit("1"),
        unit("2", ["1"]),  # a group
        unit("2.1", parent="2"),
        unit("2.2", ["2.1"], parent="2"),
        unit("3", ["2"]),
        unit("4", ["99"]),  # unknown dependency: blocked
        unit("5"),
        unit("6", ["5"]),
        unit("7.1", parent="7"),
        unit("7", ["5"]),  # a group whose dependency fails
        unit("8"),
    ]
    fw = FakeWorker(
        default=FakeSpec(duration=0.0), specs={"5": FakeSpec(fail_times=9), "8": FakeSpec(fail_times=1)}
    )
    bus = EventBus()
    b = SnapshotBuilder()
    bus.subscribe(b)
    drift: list[str] = []

    def check(e: Event) -> None:  # at every instant the buckets add up to the same total
        t = b.snapshot().tasks
        if (t.ready + t.running + t.waiting + t.blocked + t.done + t.failed, t.total) != (9, 9):
            drift.append(f"{e.kind} {e.task_id}: {t}")

    bus.subscribe(check)
    config = SchedulerConfig(run_id="r9", max_workers=3, max_retries=1, retry_backoff_s=0.0)
    out = Scheduler(units, LocalExecutor(lambda u: fw), bus=bus, config=config).run()
    s = b.snapshot()
    leaves = lambda ids: len(set(ids) - out.groups)  # noqa: E731
    assert s.status == out.status == "failed"
    assert s.tasks == TaskCounts(
        done=leaves(out.done), failed=leaves(out.failed), blocked=leaves(out.blocked), total=9
    )
    assert (s.tasks.done, s.tasks.failed, s.tasks.blocked) == (5, 1, 3)  # 1 2.1 2.2 3 8 / 5 / 4 6 7.1
    assert s.retries == 2 and s.workers == () and drift == []
    lines = lines_of(render(s, 80), 80)
    assert all(len(line) <= 80 for line in lines)


def test_run_observers_wire_log_slack_and_plain_display(tmp_path, monkeypatch):
    from claude_orchestrator.observers.eventlog import read_events
    from claude_orchestrator.observers.wiring import run_observers
    from claude_orchestrator.run.folder import summary_from_events, write_summary
    from claude_orchestrator.testing.fake_slack import FakeSlack

    bus = EventBus()
    out = io.StringIO()
    cfg = OrchestratorConfig()
    cfg.notifications.notify_on_task_complete = False
    with FakeSlack() as slack:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
        with run_observers(bus, cfg, tmp_path / "run", console=Console(file=out, width=80)):
            for e in run_events():
                bus.publish(e)
            bus.emit(ev.RUN_FINISHED, run_id="r5", status="failed", done=2, failed=1)
            run_path = tmp_path / "run"
            summary = json.loads(write_summary(run_path, summary_from_events(run_path)).read_text())
            assert (summary["status"], summary["tasks_done"], summary["tasks_failed"]) == ("failed", 2, 1)
        bus.emit(ev.LOG, run_id="r5", message="after close")  # nobody listens any more
    logged = list(read_events(tmp_path / "run"))
    assert len(logged) == len(run_events()) + 1 and logged[-1].kind == ev.RUN_FINISHED
    heads = [p["blocks"][0]["text"]["text"] for p in slack.posts]
    assert heads == ["❌ Task 2: API failed", "⚠️ Run r5 failed"]
    assert "task 2 FAILED" in out.getvalue() and "after close" not in out.getvalue()
