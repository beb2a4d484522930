"""Best of N, the running half: a job whose unit asks for N attempts (`WorkUnit.best_of`) runs N copies of
it at once, each in its own worktree (`WorkUnit.work_id`: "3-c1", "3-c2", ...), and returns one result that
carries them all. The scheduler gave the job N worker slots; integration (run/bestof.py) checks each
attempt and keeps one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

from ..events import TaskProgress
from ..workers.base import WorkContext, Worker, WorkResult, WorkUnit, run_worker

N = TypeVar("N", int, float)
CANDIDATES = "candidates"  # the key of WorkResult.data that holds the attempts


@dataclass(frozen=True)
class Candidate:
    """One attempt of a best of N, as it came back from its worker."""

    unit: WorkUnit  # `candidate` set: its worktree is `unit.work_id`
    result: WorkResult


def candidates_of(result: WorkResult) -> list[Candidate]:
    """The attempts a best-of-N result carries (empty for a unit run once)."""
    found = result.data.get(CANDIDATES)
    return list(found) if isinstance(found, list) else []


def run_candidates(worker: Worker, unit: WorkUnit, make_ctx: Callable[[WorkUnit], WorkContext]) -> WorkResult:
    """Run `unit.best_of` attempts of the unit at once; never raises. Their progress is reported as one
    (totals over the attempts)."""
    units = [replace(unit, candidate=k) for k in range(1, unit.best_of + 1)]
    progress = Totals()

    def attempt(u: WorkUnit) -> WorkResult:
        def ctx() -> WorkContext:
            c = make_ctx(u)
            return replace(c, report=progress.reporter(u.candidate, c.report))

        return run_worker(worker, u, ctx)

    with ThreadPoolExecutor(len(units), thread_name_prefix=f"attempt-{unit.unit_id}") as pool:
        results = list(pool.map(attempt, units))
    return combine([Candidate(u, r) for u, r in zip(units, results, strict=True)])


def combine(cands: Sequence[Candidate]) -> WorkResult:
    """One result for the job: ok when any attempt succeeded; cost, tokens and turns of them all."""
    results = [c.result for c in cands]
    ok = [c for c in cands if c.result.ok]
    errors = "; ".join(f"attempt {c.unit.candidate}: {c.result.error}" for c in cands)
    return WorkResult(
        ok=bool(ok),
        summary=f"{len(ok)} of {len(cands)} attempts finished" if ok else "",
        error=None if ok else f"all {len(cands)} attempts failed: {errors}"[:2000],
        cost_usd=sum(r.cost_usd for r in results),
        tokens_in=sum(r.tokens_in for r in results),
        tokens_out=sum(r.tokens_out for r in results),
        turns=sum(r.turns for r in results),
        duration_s=max((r.duration_s for r in results), default=0.0),
        data={CANDIDATES: list(cands)},
    )


class Totals:
    """The latest progress of each attempt, reported as one: numbers summed, the last phase."""

    def __init__(self) -> None:
        self._latest: dict[int, TaskProgress] = {}
        self._lock = threading.Lock()

    def reporter(self, k: int, report: Callable[[TaskProgress], None]) -> Callable[[TaskProgress], None]:
        def on_progress(p: TaskProgress) -> None:
            with self._lock:
                self._latest[k] = p
                seen = list(self._latest.values())
            report(
                TaskProgress(
                    phase=p.phase,
                    turns=_sum(x.turns for x in seen),
                    tokens_in=_sum(x.tokens_in for x in seen),
                    tokens_out=_sum(x.tokens_out for x in seen),
                    cost_usd=_sum(x.cost_usd for x in seen),
                    usage_window_pct=p.usage_window_pct,
                    node=p.node,
                )
            )

        return on_progress


def _sum(values: Iterable[N | None]) -> N | None:
    vals = [v for v in values if v is not None]
    return sum(vals[1:], vals[0]) if vals else None
