"""Scheduler behaviour with the fake worker: DAG shapes, done-before, failures, retries, priorities."""

from __future__ import annotations

import random
import threading

import pytest

from claude_orchestrator import events as ev
from claude_orchestrator.errors import DependencyError
from claude_orchestrator.events import Event, EventBus
from claude_orchestrator.run.executor import LocalExecutor
from claude_orchestrator.run.scheduler import Scheduler, SchedulerConfig, SchedulerHooks
from claude_orchestrator.run.units import SchedUnit, build_graph, schedule_preview
from claude_orchestrator.taskmaster.ids import id_key
from claude_orchestrator.testing.fake_worker import FakeSpec, FakeWorker
from claude_orchestrator.workers.base import WorkUnit


def U(uid: str, deps: list[str] | tuple[str, ...] = (), parent: str | None = None, **kw: object) -> SchedUnit:
    est = kw.pop("est", None)
    wu = WorkUnit(unit_id=uid, task_id=uid.split(".")[0], title=f"task {uid}", dependencies=list(deps), **kw)  # type: ignore[arg-type]
    return SchedUnit(wu, parent=parent, est_duration_s=est)  # type: ignore[arg-type]


class Recorder:
    def __init__(self, bus: EventBus) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()
        bus.subscribe(self)

    def __call__(self, e: Event) -> None:
        with self._lock:
            self.events.append(e)

    def of(self, kind: str) -> list[Event]:
        with self._lock:
            return [e for e in self.events if e.kind == kind]

    def ids(self, kind: str) -> list[str | None]:
        return [e.task_id for e in self.of(kind)]


def make(units, fw=None, *, done_before=(), integrate=None, hold_reason=None, workdir_for=None, **kw):
    """A scheduler over `units` with a fake worker; `kw` are SchedulerConfig fields."""
    bus = EventBus()
    rec = Recorder(bus)
    fw = fw or FakeWorker(default=FakeSpec(duration=0.0))
    kw.setdefault("max_workers", 4)
    kw.setdefault("retry_backoff_s", 0.0)
    kw.setdefault("run_id", "r1")
    s = Scheduler(
        build_graph(units, done_before),
        LocalExecutor(lambda u: fw, workdir_for),
        bus=bus,
        config=SchedulerConfig(**kw),
        hooks=SchedulerHooks(integrate=integrate, hold_reason=hold_reason),
    )
    return s, fw, rec


def assert_deps_respected(fw: FakeWorker, units: list[SchedUnit]) -> None:
    ends = {i.unit_id: i.end for i in fw.intervals if i.ok}
    starts = {i.unit_id: i.start for i in fw.intervals if i.ok}
    for su in units:
        for d in su.unit.dependencies:
            if d in ends and su.id in starts:
                assert starts[su.id] >= ends[d], f"{su.id} started before its dependency {d} ended"


def test_chain_runs_in_order():
    units = [U("1"), U("2", ["1"]), U("3", ["2"]), U("4", ["3"])]
    s, fw, rec = make(units)
    out = s.run()
    assert out.status == "completed" and out.done == {"1", "2", "3", "4"}
    assert rec.ids(ev.TASK_STARTED) == ["1", "2", "3", "4"]
    assert fw.max_active == 1
    started = rec.of(ev.RUN_STARTED)[0].data
    assert (
        started["total"] == 4 and started["ready"] == 1 and started["critical_path"] == ["1", "2", "3", "4"]
    )
    assert rec.of(ev.RUN_FINISHED)[0].data["status"] == "completed"


def test_diamond_passes_dependency_results():
    units = [U("1"), U("2", ["1"]), U("3", ["1"]), U("4", ["2", "3"])]
    s, fw, _ = make(units, FakeWorker(default=FakeSpec(duration=0.05)))
    out = s.run()
    assert out.done == {"1", "2", "3", "4"}
    assert_deps_respected(fw, units)
    four = next(u for u in fw.units if u.unit_id == "4")
    assert four.dependency_results == {"2": "did 2", "3": "did 3"}
    assert fw.max_active == 2  # 2 and 3 overlapped


def test_wide_fan_out_uses_all_workers():
    units = [U("1")] + [U(str(i), ["1"]) for i in range(2, 42)]
    s, fw, _ = make(units, FakeWorker(default=FakeSpec(duration=0.05)), max_workers=8)
    out = s.run()
    assert len(out.done) == 41
    assert fw.max_active == 8
    assert all(n == 1 for n in fw.calls.values())


def test_subtasks_run_in_order_and_parent_completes():
    units = [
        U("1"),
        U("2", ["1"]),  # the parent: a group, never run itself
        U("2.1", parent="2"),
        U("2.2", ["1"], parent="2"),  # a bare number in a subtask's deps is a sibling: 2.1
        U("2.3", ["2.2"], parent="2"),
        U("3", ["2"]),
        U("4.1", ["1"], parent="4"),  # no sibling 4.1 other than itself: top-level task 1
    ]
    s, fw, rec = make(units)
    out = s.run()
    assert "2" not in fw.calls
    assert out.done == {"1", "2", "2.1", "2.2", "2.3", "3", "4", "4.1"} and out.groups == {"2", "4"}
    order = rec.ids(ev.TASK_STARTED)
    assert order.index("1") < order.index("2.1")  # the parent's dependency applies to its subtasks
    assert order.index("2.1") < order.index("2.2") < order.index("2.3") < order.index("3")
    assert order.index("1") < order.index("4.1")
    assert s.graph.deps["2.2"] == {"1", "2.1"} and s.graph.deps["4.1"] == {"1"}
    completed = rec.ids(ev.TASK_COMPLETED)
    assert completed.index("2.3") < completed.index("2") < completed.index("3")
    parent = next(e for e in rec.of(ev.TASK_COMPLETED) if e.task_id == "2")
    assert parent.data["subtasks"] == ["2.1", "2.2", "2.3"]


def test_done_before_counts_as_done():
    # the predecessor never scheduled a task whose dependency was done in an earlier run
    units = [U("4", ["5"]), U("6", ["4", "5"]), U("5")]
    s, fw, rec = make(units, done_before={"5"})
    out = s.run()
    assert out.done == {"4", "6"} and "5" in out.done_before and "5" not in fw.calls
    assert rec.of(ev.RUN_STARTED)[0].data["done_before"] == 1


def test_unknown_dependency_blocks_only_its_dependents():
    units = [U("1"), U("2", ["99"]), U("3", ["2"]), U("4", ["1"])]
    s, _, rec = make(units)
    out = s.run()
    assert out.done == {"1", "4"} and out.blocked == {"2", "3"} and out.status == "failed"
    assert out.blocked_by == {"2": ["99"], "3": ["2"]}
    assert set(rec.ids(ev.TASK_BLOCKED)) == {"2", "3"}


def test_failure_blocks_transitive_dependents_only():
    units = [U("1"), U("2", ["1"]), U("3", ["2"]), U("4", ["3"]), U("5"), U("6", ["5"]), U("7", ["1", "5"])]
    fw = FakeWorker(specs={"2": FakeSpec(fail_times=99)})
    s, fw, rec = make(units, fw, max_retries=1)
    out = s.run()
    assert out.failed == {"2"} and out.blocked == {"3", "4"} and out.done == {"1", "5", "6", "7"}
    assert fw.calls["2"] == 2 and "3" not in fw.calls
    failed = rec.of(ev.TASK_FAILED)[0]
    assert failed.task_id == "2"
    assert failed.data == {"reason": "fake failure 2 of 99", "attempts": 2, "blocked_dependents": ["3", "4"]}
    blocked = {e.task_id: e.data for e in rec.of(ev.TASK_BLOCKED)}
    assert blocked["4"]["blocked_by"] == ["2"]


def test_failed_subtask_fails_parent_and_blocks_its_dependents():
    units = [
        U("9.1", parent="9"),
        U("9.2", ["9.1"], parent="9"),
        U("9.3", parent="9"),
        U("10", ["9"]),
        U("11"),
    ]
    fw = FakeWorker(specs={"9.1": FakeSpec(fail_times=9)})
    s, fw, rec = make(units, fw, max_retries=0)
    out = s.run()
    assert out.failed == {"9.1", "9"} and out.blocked == {"9.2", "10"} and out.done == {"9.3", "11"}
    assert any(e.task_id == "9" for e in rec.of(ev.TASK_FAILED))


def test_worker_exception_is_a_failed_attempt():
    fw = FakeWorker(specs={"1": FakeSpec(fail_times=1, raises=True)})
    s, fw, rec = make([U("1")], fw, max_retries=2)
    out = s.run()
    assert out.done == {"1"} and fw.calls["1"] == 2
    assert "RuntimeError" in rec.of(ev.TASK_RETRY)[0].data["reason"]


def test_retries_with_exponential_backoff_do_not_block_dispatch():
    units = [U("1", priority="high"), U("2"), U("3", ["2"])]
    fw = FakeWorker(specs={"1": FakeSpec(fail_times=2)})
    s, fw, rec = make(units, fw, max_workers=1, max_retries=3, retry_backoff_s=0.25)
    out = s.run()
    assert out.done == {"1", "2", "3"} and fw.calls["1"] == 3
    retries = rec.of(ev.TASK_RETRY)
    assert [(e.data["attempt"], e.data["delay_s"]) for e in retries] == [(2, 0.25), (3, 0.5)]
    # with one worker, 2 and 3 ran while 1 was backing off
    starts = rec.ids(ev.TASK_STARTED)
    assert starts[:3] == ["1", "2", "3"] and starts.count("1") == 3


def test_priority_then_chain_then_id():
    units = [
        U("1", priority="low"),
        U("2"),
        U("3"),
        U("4", ["3"]),
        U("5", priority="critical"),
        U("10"),
        U("9"),
    ]
    s, _, rec = make(units, max_workers=1)
    s.run()
    assert rec.ids(ev.TASK_STARTED) == ["5", "3", "2", "4", "9", "10", "1"]


def test_estimated_durations_weight_the_chain():
    units = [U("1", est=10.0), U("2", est=1.0), U("3", ["2"], est=1.0)]
    s, _, rec = make(units, max_workers=1)
    s.run()
    assert rec.ids(ev.TASK_STARTED)[0] == "1"


def test_cycle_and_duplicates_are_refused():
    with pytest.raises(DependencyError) as e:
        make([U("1", ["3"]), U("2", ["1"]), U("3", ["2"]), U("4")])
    assert str(e.value) == "dependency cycle: 1 -> 3 -> 2 -> 1"
    with pytest.raises(DependencyError, match="duplicate unit ids: 1"):
        make([U("1"), U("1")])


def test_unit_graph_tables_are_derived_from_its_networkx_graph():
    g = build_graph([U("1"), U("2", ["1"]), U("3", ["1", "2"]), U("9", ["8"])])
    assert g.add([U("4", ["3", "1"])]) == ["4"]
    with pytest.raises(DependencyError, match="dependency cycle: 5 -> 6 -> 5"):
        g.add([U("5", ["6"]), U("6", ["5", "4"])])
    assert g.topo == ["1", "2", "3", "9", "4"] and set(g.graph) == set(g.topo)  # the cycle rolled back
    assert g.deps == {u: set(g.graph.pred[u]) for u in g.graph}
    assert g.dependents == {u: list(g.graph.succ[u]) for u in g.graph}
    assert g.dependents["1"] == ["2", "3", "4"] and g.deps["4"] == {"1", "3"}
    assert g.unreachable() == {"9"} and g.missing == {"9": ["8"]}


def test_id_key_orders_numerically():
    assert sorted(["10", "2", "1.10", "1.2", "1", "x"], key=id_key) == ["1", "1.2", "1.10", "2", "10", "x"]


def test_thousand_units_sixteen_workers_each_runs_exactly_once():
    rng = random.Random(7)
    units = []
    for i in range(1, 1001):
        deps = sorted(
            {str(rng.randint(max(1, i - 50), i - 1)) for _ in range(rng.randint(0, 3))} if i > 1 else set()
        )
        units.append(U(str(i), deps, priority=rng.choice(["low", "medium", "high"])))
    fw = FakeWorker(default=FakeSpec(duration=0.001))
    s, fw, rec = make(units, fw, max_workers=16)
    out = s.run()
    assert out.status == "completed" and len(out.done) == 1000
    assert len(fw.calls) == 1000 and set(fw.calls.values()) == {1}
    assert len(rec.of(ev.TASK_STARTED)) == 1000 and len(rec.of(ev.TASK_COMPLETED)) == 1000
    assert fw.max_active <= 16
    assert_deps_respected(fw, units)


def test_exclusive_files_never_overlap():
    files = ["src/a.py", "src/b.py", "src", "docs/x.md", "./src/a.py"]
    units = [U(str(i), relevant_files=[files[i % len(files)]]) for i in range(1, 31)]
    fw = FakeWorker(default=FakeSpec(duration=0.01))
    s, fw, _ = make(units, fw, max_workers=6, exclusive_files=True)
    out = s.run()
    assert len(out.done) == 30
    by_id = {su.id: su.unit.relevant_files[0].removeprefix("./") for su in units}

    def clash(a: str, b: str) -> bool:
        return a == b or a.startswith(b + "/") or b.startswith(a + "/")

    iv = fw.intervals
    for i, x in enumerate(iv):
        for y in iv[i + 1 :]:
            if clash(by_id[x.unit_id], by_id[y.unit_id]):
                assert x.end <= y.start or y.end <= x.start, (x, y)
    assert fw.max_active >= 2  # docs/ ran beside src/


def test_observer_that_raises_does_not_break_the_run():
    s, _, _ = make([U("1"), U("2", ["1"])])

    def bad(e: Event) -> None:
        raise ValueError("observer bug")

    s.bus.subscribe(bad)
    assert s.run().done == {"1", "2"}


def test_schedule_preview():
    units = [U("1"), U("2", ["1"]), U("3", ["1"]), U("4", ["2", "3"]), U("5")]
    p = schedule_preview(units, 2, durations={"1": 1, "2": 3, "3": 1, "4": 1, "5": 2})
    assert p.critical_path == ["1", "2", "4"]
    assert p.makespan == 5.0 and p.lower_bound == 5.0
    assert p.order == ["1", "5", "2", "3", "4"]
    assert {s.unit_id: (s.start, s.end) for s in p.slots}["4"] == (4.0, 5.0)
    blocked = schedule_preview([U("1", ["7"]), U("2", ["1"]), U("3")], 4)
    assert blocked.order == ["3"] and blocked.blocked == {"1": ["7"]}


def test_options_from_config():
    from dataclasses import asdict

    from claude_orchestrator.config import OrchestratorConfig

    cfg = OrchestratorConfig()
    opts = SchedulerConfig.from_config(cfg.execution)
    assert asdict(opts) == {
        **asdict(SchedulerConfig()),
        "max_workers": 3,
        "max_retries": 3,
        "retry_backoff_s": 2.0,
        "timeout_s": 1800,
        "grace_s": 30,
        "exclusive_files": True,
    }
    off = cfg.execution.model_copy(update={"exclusive_files": False})
    assert not SchedulerConfig.from_config(off).exclusive_files
    shared = SchedulerConfig.from_config(off, shared_workdir=True, run_id="r2", max_workers=0)
    assert shared.exclusive_files and shared.run_id == "r2" and shared.max_workers == 1  # at least one
    s, _, _ = make([U("1")], **{**asdict(opts), "retry_backoff_s": 0.0})
    assert s.run().done == {"1"}
