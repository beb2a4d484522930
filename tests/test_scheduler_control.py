"""Scheduler control paths: timeouts that really stop work, integrator decisions, stop, admission gate;
and the process-group helper every backend uses."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from test_scheduler import U, make

from claude_orchestrator import events as ev
from claude_orchestrator.errors import MergeConflictError
from claude_orchestrator.events import Event, EventBus
from claude_orchestrator.process import run_process_group
from claude_orchestrator.run.executor import LocalExecutor
from claude_orchestrator.run.retry import Reason, RetryPolicy
from claude_orchestrator.run.scheduler import Decision, Scheduler, SchedulerConfig
from claude_orchestrator.testing.fake_worker import FakeSpec, FakeWorker
from claude_orchestrator.workers.base import Worker, WorkResult, WorkUnit


def live_in_group(pgid: int) -> list[int]:
    """Pids (not zombies) whose process group is pgid."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(d.name))
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# --- timeouts ----------------------------------------------------------------------------------------


def test_hanging_worker_times_out_and_really_stops():
    fw = FakeWorker(specs={"1": FakeSpec(hang=True)})
    s, fw, rec = make(
        [U("1"), U("2", ["1"]), U("3")], fw, timeout_s=0.2, timeout_margin_s=0.05, max_retries=0
    )
    out = s.run()
    assert out.failed == {"1"} and out.blocked == {"2"} and out.done == {"3"}
    assert out.reasons["1"] == "timed out after 0.2s"
    assert fw.finished == fw.calls["1"] + 1 and fw.active == 0  # the hung thread returned


def test_timed_out_unit_is_retried():
    fw = FakeWorker(specs={"1": FakeSpec(hang=True)})
    s, fw, rec = make([U("1")], fw, timeout_s=0.1, timeout_margin_s=0.0, max_retries=1)
    out = s.run()
    assert out.failed == {"1"} and fw.calls["1"] == 2
    assert rec.of(ev.TASK_RETRY)[0].data["reason"] == "timed out after 0.1s"


def test_timeout_kills_the_whole_process_group(tmp_path: Path):
    cmd = ["bash", "-c", "sleep 1000 & sleep 1000"]
    fw = FakeWorker(specs={"1": FakeSpec(command=cmd)})
    s, fw, _ = make(
        [U("1")], fw, timeout_s=0.3, timeout_margin_s=0.0, max_retries=0, workdir_for=lambda u: tmp_path
    )
    out = s.run()
    assert out.failed == {"1"}
    assert fw.pids and live_in_group(fw.pids[0]) == []


# --- integrator decisions ----------------------------------------------------------------------------


def test_review_retry_carries_feedback_and_does_not_use_max_retries():
    calls: list[tuple[str, int]] = []  # (unit, attempt) as the hook saw them

    def hook(u: WorkUnit, res: WorkResult) -> Decision:
        calls.append((u.unit_id, u.attempt))
        if u.unit_id == "1" and sum(1 for c in calls if c[0] == "1") == 1:
            return Decision("retry", feedback="tests missing for parse()")
        return Decision("done", commit="abc123", branch=f"orchestrator/{u.unit_id}")

    s, fw, rec = make([U("1"), U("2", ["1"])], max_retries=0, integrate=hook)
    out = s.run()
    assert out.done == {"1", "2"} and fw.calls["1"] == 2
    assert calls == [("1", 1), ("1", 2), ("2", 1)]
    second = [u for u in fw.units if u.unit_id == "1"][1]
    assert second.attempt == 2 and second.feedback == "tests missing for parse()"
    retry = rec.of(ev.TASK_RETRY)[0].data
    assert retry == {"attempt": 2, "reason": "review: tests missing for parse()", "delay_s": 0.0}
    done = {e.task_id: e.data for e in rec.of(ev.TASK_COMPLETED)}
    assert done["1"]["commit"] == "abc123" and done["2"]["branch"] == "orchestrator/2"


def test_second_review_retry_fails_and_blocks():
    policy = RetryPolicy()  # integration's policy decides; the scheduler has no cap of its own

    def hook(u: WorkUnit, res: WorkResult) -> Decision:
        return policy.decide(
            u.unit_id, Reason.REVIEW_FAILED, feedback="still wrong", final="review failed twice"
        )

    s, fw, rec = make([U("1"), U("2", ["1"])], integrate=hook)
    out = s.run()
    assert out.failed == {"1"} and out.blocked == {"2"} and fw.calls["1"] == 2
    assert out.reasons["1"] == "review failed twice"


def test_fail_decision_and_integration_error():
    def hook(u: WorkUnit, res: WorkResult) -> Decision:
        if u.unit_id == "1":
            return Decision("fail", reason="review rejected: no tests")
        if u.unit_id == "3":
            raise MergeConflictError("conflict in src/a.py")
        return Decision()

    s, _, rec = make([U("1"), U("2", ["1"]), U("3"), U("4")], integrate=hook)
    out = s.run()
    assert out.failed == {"1", "3"} and out.blocked == {"2"} and out.done == {"4"}
    assert out.reasons["3"] == "integration failed: conflict in src/a.py"


def test_integrator_bug_stops_the_run_loudly():
    def hook(u: WorkUnit, res: WorkResult) -> Decision:
        raise KeyError("bug")

    s, _, rec = make([U("1"), U("2", ["1"])], integrate=hook)
    with pytest.raises(KeyError):
        s.run()
    assert rec.of(ev.RUN_FINISHED)[0].data["status"] == "error"


def test_broken_admission_gate_stops_the_run_loudly():
    def gate() -> str | None:
        raise RuntimeError("ledger unreadable")

    s, fw, rec = make([U("1")], hold_reason=gate)
    with pytest.raises(RuntimeError, match="ledger unreadable"):
        s.run()
    assert fw.calls == {} and rec.of(ev.RUN_FINISHED)[0].data["error"] == "RuntimeError: ledger unreadable"


def test_hook_runs_one_at_a_time_and_adds_follow_ups():
    active, peak = [0], [0]
    lock = threading.Lock()

    def hook(u: WorkUnit, res: WorkResult) -> Decision:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            if u.unit_id == "1":
                return Decision(new_units=[U("20", ["1"]), U("21", ["20", "2"]), U("22", ["99"])])
            if u.unit_id == "2":  # a cycle among follow-ups is refused, the run goes on
                return Decision(new_units=[U("30", ["31"]), U("31", ["30"])])
            return Decision()
        finally:
            with lock:
                active[0] -= 1

    units = [U(str(i)) for i in range(1, 9)]
    fw = FakeWorker(default=FakeSpec(duration=0.01))
    s, fw, rec = make(units, fw, max_workers=4, integrate=hook)
    out = s.run()
    assert peak[0] == 1
    assert {"20", "21"} <= out.done and out.blocked == {"22"} and "30" not in fw.calls
    assert fw.calls["20"] == 1 and fw.calls["21"] == 1
    assert any("follow-up units rejected: dependency cycle" in e.data["message"] for e in rec.of(ev.WARNING))


# --- stop and admission --------------------------------------------------------------------------------


def test_request_stop_waits_grace_then_interrupts():
    fw = FakeWorker(specs={"1": FakeSpec(duration=0.2), "2": FakeSpec(hang=True), "3": FakeSpec(hang=True)})
    units = [U("1"), U("2"), U("3"), U("4", ["1"]), U("5")]
    s, fw, rec = make(units, fw, max_workers=3, grace_s=5.0)
    started: list[str] = []

    def on_start(e: Event) -> None:
        if e.kind == ev.TASK_STARTED:
            started.append(str(e.task_id))
            if len(started) == 3:
                s.request_stop(grace_s=1.0)

    s.bus.subscribe(on_start)
    out = s.run()
    assert out.status == "stopped"
    assert out.done == {"1"} and out.interrupted == {"2", "3"} and out.pending == {"4", "5"}
    assert fw.active == 0 and fw.finished == 3
    fin = rec.of(ev.RUN_FINISHED)[0].data
    assert fin["status"] == "stopped" and fin["interrupted"] == ["2", "3"]
    assert any("stop requested" in e.data["message"] for e in rec.of(ev.WARNING))


def test_admission_gate_holds_then_resumes():
    answers = iter(["budget pause until 12:00", "budget pause until 12:00", "rate limit"])
    calls = [0]

    def gate() -> str | None:
        calls[0] += 1
        return next(answers, None)

    s, fw, rec = make([U("1"), U("2"), U("3", ["1"])], hold_reason=gate, gate_poll_s=0.01)
    out = s.run()
    assert out.done == {"1", "2", "3"} and calls[0] == 6
    holds = [e.data["hold"] for e in rec.of(ev.WARNING)]
    assert holds == ["budget pause until 12:00", "rate limit"]
    assert [e.data["message"] for e in rec.of(ev.LOG)] == ["dispatch resumed"]


# --- the process-group helper ----------------------------------------------------------------------------


def test_process_group_timeout_kills_children(tmp_path: Path):
    r = run_process_group(["bash", "-c", "sleep 1000 & echo $!; sleep 1000"], cwd=tmp_path, timeout=0.3)
    assert r.timed_out and not r.ok
    child = int(r.stdout.split()[0])
    assert not alive(child) and live_in_group(r.pid) == []


def test_process_group_cancel_and_term_ignored(tmp_path: Path):
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    r = run_process_group(
        ["bash", "-c", "trap '' TERM; sleep 1000"], cwd=tmp_path, cancel=cancel, term_grace=0.2
    )
    assert r.cancelled and live_in_group(r.pid) == []


def test_process_group_leftovers_killed_and_output_bounded(tmp_path: Path):
    r = run_process_group(["bash", "-c", "sleep 1000 & echo $!"], cwd=tmp_path, timeout=30)
    assert r.ok and r.duration_s < 10 and not alive(int(r.stdout.split()[0]))
    big = run_process_group(
        ["bash", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo END"], cwd=tmp_path, max_output=1000
    )
    assert big.truncated and big.stdout.startswith("x" * 500) and big.stdout.endswith("END\n")
    assert len(big.stdout) < 1100
    env = run_process_group(
        ["bash", "-c", "echo $FOO; echo err >&2"], cwd=tmp_path, env={**os.environ, "FOO": "bar"}
    )
    assert env.stdout == "bar\n" and env.stderr == "err\n"


def test_second_stop_shortens_the_grace():
    fw = FakeWorker(default=FakeSpec(hang=True))
    s, fw, rec = make([U("1"), U("2")], fw, max_workers=2)

    def on_start(e: Event) -> None:
        if e.kind == ev.TASK_STARTED and e.task_id == "2":
            s.request_stop(grace_s=600)
            s.request_stop(grace_s=0)

    s.bus.subscribe(on_start)
    out = s.run()
    assert out.interrupted == {"1", "2"} and out.makespan_s < 60
    warned = {e.task_id for e in rec.of(ev.WARNING) if e.data.get("interrupted")}
    assert warned == {"1", "2"}


def test_stop_during_backoff_leaves_the_unit_pending():
    fw = FakeWorker(specs={"1": FakeSpec(fail_times=5)})
    s, fw, rec = make([U("1")], fw, retry_backoff_s=600)
    s.bus.subscribe(lambda e: s.request_stop() if e.kind == ev.TASK_RETRY else None)
    out = s.run()
    assert out.pending == {"1"} and out.status == "stopped" and fw.calls["1"] == 1 and out.makespan_s < 60


class Stubborn:
    """A broken backend that ignores ctx.cancel."""

    name = "stubborn"

    def __init__(self) -> None:
        self.release = threading.Event()

    def run(self, unit, ctx):
        self.release.wait(60)
        return WorkResult(ok=True)


def test_worker_that_ignores_cancel_is_reported_left_behind():
    w = Stubborn()
    assert isinstance(w, Worker) and isinstance(FakeWorker(), Worker)
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    s = Scheduler(
        [U("1")], LocalExecutor(lambda u: w), bus=bus, config=SchedulerConfig(grace_s=0.0, kill_wait_s=0.2)
    )
    bus.subscribe(lambda e: s.request_stop() if e.kind == ev.TASK_STARTED else None)
    try:
        out = s.run()
    finally:
        w.release.set()
    assert out.interrupted == {"1"} and out.reasons["1"] == "did not stop after cancel"
    assert any(e.data.get("message") == "workers still running after cancel (left behind)" for e in seen)


def test_request_stop_from_a_signal_handler():
    import signal

    fw = FakeWorker(default=FakeSpec(hang=True))
    s, fw, _ = make([U("1"), U("2", ["1"])], fw, grace_s=0.0)
    old = signal.signal(signal.SIGUSR1, lambda *_: s.request_stop())
    try:
        s.bus.subscribe(lambda e: os.kill(os.getpid(), signal.SIGUSR1) if e.kind == ev.TASK_STARTED else None)
        out = s.run()
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert out.interrupted == {"1"} and out.pending == {"2"} and fw.active == 0


def test_decision_kind_is_checked():
    with pytest.raises(ValueError, match="Decision.kind must be done, retry or fail, not 'accept'"):
        Decision("accept")  # type: ignore[arg-type]


def test_more_review_retries_when_asked_and_workdir_errors_are_attempt_failures(tmp_path: Path):
    seen: dict[str, int] = {}

    def hook(u: WorkUnit, res: WorkResult) -> Decision:
        seen[u.unit_id] = seen.get(u.unit_id, 0) + 1
        return Decision("retry", feedback=f"round {seen[u.unit_id]}") if seen[u.unit_id] <= 3 else Decision()

    calls = [0]

    def workdir_for(u: WorkUnit) -> Path:
        calls[0] += 1
        if calls[0] == 1:
            raise OSError("git worktree add failed")
        return tmp_path

    s, fw, rec = make([U("1")], integrate=hook, max_retries=1, workdir_for=workdir_for)
    out = s.run()
    assert out.done == {"1"} and fw.calls["1"] == 4 and seen["1"] == 4
    reasons = [e.data["reason"] for e in rec.of(ev.TASK_RETRY)]
    assert reasons[0] == "worker raised OSError: git worktree add failed"
    assert reasons[1:] == ["review: round 1", "review: round 2", "review: round 3"]
    assert [u.feedback for u in fw.units] == [None, "round 1", "round 2", "round 3"]
