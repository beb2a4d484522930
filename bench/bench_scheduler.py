"""Scheduler figures: makespan against the lower bound (ready queue vs. waves) and overhead per task.

    .venv/bin/python bench/bench_scheduler.py [--tasks 1000] [--workers 16] [--seconds 3] [--seed 1]

Makespan: a random DAG whose task durations are lognormal (sigma 1, scaled so total work / workers is
about --seconds), run by a fake worker that really sleeps. Lower bound = max(critical path, total work /
workers). The same graph is then run level by level (waves: a level starts when the previous one is all
done). Overhead: 10,000 zero-length tasks; wall time / tasks.
"""

from __future__ import annotations

import argparse
import random
import time

from claude_orchestrator.events import EventBus
from claude_orchestrator.run.executor import LocalExecutor
from claude_orchestrator.run.scheduler import Scheduler, SchedulerConfig
from claude_orchestrator.run.units import SchedUnit, build_graph, schedule_preview
from claude_orchestrator.testing.fake_worker import FakeSpec, FakeWorker
from claude_orchestrator.workers.base import WorkUnit

LAST_CPU = [0.0]


def random_dag(n: int, rng: random.Random, window: int = 60, max_deps: int = 3) -> list[list[str]]:
    deps = [[]]
    for i in range(2, n + 1):
        k = rng.randint(0, max_deps)
        deps.append(sorted({str(rng.randint(max(1, i - window), i - 1)) for _ in range(k)}))
    return deps


def make_units(deps: list[list[str]], durations: list[float] | None, with_estimates: bool) -> list[SchedUnit]:
    out = []
    for i, d in enumerate(deps, 1):
        meta = {"fake": {"duration": durations[i - 1]}} if durations else {}
        wu = WorkUnit(unit_id=str(i), task_id=str(i), title=f"t{i}", dependencies=d, metadata=meta)
        est = durations[i - 1] if durations and with_estimates else None
        out.append(SchedUnit(wu, est_duration_s=est))
    return out


def run(
    units: list[SchedUnit], workers: int, done_before: set[str] | None = None
) -> tuple[float, FakeWorker]:
    fw = FakeWorker(default=FakeSpec(), record=False)
    s = Scheduler(
        build_graph(units, done_before or set()),
        LocalExecutor(lambda u: fw),
        bus=EventBus(),
        config=SchedulerConfig(max_workers=workers, max_retries=0),
    )
    t0, c0 = time.perf_counter(), time.thread_time()
    out = s.run()
    wall = time.perf_counter() - t0
    LAST_CPU[0] = time.thread_time() - c0  # the scheduler thread's own CPU time
    assert out.status == "completed", out.status
    return wall, fw


def levels(deps: list[list[str]]) -> list[list[int]]:
    lvl: dict[int, int] = {}
    for i, d in enumerate(deps, 1):
        lvl[i] = 1 + max((lvl[int(x)] for x in d), default=-1)
    out: list[list[int]] = [[] for _ in range(max(lvl.values()) + 1)]
    for i, v in lvl.items():
        out[v].append(i)
    return out


def run_waves(units: list[SchedUnit], deps: list[list[str]], workers: int) -> float:
    done: set[str] = set()
    t0 = time.perf_counter()
    for level in levels(deps):
        batch = [units[i - 1] for i in level]
        run(batch, workers, done_before=set(done))
        done.update(str(i) for i in level)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--overhead-tasks", type=int, default=10_000)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    deps = random_dag(a.tasks, rng)
    raw = [rng.lognormvariate(0, 1.0) for _ in range(a.tasks)]
    scale = a.seconds * a.workers / sum(raw)
    dur = [x * scale for x in raw]

    g = build_graph(make_units(deps, dur, True))
    cp = g.critical_path()
    cp_len = sum(dur[int(u) - 1] for u in cp)
    bound = max(cp_len, sum(dur) / a.workers)
    print(f"random DAG: {a.tasks} tasks, {a.workers} workers, {len(levels(deps))} levels, seed {a.seed}")
    print(
        f"  durations lognormal(0,1) scaled: mean {sum(dur) / len(dur) * 1000:.1f} ms, max {max(dur) * 1000:.0f} ms"
    )
    print(f"  critical path {cp_len:.3f} s ({len(cp)} tasks), work/workers {sum(dur) / a.workers:.3f} s")
    print(f"  lower bound {bound:.3f} s")
    sim = schedule_preview(make_units(deps, dur, True), a.workers, {str(i): d for i, d in enumerate(dur, 1)})
    print(f"  simulated (schedule_preview):      {sim.makespan:.3f} s  ratio {sim.makespan / bound:.3f}")
    for label, est in (
        ("ready queue, estimated durations", True),
        ("ready queue, unit-count chains ", False),
    ):
        wall, fw = run(make_units(deps, dur, est), a.workers)
        assert len(fw.calls) == a.tasks and set(fw.calls.values()) == {1}
        print(f"  {label}:  {wall:.3f} s  ratio {wall / bound:.3f}  (max concurrency {fw.max_active})")
    waves = run_waves(make_units(deps, dur, True), deps, a.workers)
    print(f"  waves (level by level):            {waves:.3f} s  ratio {waves / bound:.3f}")

    n = a.overhead_tasks
    zdeps = random_dag(n, random.Random(a.seed + 1))
    for label, d in (("independent", [[] for _ in range(n)]), ("random DAG ", zdeps)):
        wall, fw = run(make_units(d, None, False), a.workers)
        assert len(fw.calls) == n
        print(
            f"overhead, {n} zero-length tasks ({label}), {a.workers} workers: {wall:.3f} s wall = "
            f"{wall / n * 1000:.3f} ms/task; scheduler-thread CPU {LAST_CPU[0] / n * 1000:.3f} ms/task"
        )


if __name__ == "__main__":
    main()
