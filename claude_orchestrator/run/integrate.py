"""What happens to a unit whose worker succeeded, in two stages (the scheduler's integration pipeline):

- `prepare`, for many units at once: commit its changes, check there are some, run its checks
  (run/verify.py), have the manager review them;
- `__call__`, one unit at a time: merge the commit into the target branch. Recording the result (through
  the run's TaskRecorder) and removing the worktree are queued, so the next merge need not wait for them.

Its answer is a scheduler `Decision`; whether a unit goes back for another attempt is decided here, by the
run's one `RetryPolicy`. `stats` counts where the time went (summary.json's `integration`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..events import EventBus, Log, RunWarning, TaskCommitted, TaskMerged, TaskProgress, TaskReviewed
from ..taskmaster.model import Task
from ..workers.base import WorkResult, WorkUnit
from ..workers.transcripts import command_outputs
from ..workspace.protocol import Workspace
from .bestof import Picked, Picker
from .candidates import candidates_of
from .recorder import TaskRecorder
from .retry import Reason, RetryPolicy
from .state import Decision
from .units import SchedUnit
from .verify import FAILED, Verification, VerifyGate

log = logging.getLogger(__name__)


@dataclass
class IntegrationStats:
    """Units through each stage and the seconds spent there, summed over units (prepare runs for many
    units at once; merges one at a time, so `merge_s` is the serial part of integration)."""

    prepared: int = 0
    prepare_s: float = 0.0
    merges: int = 0
    merge_s: float = 0.0
    merge_max_s: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "prepared": self.prepared,
            "prepare_s": round(self.prepare_s, 4),
            "merges": self.merges,
            "merge_s": round(self.merge_s, 4),
            "merge_max_s": round(self.merge_max_s, 4),
        }


@dataclass
class _Prepared:
    commit: str | None
    new_units: list[SchedUnit]
    picked: Picked | None = None  # best of N: the attempt kept


@dataclass
class Integrator:
    workspace: Workspace
    recorder: TaskRecorder
    bus: EventBus
    run_id: str
    manager: Any | None = None  # claude_orchestrator.manager.Manager, None when review is off
    auto_commit: bool = True
    make_unit: Callable[[Task], SchedUnit] | None = None  # for review follow-ups
    retry: RetryPolicy = field(default_factory=RetryPolicy)  # the one policy for sending a unit back
    stats: IntegrationStats = field(default_factory=IntegrationStats)
    verify: VerifyGate | None = None  # the checks the orchestrator runs itself, before the review

    def __post_init__(self) -> None:
        self.picker = Picker(self.workspace, self.bus, self.run_id, self.retry, self.verify, self.manager)
        self._lock = threading.Lock()
        self._prepared: dict[str, _Prepared] = {}
        self._handed: set[str] = set()  # units prepared whose worktree is a spare already
        self._cleaner = ThreadPoolExecutor(1, thread_name_prefix=f"cleanup-{self.run_id}")

    def prepare(self, unit: WorkUnit, res: WorkResult) -> Decision | None:
        """Commit and review (many units at once). A Decision when the unit goes back or fails here;
        None when it is ready for the merge."""
        t0 = time.monotonic()
        wid, ws = unit.unit_id, self.workspace
        with self._lock:
            self._handed.discard(wid)  # a new attempt: it has its worktree again
        try:
            self._phase(wid, "verifying")
            picked = self.picker.pick(unit, res) if candidates_of(res) else None
            if isinstance(picked, Decision):
                return picked
            res = picked.result if picked is not None else res
            commit = self._commit(unit)
            if ws.is_git and unit.backend != "build" and not commit and not ws.changed_files(wid):
                return self.retry.decide(
                    wid,
                    Reason.NO_CHANGES,
                    feedback="You made no changes to any file. Do the task: change the files it needs.",
                    final="the worker made no changes, twice",
                )
            checked = picked.checked if picked is not None else self._verify(unit)
            if isinstance(checked, Decision):
                return checked
            new_units: list[SchedUnit] = []
            if self.manager is not None and unit.backend != "build":
                self._phase(wid, "reviewing")
                verdict = self._review(unit, res, checked)
                if isinstance(verdict, Decision):
                    return verdict
                new_units = verdict
            with self._lock:
                self._prepared[wid] = _Prepared(commit, new_units, picked)
            if ws.is_git:  # the merge needs only the branch: the worktree can serve the next unit now
                self._hand_back(wid)
            return None
        finally:
            with self._lock:
                self.stats.prepared += 1
                self.stats.prepare_s += time.monotonic() - t0

    def __call__(self, unit: WorkUnit, res: WorkResult) -> Decision:
        """Merge a prepared unit (one at a time); a unit not prepared yet is prepared first."""
        wid, ws = unit.unit_id, self.workspace
        with self._lock:
            prepared = self._prepared.pop(wid, None)
        if prepared is None:
            decision = self.prepare(unit, res)
            if decision is not None:
                return decision
            with self._lock:
                prepared = self._prepared.pop(wid)
        merged = prepared.commit
        if ws.is_git and self.auto_commit:
            self._phase(wid, "merging")
            outcome = self._merge(unit, prepared.commit)
            if isinstance(outcome, Decision):
                return outcome
            merged = outcome
        picked = prepared.picked
        self._record_done(unit, picked.kept(res) if picked else res, merged, picked)
        with self._lock:
            handed = wid in self._handed
            self._handed.discard(wid)
        if ws.is_git and not handed:
            self._cleaner.submit(self._cleanup, wid)
        kept = picked.kept(res) if picked is not None else None
        return Decision(
            "done", commit=merged, branch=self._branch(wid), new_units=prepared.new_units, result=kept
        )

    def close(self) -> None:
        """Wait for the queued worktree removals."""
        self._cleaner.shutdown(wait=True)

    def _hand_back(self, wid: str) -> None:
        """Before the merge, on this thread (a retry after a conflict takes it back, so never later): the
        unit's clean worktree becomes a spare, which the next unit reuses instead of checking out anew."""
        try:
            handed = self.workspace.cleanup(wid)
        except Exception as e:  # noqa: BLE001 (it stays; the cleanup after the merge tries again)
            log.debug("worktree of %s not handed back before its merge: %s", wid, e)
            return
        if handed:
            with self._lock:
                self._handed.add(wid)

    def _cleanup(self, wid: str) -> None:
        try:
            self.workspace.cleanup(wid)
        except Exception as e:  # a leftover worktree is untidy, not a failure
            log.warning("could not remove the worktree of %s: %s", wid, e)

    def _phase(self, wid: str, phase: str) -> None:
        """Where the unit is after its worker (for the live view)."""
        self.bus.publish(TaskProgress(run_id=self.run_id, task_id=wid, phase=phase))

    def _commit(self, unit: WorkUnit) -> str | None:
        wid, ws = unit.unit_id, self.workspace
        commit: str | None = ws.commit_task(wid, unit.title) if self.auto_commit else None
        skipped = getattr(ws, "skipped", {}).get(wid)
        if skipped:
            message = f"not committed (sensitive): {', '.join(skipped)}"
            self.bus.publish(RunWarning(run_id=self.run_id, task_id=wid, message=message))
        if commit:
            self.bus.publish(
                TaskCommitted(run_id=self.run_id, task_id=wid, commit=commit, branch=self._branch(wid))
            )
        return commit

    def _merge(self, unit: WorkUnit, commit: str | None) -> Decision | str | None:
        """The merged commit, or the decision when the unit's work cannot be merged."""
        wid, ws = unit.unit_id, self.workspace
        t0 = time.monotonic()
        mr = ws.merge_task(wid, unit.title, commit_status=False, count_left=False)  # statuses: in batches
        took = time.monotonic() - t0
        with self._lock:
            self.stats.merges += 1
            self.stats.merge_s += took
            self.stats.merge_max_s = max(self.stats.merge_max_s, took)
        if not mr.ok and mr.kind == "blocked":
            return Decision("fail", reason=f"merge blocked: {mr.description}")
        if not mr.ok:
            files = ", ".join(mr.conflict_files) or "unknown files"

            def redo() -> str:  # only when the policy allows another attempt
                previous = ws.reset_to_base(wid, max_bytes=20000)
                message = f"merge conflict on {files}; retrying once"
                self.bus.publish(RunWarning(run_id=self.run_id, task_id=wid, message=message))
                return (
                    f"Your previous work on this task could not be merged: it conflicts with changes "
                    f"already merged on {files}. {mr.description}\nYour worktree now starts from the "
                    f"new base. Redo the task on top of it. Your previous changes were:\n{previous}"
                )

            return self.retry.decide(
                wid, Reason.CONFLICT, feedback=redo, final=f"merge conflict again on {files}"
            )
        merged: str | None = mr.commit or commit
        self.bus.publish(
            TaskMerged(
                run_id=self.run_id,
                task_id=wid,
                commit=merged,
                branch=self._branch(wid),
                target=ws.target_branch,
            )
        )
        return merged

    # -- review ------------------------------------------------------------------------------------

    def _verify(self, unit: WorkUnit) -> Decision | Verification | None:
        """The unit's checks, run in its worktree; the decision when they failed."""
        if self.verify is None or unit.backend == "build":
            return None
        v = self.verify.check(unit, self.workspace.prepare(unit.unit_id))
        if v.status != FAILED:
            return v
        return self.retry.decide(
            unit.unit_id,
            Reason.VERIFY_FAILED,
            feedback=v.feedback(),
            final=f"verification failed twice: {v.summary()}",
        )

    def _review(
        self, unit: WorkUnit, res: WorkResult, checked: Verification | None = None
    ) -> Decision | list[SchedUnit]:
        """The review's decision when it sends the unit back or fails it; else its follow-up units."""
        from ..errors import LLMError

        wid = unit.unit_id
        task_json = {
            "id": wid,
            "title": unit.title,
            "description": unit.description,
            "details": unit.details,
            "testStrategy": unit.test_strategy,
            "acceptanceCriteria": unit.acceptance_criteria,
        }
        assert self.manager is not None
        try:
            answer = self.manager.review(
                task_json,
                diff=self.workspace.diff(wid),
                summary=res.summary,
                test_output=command_outputs(res.transcript_path) or None,
                checks=checked.report() if checked is not None else None,
            )
        except LLMError as e:
            return Decision("fail", reason=f"review failed: {e}")
        self.bus.publish(
            TaskReviewed(
                run_id=self.run_id,
                task_id=wid,
                verdict=answer.verdict,
                issues=list(answer.issues),
                follow_ups=[f.title for f in answer.follow_ups],
            )
        )
        if answer.verdict == "fail":
            issues = "\n".join(f"- {i}" for i in answer.issues) or "- (no details given)"
            return self.retry.decide(
                wid,
                Reason.REVIEW_FAILED,
                feedback=f"The reviewer rejected your work:\n{issues}\nFix these issues.",
                final=f"review failed twice: {'; '.join(answer.issues)[:300]}",
            )
        return self._add_follow_ups(unit, answer.follow_ups) if answer.follow_ups else []

    def _add_follow_ups(self, unit: WorkUnit, follow_ups: list[Any]) -> list[SchedUnit]:
        added = self.recorder.add_follow_ups(unit, follow_ups)
        self.bus.publish(
            Log(
                run_id=self.run_id,
                task_id=unit.unit_id,
                message=f"review added {len(added)} follow-up task(s)",
                units=[str(t.id) for t in added],
            )
        )
        if self.make_unit is None:
            return []
        return [self.make_unit(t) for t in added]

    # -- records -----------------------------------------------------------------------------------

    def _branch(self, wid: str) -> str | None:
        ws = self.workspace
        return ws.branch(wid) if ws.is_git else None

    def _record_done(
        self, unit: WorkUnit, res: WorkResult, commit: str | None, picked: Picked | None = None
    ) -> None:
        info: dict[str, Any] = {
            "run_id": self.run_id,
            "status": "done",
            "backend": unit.backend,
            "commit": commit,
            "branch": self._branch(unit.unit_id),
            "cost_usd": round(res.cost_usd, 6),
            "tokens_in": res.tokens_in,
            "tokens_out": res.tokens_out,
            "turns": res.turns,
            "duration_s": round(res.duration_s, 3),
            "summary": res.summary[:1000],
        }
        if self.verify is not None and unit.unit_id in self.verify.statuses:
            info["verification"] = self.verify.statuses[unit.unit_id]
        if picked is not None:
            info.update(picked.record)
        if res.data.get("build"):
            info["build"] = res.data["build"]
        self.recorder.done(unit.unit_id, info)
