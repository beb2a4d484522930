"""Randomised runs: whatever fails, every unit ends in exactly one state, nothing runs twice at once or
before its dependencies, and blocked units are blocked by a real failure upstream."""

from __future__ import annotations

import random
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scheduler import U, make

from claude_orchestrator import events as ev
from claude_orchestrator.run.scheduler import Decision
from claude_orchestrator.run.units import schedule_preview
from claude_orchestrator.testing.fake_worker import FakeSpec, FakeWorker


@pytest.mark.parametrize("seed", range(6))
def test_random_runs_keep_their_invariants(seed: int):
    rng = random.Random(seed)
    n = 150
    units, specs = [], {}
    for i in range(1, n + 1):
        deps = sorted({str(rng.randint(1, i - 1)) for _ in range(rng.randint(0, 3))}) if i > 1 else []
        files = [rng.choice(["a.py", "b.py", "pkg", "pkg/c.py", "d.md"])] if rng.random() < 0.3 else []
        units.append(U(str(i), deps, relevant_files=files, priority=rng.choice(["low", "medium", "high"])))
        specs[str(i)] = FakeSpec(
            duration=rng.choice([0, 0.001, 0.003]), fail_times=rng.choice([0, 0, 0, 1, 3])
        )
    verdicts = {str(i): rng.choice(["done"] * 8 + ["retry", "fail"]) for i in range(1, n + 1)}
    hook_calls: dict[str, int] = {}
    lock = threading.Lock()

    def hook(u, res):
        with lock:  # only one hook at a time, so this never waits
            hook_calls[u.unit_id] = hook_calls.get(u.unit_id, 0) + 1
        v = verdicts[u.unit_id]
        if v == "retry" and hook_calls[u.unit_id] == 1:
            return Decision("retry", feedback="again")
        return Decision("fail", reason="no") if v == "fail" else Decision()

    fw = FakeWorker(specs=specs)
    s, fw, rec = make(
        units,
        fw,
        max_workers=8,
        max_retries=2,
        exclusive_files=True,
        integrate=hook,
        retry_backoff_s=0.001,
    )
    out = s.run()
    ids = {su.id for su in units}
    states = [out.done, out.failed, out.blocked, out.interrupted, out.pending]
    assert set().union(*states) == ids and sum(len(x) for x in states) == n
    assert not out.interrupted and not out.pending
    for su in units:
        u = su.id
        if u in out.blocked:
            assert out.blocked_by[u] and all(b in out.failed | out.blocked for b in out.blocked_by[u])
            assert u not in fw.calls
        if u in out.done:
            assert all(d in out.done for d in su.unit.dependencies)
        assert fw.calls.get(u, 0) <= 3 + 1  # max_retries failures + one review retry
    # one run at a time per unit, and conflicting files never overlap
    by_unit: dict[str, list] = {}
    for iv in fw.intervals:
        by_unit.setdefault(iv.unit_id, []).append(iv)
    for ivs in by_unit.values():
        ivs.sort(key=lambda x: x.start)
        assert all(a.end <= b.start for a, b in zip(ivs, ivs[1:], strict=False))
    files = {su.id: su.unit.relevant_files for su in units}

    def clash(a: str, b: str) -> bool:
        return any(
            x == y or x.startswith(y + "/") or y.startswith(x + "/") for x in files[a] for y in files[b]
        )

    iv = [i for i in fw.intervals if files[i.unit_id]]
    for k, x in enumerate(iv):
        for y in iv[k + 1 :]:
            if x.unit_id != y.unit_id and clash(x.unit_id, y.unit_id):
                assert x.end <= y.start or y.end <= x.start
    assert len(rec.of(ev.TASK_COMPLETED)) == len(out.done)
    assert {e.task_id for e in rec.of(ev.TASK_FAILED)} == out.failed
    assert {e.task_id for e in rec.of(ev.TASK_BLOCKED)} == out.blocked


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.integers(1, 40), max_size=3), st.floats(0.1, 10)), min_size=1, max_size=40
    ),
    st.integers(1, 5),
)
def test_preview_is_a_valid_list_schedule(spec, workers):
    units, dur = [], {}
    for i, (deps, d) in enumerate(spec, 1):
        units.append(U(str(i), sorted({str(x) for x in deps if x < i})))
        dur[str(i)] = d
    p = schedule_preview(units, workers, dur)
    slots = {s.unit_id: s for s in p.slots}
    assert sorted(slots, key=int) == [su.id for su in units] and len(p.slots) == len(units)
    for su in units:
        for d in su.unit.dependencies:
            assert slots[su.id].start >= slots[d].end - 1e-9
    points = sorted({s.start for s in p.slots})
    for t in points:  # never more than `workers` at once, never two on one worker
        live = [s for s in p.slots if s.start <= t < s.end]
        assert len(live) <= workers and len({s.worker for s in live}) == len(live)
    total = sum(dur.values())
    cp = sum(dur[u] for u in p.critical_path)
    assert p.lower_bound == pytest.approx(max(cp, total / workers))
    # Graham's bound for list scheduling: at most total/m + (1 - 1/m) * critical path
    assert p.lower_bound - 1e-9 <= p.makespan <= total / workers + (1 - 1 / workers) * cp + 1e-9
