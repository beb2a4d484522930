"""Integration in two stages: `prepare` (commit, review) for many units at once, the merge one unit at a
time; a whole run's reviews are in flight together (the real SDK against the fake model)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from run_helpers import make_project as make_repo
from run_helpers import task as _task
from run_helpers import tasks_of
from test_engine import _writer, env_fake, run_cli  # noqa: F401  (a fixture)
from test_scheduler import Recorder, U

from claude_orchestrator import events as ev
from claude_orchestrator.events import EventBus
from claude_orchestrator.run.executor import LocalExecutor
from claude_orchestrator.run.scheduler import Scheduler, SchedulerConfig, SchedulerHooks
from claude_orchestrator.run.state import Decision
from claude_orchestrator.run.units import build_graph
from claude_orchestrator.testing.fake_anthropic import FakeRequest, Reply, slow
from claude_orchestrator.testing.fake_worker import FakeSpec, FakeWorker
from claude_orchestrator.workers.base import WorkResult, WorkUnit


class Peak:
    """How many threads are inside at once, at most."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.now -= 1


def pipeline(units: list[Any], prepare: Any, integrate: Any, workers: int = 4) -> tuple[Scheduler, Recorder]:
    bus = EventBus()
    rec = Recorder(bus)
    fw = FakeWorker(default=FakeSpec(duration=0.0))
    s = Scheduler(
        build_graph(units),
        LocalExecutor(lambda u: fw),
        bus=bus,
        config=SchedulerConfig(max_workers=workers, retry_backoff_s=0.0, run_id="r1"),
        hooks=SchedulerHooks(prepare=prepare, integrate=integrate),
    )
    return s, rec


def test_prepare_runs_for_many_units_at_once_and_integrate_for_one():
    together = threading.Barrier(3, timeout=30)  # three prepares must be in flight at once, or this breaks
    in_prepare, in_integrate = Peak(), Peak()
    order: list[str] = []

    def prepare(u: WorkUnit, res: WorkResult) -> Decision | None:
        with in_prepare:
            if u.unit_id in ("1", "2", "3"):
                together.wait()
            return None

    def integrate(u: WorkUnit, res: WorkResult) -> Decision:
        with in_integrate:
            order.append(u.unit_id)
            return Decision("done", commit=f"c{u.unit_id}")

    units = [U("1"), U("2"), U("3"), U("4", ["1", "2", "3"])]
    s, rec = pipeline(units, prepare, integrate, workers=3)
    out = s.run()
    assert out.status == "completed" and out.done == {"1", "2", "3", "4"}
    assert in_prepare.peak >= 3 and in_integrate.peak == 1
    assert sorted(order[:3]) == ["1", "2", "3"] and order[3] == "4"
    assert {e.task_id: e.data["commit"] for e in rec.of(ev.TASK_COMPLETED)}["4"] == "c4"


def test_a_decision_in_prepare_settles_the_unit_without_a_merge():
    seen: dict[str, int] = {}
    merged: list[str] = []

    def prepare(u: WorkUnit, res: WorkResult) -> Decision | None:
        seen[u.unit_id] = seen.get(u.unit_id, 0) + 1
        if u.unit_id == "1" and seen["1"] == 1:
            return Decision("retry", feedback="add the tests")
        if u.unit_id == "2":
            return Decision("fail", reason="review failed twice")
        if u.unit_id == "3":
            raise KeyError("a bug in prepare")
        return None

    def integrate(u: WorkUnit, res: WorkResult) -> Decision:
        merged.append(u.unit_id)
        return Decision()

    s, rec = pipeline([U("1"), U("2"), U("5", ["2"])], prepare, integrate)
    out = s.run()
    assert out.done == {"1"} and out.failed == {"2"} and out.blocked == {"5"}
    assert merged == ["1"] and seen["1"] == 2
    assert rec.of(ev.TASK_RETRY)[0].data["reason"] == "review: add the tests"

    s, rec = pipeline([U("3")], prepare, integrate)
    with pytest.raises(KeyError):
        s.run()
    assert rec.of(ev.RUN_FINISHED)[0].data["status"] == "error"


def test_prepare_alone_is_enough():
    done: list[str] = []

    def prepare(u: WorkUnit, res: WorkResult) -> Decision | None:
        done.append(u.unit_id)
        return None

    s, _ = pipeline([U("1"), U("2", ["1"])], prepare, None)
    assert s.run().done == {"1", "2"} and done == ["1", "2"]


def test_reviews_of_a_run_are_in_flight_together(tmp_path: Path, env_fake: Any):  # noqa: F811
    """Two tasks, two workers, a slow reviewer: each review waits until the other one has started.
    Reviewed one after the other (as when the review ran on the serial path) the first would wait in vain,
    fail, and fail the run."""
    root = make_repo(tmp_path / "p", [_task(1), _task(2)])
    both = threading.Barrier(2, timeout=60)
    inner = _writer({"1": ("one.txt", "1\n"), "2": ("two.txt", "2\n")})

    def model(req: FakeRequest) -> Reply:
        if "reviewing manager" not in req.system_text:
            return inner(req)
        both.wait()  # alone: BrokenBarrierError, answered as a server error, and the review fails
        return slow(inner(req), 1.0)

    env_fake(model)
    res = run_cli(root, "--backend", "api", "--workers", "2")
    assert res.exit_code == 0, res.output
    assert [t["status"] for t in tasks_of(root).values()] == ["done", "done"]
    assert (root / "one.txt").read_text() == "1\n" and (root / "two.txt").read_text() == "2\n"
    summary = json.loads(next((root / ".taskmaster" / "runs").glob("*/summary.json")).read_text())
    integration = summary["integration"]
    assert integration["prepared"] == 2 and integration["merges"] == 2
    assert integration["prepare_s"] >= 2.0  # two slow reviews, in about one second of the run
    assert 0 < integration["merge_s"] < 1.0  # the serial stage never waited for a review
