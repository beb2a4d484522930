"""What happens to a unit whose worker succeeded, one unit at a time (the scheduler's integration thread):
commit its changes, have the manager review them, merge them into the target branch, and record the
result in tasks.json and the run folder. Its answer is a scheduler `Decision`."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import events as ev
from ..events import EventBus
from ..taskmaster import ops
from ..taskmaster.store import TaskStore
from ..workers.base import WorkResult, WorkUnit
from ..workers.transcripts import command_outputs
from .folder import task_dir, write_json_atomic
from .retry import Reason, RetryPolicy
from .state import Decision
from .units import SchedUnit

log = logging.getLogger(__name__)


@dataclass
class Integrator:
    store: TaskStore
    tag: str
    workspace: Any  # Workspace | NoGitWorkspace
    bus: EventBus
    run_id: str
    run_path: Path
    manager: Any | None = None  # claude_orchestrator.manager.Manager, None when review is off
    auto_commit: bool = True
    make_unit: Any = None  # callable(task) -> SchedUnit, for review follow-ups
    summaries: dict[str, str] = field(default_factory=dict)  # unit id -> what it produced
    retry: RetryPolicy = field(default_factory=RetryPolicy)  # the one policy for sending a unit back
    _follow_ups: list[SchedUnit] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, unit: WorkUnit, res: WorkResult) -> Decision:
        wid = unit.unit_id
        ws = self.workspace
        commit = ws.commit_task(wid, unit.title) if self.auto_commit else None
        skipped = getattr(ws, "skipped", {}).get(wid)
        if skipped:
            self.bus.emit(
                ev.WARNING, self.run_id, wid, message=f"not committed (sensitive): {', '.join(skipped)}"
            )
        if commit:
            self.bus.emit(ev.TASK_COMMITTED, self.run_id, wid, commit=commit, branch=self._branch(wid))

        if ws.is_git and unit.backend != "build" and not commit and not ws.changed_files(wid):
            return self.retry.decide(
                wid,
                Reason.NO_CHANGES,
                feedback="You made no changes to any file. Do the task: change the files it needs.",
                final="the worker made no changes, twice",
            )
        new_units: list[SchedUnit] = []
        if self.manager is not None and unit.backend != "build":
            verdict = self._review(unit, res)
            if verdict is not None:
                return verdict
            new_units = self._follow_ups

        merged = commit
        if ws.is_git and self.auto_commit:
            ws.commit_status()
            mr = ws.merge_task(wid, unit.title)
            if not mr.ok and mr.kind == "blocked":
                return Decision("fail", reason=f"merge blocked: {mr.description}")
            if not mr.ok:
                files = ", ".join(mr.conflict_files) or "unknown files"

                def redo() -> str:  # only when the policy allows another attempt
                    previous = ws.reset_to_base(wid, max_bytes=20000)
                    self.bus.emit(
                        ev.WARNING, self.run_id, wid, message=f"merge conflict on {files}; retrying once"
                    )
                    return (
                        f"Your previous work on this task could not be merged: it conflicts with changes "
                        f"already merged on {files}. {mr.description}\nYour worktree now starts from the "
                        f"new base. Redo the task on top of it. Your previous changes were:\n{previous}"
                    )

                return self.retry.decide(
                    wid, Reason.CONFLICT, feedback=redo, final=f"merge conflict again on {files}"
                )
            merged = mr.commit or commit
            self.bus.emit(
                ev.TASK_MERGED,
                self.run_id,
                wid,
                commit=merged,
                branch=self._branch(wid),
                target=ws.target_branch,
            )

        self._record_done(unit, res, merged)
        if ws.is_git:
            try:
                ws.cleanup(wid)
            except Exception as e:  # a leftover worktree is untidy, not a failure
                log.warning("could not remove the worktree of %s: %s", wid, e)
        return Decision("done", commit=merged, branch=self._branch(wid), new_units=new_units)

    # -- review ------------------------------------------------------------------------------------

    def _review(self, unit: WorkUnit, res: WorkResult) -> Decision | None:
        from ..errors import LLMError

        self._follow_ups = []
        wid = unit.unit_id
        task_json = {
            "id": wid,
            "title": unit.title,
            "description": unit.description,
            "details": unit.details,
            "testStrategy": unit.test_strategy,
            "acceptanceCriteria": unit.acceptance_criteria,
        }
        try:
            answer = self.manager.review(  # type: ignore[union-attr]
                task_json,
                diff=self.workspace.diff(wid),
                summary=res.summary,
                test_output=command_outputs(res.transcript_path) or None,
            )
        except LLMError as e:
            return Decision("fail", reason=f"review failed: {e}")
        self.bus.emit(
            ev.TASK_REVIEWED,
            self.run_id,
            wid,
            verdict=answer.verdict,
            issues=list(answer.issues),
            follow_ups=[f.title for f in answer.follow_ups],
        )
        if answer.verdict == "fail":
            issues = "\n".join(f"- {i}" for i in answer.issues) or "- (no details given)"
            return self.retry.decide(
                wid,
                Reason.REVIEW_FAILED,
                feedback=f"The reviewer rejected your work:\n{issues}\nFix these issues.",
                final=f"review failed twice: {'; '.join(answer.issues)[:300]}",
            )
        if answer.follow_ups:
            self._follow_ups = self._add_follow_ups(unit, answer.follow_ups)
        return None

    def _add_follow_ups(self, unit: WorkUnit, follow_ups: list[Any]) -> list[SchedUnit]:
        added = []
        with self.store.edit(self.tag) as data:
            for f in follow_ups:
                t = ops.add_task(
                    data,
                    f.title,
                    f.description,
                    priority=f.priority,
                    dependencies=[unit.task_id],
                    details=f"Follow-up from the review of task {unit.unit_id}.",
                )
                added.append(t)
        self.bus.emit(
            ev.LOG,
            self.run_id,
            unit.unit_id,
            message=f"review added {len(added)} follow-up task(s)",
            units=[str(t.id) for t in added],
        )
        if self.make_unit is None:
            return []
        return [self.make_unit(t) for t in added]

    # -- records -----------------------------------------------------------------------------------
    def _branch(self, wid: str) -> str | None:
        ws = self.workspace
        return ws.branch(wid) if ws.is_git else None

    def _record_done(self, unit: WorkUnit, res: WorkResult, commit: str | None) -> None:
        wid = unit.unit_id
        info = {
            "run_id": self.run_id,
            "status": "done",
            "backend": unit.backend,
            "commit": commit,
            "branch": self._branch(wid),
            "cost_usd": round(res.cost_usd, 6),
            "tokens_in": res.tokens_in,
            "tokens_out": res.tokens_out,
            "turns": res.turns,
            "duration_s": round(res.duration_s, 3),
            "summary": res.summary[:1000],
        }
        if res.data.get("build"):
            info["build"] = res.data["build"]
        write_json_atomic(task_dir(self.run_path, wid, create=True) / "result.json", info)
        with self.store.edit(self.tag) as data:
            ops.set_status(data, [wid], "done")
            item = data.find(wid)
            meta = item.extra.get("metadata")
            meta = dict(meta) if isinstance(meta, dict) else {}
            meta["orchestrator"] = {k: v for k, v in info.items() if k != "status"}
            item.extra["metadata"] = meta
        with self._lock:
            self.summaries[wid] = res.summary[:2000]


def earlier_summaries(tag: Any) -> dict[str, str]:
    """Unit id -> the summary a done task or subtask left in its metadata (for its dependents)."""
    out: dict[str, str] = {}
    for task in tag.tasks:
        for item in (task, *task.subtasks):
            meta = item.extra.get("metadata")
            orch = meta.get("orchestrator") if isinstance(meta, dict) else None
            if isinstance(orch, dict) and orch.get("summary"):
                out[item.uid] = str(orch["summary"])
    return out


def mark_failed(store: TaskStore, tag: str, unit_id: str, reason: str, run_id: str, run_path: Path) -> None:
    """A unit that failed for good: `blocked` in tasks.json (a status task-master reads) with the reason."""
    write_json_atomic(
        task_dir(run_path, unit_id, create=True) / "result.json",
        {"run_id": run_id, "status": "failed", "reason": reason},
    )
    with store.edit(tag) as data:
        try:
            item = data.find(unit_id)
        except Exception:
            return
        ops.set_status(data, [unit_id], "blocked")
        meta = item.extra.get("metadata")
        meta = dict(meta) if isinstance(meta, dict) else {}
        meta["orchestrator"] = {"run_id": run_id, "status": "failed", "reason": reason[:1000]}
        item.extra["metadata"] = meta
