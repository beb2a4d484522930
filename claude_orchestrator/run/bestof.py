"""Best of N, the choosing half (integration's prepare stage). Each attempt that succeeded and changed files
is checked (run/verify.py, the attempts side by side); among those that passed, the manager picks one and
says why (without a manager: the smallest change). The other attempts' worktrees and branches are deleted
and the kept attempt's become the unit's own, so commit, review and merge go on as for any unit. When no
attempt passes, the unit goes back (one retry per reason, as for a single attempt) and every attempt of
the next round starts afresh; after the last round the attempts' worktrees stay for a person to read."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from ..events import EventBus, TaskPicked, TaskProgress
from ..workers.base import WorkResult, WorkUnit
from ..workspace.attempts import adopt, discard
from .candidates import Candidate, candidates_of
from .retry import Reason, RetryPolicy
from .state import Decision
from .verify import FAILED, NONE, Verification, VerifyGate


@dataclass(frozen=True)
class Picked:
    """The attempt kept, its checks, and what tasks.json records about the choice."""

    result: WorkResult
    checked: Verification | None
    record: dict[str, Any] = field(default_factory=dict)

    def kept(self, total: WorkResult) -> WorkResult:
        """The kept attempt's result with the cost of every attempt (the task pays for them all)."""
        return replace(
            self.result,
            cost_usd=total.cost_usd,
            tokens_in=total.tokens_in,
            tokens_out=total.tokens_out,
            turns=total.turns,
            duration_s=total.duration_s,
        )


def task_view(unit: WorkUnit) -> dict[str, Any]:
    """The task as the manager reads it."""
    return {
        "id": unit.unit_id,
        "title": unit.title,
        "description": unit.description,
        "details": unit.details,
        "testStrategy": unit.test_strategy,
        "acceptanceCriteria": unit.acceptance_criteria,
    }


@dataclass
class Picker:
    workspace: Any  # a git Workspace: best of N needs worktrees
    bus: EventBus
    run_id: str
    retry: RetryPolicy
    verify: VerifyGate | None = None
    manager: Any | None = None  # claude_orchestrator.manager.Manager

    def pick(self, unit: WorkUnit, res: WorkResult) -> Picked | Decision:
        """The attempt to keep (its worktree now the unit's), or the decision when none can be kept."""
        uid, ws, cands = unit.unit_id, self.workspace, candidates_of(res)
        with ThreadPoolExecutor(len(cands), thread_name_prefix=f"check-{uid}") as pool:
            outcomes = list(pool.map(self._check, cands))
        passing = {
            c.unit.candidate: (c, v) for c, (why, v) in zip(cands, outcomes, strict=True) if why is None
        }
        if not passing:
            decision = self._none_passed(
                unit, [v for _, v in outcomes if v is not None and v.status == FAILED]
            )
            if decision.kind == "retry":  # the next round starts afresh; a final failure keeps its attempts
                for c in cands:
                    discard(ws, c.unit.work_id)
            return decision
        winner, reason = self._choose(unit, passing)
        for c in cands:
            if c.unit.candidate != winner:
                discard(ws, c.unit.work_id)
        c, v = passing[winner]
        adopt(ws, c.unit.work_id, uid)
        self.bus.publish(
            TaskPicked(
                run_id=self.run_id,
                task_id=uid,
                candidates=len(cands),
                winner=winner,
                passing=[str(k) for k in sorted(passing)],
                reason=reason,
                cost_usd=round(res.cost_usd, 6),
            )
        )
        if self.verify is not None:
            self.verify.record(uid, v.status if v is not None else NONE)
        attempts = [
            {
                "attempt": c2.unit.candidate,
                "outcome": why or "passed",
                "cost_usd": round(c2.result.cost_usd, 6),
            }
            for c2, (why, _) in zip(cands, outcomes, strict=True)
        ]
        return Picked(c.result, v, {"attempts": attempts, "picked": winner, "pick_reason": reason})

    def _check(self, c: Candidate) -> tuple[str | None, Verification | None]:
        """Why the attempt cannot be kept (None: it can), and its checks."""
        if not c.result.ok:
            return f"failed: {c.result.error}"[:300], None
        if not self.workspace.changed_files(c.unit.work_id):
            return "no changes", None
        if self.verify is None or c.unit.backend == "build":
            return None, None
        v = self.verify.check(c.unit, self.workspace.prepare(c.unit.work_id), candidate=c.unit.candidate)
        return (f"checks failed: {v.summary()}" if v.status == FAILED else None), v

    def _none_passed(self, unit: WorkUnit, failed: list[Verification]) -> Decision:
        n = unit.best_of
        if failed:
            if self.verify is not None:
                self.verify.record(unit.unit_id, FAILED)
            return self.retry.decide(
                unit.unit_id,
                Reason.VERIFY_FAILED,
                feedback=f"All {n} attempts at this task failed its checks; every attempt starts afresh "
                f"now. What one of them got:\n\n{failed[0].feedback()}",
                final=f"verification failed twice (best of {n}): {failed[0].summary()}",
            )
        return self.retry.decide(
            unit.unit_id,
            Reason.NO_CHANGES,
            feedback="You made no changes to any file. Do the task: change the files it needs.",
            final=f"no attempt of {n} made changes, twice",
        )

    def _choose(
        self, unit: WorkUnit, passing: dict[int, tuple[Candidate, Verification | None]]
    ) -> tuple[int, str]:
        from ..errors import LLMError

        ws = self.workspace
        if len(passing) == 1:
            return next(iter(passing)), "the only attempt that could be kept"
        diffs = {k: ws.diff(c.unit.work_id) for k, (c, _) in passing.items()}
        if self.manager is not None:
            self.bus.publish(TaskProgress(run_id=self.run_id, task_id=unit.unit_id, phase="picking"))
            shown = {
                k: {"diff": diffs[k], "summary": c.result.summary, "checks": v.report() if v else "(none)"}
                for k, (c, v) in passing.items()
            }
            try:
                answer = self.manager.pick(task_view(unit), shown)
                return answer.attempt, answer.reason
            except LLMError as e:
                note = f"the manager could not choose ({str(e)[:200]}); "
        else:
            note = "no manager to compare them; "
        size = {k: _changed_lines(d) for k, d in diffs.items()}
        k = min(passing, key=lambda x: (size[x], x))
        return k, f"{note}the smallest change ({size[k]} changed line{'' if size[k] == 1 else 's'})"


def _changed_lines(diff: str) -> int:
    return sum(1 for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++ ", "--- ")))
