"""The one outcome of a run: `RunReport`. The engine fills it as the run goes; the printed report,
`run.json` and `summary.json` are all written from it, from memory. (A run that crashed before writing its
summary gets one rebuilt from its event log: `folder.summary_from_events`.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..taskmaster.ids import id_key
from .folder import (
    RUN_FILE,
    Failure,
    RunSummary,
    TokenTotals,
    tokens_from_rows,
    write_json_atomic,
    write_summary,
)
from .state import RunOutcome
from .units import Preview

STOPPED_EXIT = 130  # as a shell reports a command ended by Ctrl-C


@dataclass
class RunReport:
    """What a run did. `exit_code`: 0 completed (or nothing to do), 1 a task failed or the run was stopped by
    a limit (budget, refused credentials), 130 stopped by the person (Ctrl-C, SIGTERM or
    `claude-orchestrator stop`: the next `run` resumes it)."""

    run_id: str
    """The run's id (its folder's name); empty for a dry run or when there was nothing to do."""

    run_path: Path | None
    """The run folder, `.taskmaster/runs/<run_id>/`; None when nothing ran."""

    status: str
    """running (until it ends) | completed | failed | stopped | dry-run | nothing-to-do."""

    done: list[str] = field(default_factory=list)
    """Units done in this run (tasks and subtasks, not the parents that finish through their subtasks)."""

    failed: dict[str, str] = field(default_factory=dict)
    """Failed unit (or parent of a failed subtask) -> why."""

    blocked: dict[str, list[str]] = field(default_factory=dict)
    """Unit left undone -> the failed or unknown dependencies that blocked it."""

    cost_usd: float = 0.0
    """What the run's model calls cost (the ledger, including a resumed run's earlier spend)."""

    duration_s: float = 0.0
    """Wall time of the scheduled part of the run."""

    notices: list[str] = field(default_factory=list)
    """Things the user should know (resumed, review off, not in git, credentials refused, ...)."""

    preview: Preview | None = None
    """For a dry run: the simulated schedule and its critical path."""

    target_branch: str | None = None
    """The branch the work was merged into (git only)."""

    tag: str | None = None
    """The Task Master tag that ran."""

    branch: str | None = None
    """--branch: the branch asked for (created for the run)."""

    pid: int | None = None
    """The process running the run (a resumed run refuses to start while it lives)."""

    started_at: float | None = None
    """Epoch seconds when the run started."""

    skills: list[str] = field(default_factory=list)
    """The Claude Code skills of the project its workers could load."""

    finished_at: float | None = None
    """Epoch seconds when it ended; None while running."""

    interrupted: list[str] = field(default_factory=list)
    """Units that were running when a stop's grace ran out."""

    pending: list[str] = field(default_factory=list)
    """Units that never started because the run was stopped first."""

    groups_done: list[str] = field(default_factory=list)
    """Parents whose subtasks all completed in this run."""

    tokens_by_role: dict[str, TokenTotals] = field(default_factory=dict)
    """Tokens and cost by role (worker, manager)."""

    tokens_by_model: dict[str, TokenTotals] = field(default_factory=dict)
    """Tokens and cost by model."""

    integration: dict[str, float] = field(default_factory=dict)
    """Integration's figures: units prepared and merged, seconds spent in each stage (run/integrate.py)."""
    verification: dict[str, int] = field(default_factory=dict)
    """Units whose checks passed (verified), failed (failed_verification), or that had none (unchecked)."""

    withdrawn: dict[str, str] = field(default_factory=dict)
    """Units a person took out of the run through tasks.json (deferred, cancelled), and those waiting for them
    -> why."""

    stop_requested: bool = False
    """The person asked the run to stop (Ctrl-C, SIGTERM, `claude-orchestrator stop`)."""

    files_unreadable: bool = False
    """The run stopped because tasks.json stayed unreadable: once fixed, the next `run` resumes it."""

    @property
    def resumable(self) -> bool:
        """Stopped by the person (or by a tasks.json they must fix): the next `run` of the tag picks it up
        where it stopped."""
        return self.status == "stopped" and (self.stop_requested or self.files_unreadable)

    @property
    def exit_code(self) -> int:
        if self.status == "stopped" and self.stop_requested:
            return STOPPED_EXIT
        return 1 if self.status in ("failed", "stopped") else 0

    def finish(self, outcome: RunOutcome, ledger: Any, duration_s: float, finished_at: float) -> None:
        """Fill in the scheduler's outcome and the ledger's spend."""
        self.status = outcome.status
        self.done = sorted(outcome.done - outcome.groups, key=id_key)
        self.groups_done = sorted(outcome.done & outcome.groups, key=id_key)
        self.failed = {u: outcome.reasons.get(u, "") for u in sorted(outcome.failed, key=id_key)}
        self.blocked = {u: outcome.blocked_by.get(u, []) for u in sorted(outcome.blocked, key=id_key)}
        self.interrupted = sorted(outcome.interrupted, key=id_key)
        self.pending = sorted(outcome.pending, key=id_key)
        self.withdrawn = {u: why for u, why in outcome.withdrawn.items() if u not in outcome.groups}
        self.cost_usd = ledger.cost_usd()
        self.tokens_by_role, self.tokens_by_model = tokens_from_rows(ledger.by_role_model())
        self.duration_s, self.finished_at = duration_s, finished_at

    def summary(self) -> RunSummary:
        """summary.json."""
        return RunSummary(
            run_id=self.run_id,
            started_at=self.started_at,
            finished_at=self.finished_at,
            duration_s=self.duration_s,
            status=self.status,
            cost_usd=self.cost_usd,
            tokens_by_role=self.tokens_by_role,
            tokens_by_model=self.tokens_by_model,
            tasks_done=len(self.done) + len(self.groups_done),
            tasks_failed=len(self.failed),
            tasks_blocked=len(self.blocked),
            tasks_verified=self.verification.get("verified", 0),
            tasks_failed_verification=self.verification.get("failed_verification", 0),
            tasks_unchecked=self.verification.get("unchecked", 0),
            failures=[Failure(task_id=u, reason=why) for u, why in self.failed.items()],
            integration=self.integration,
        )

    def run_record(self) -> dict[str, Any]:
        """run.json: what `resume` and `status` read."""
        record: dict[str, Any] = {
            "run_id": self.run_id,
            "tag": self.tag,
            "status": self.status,
            "started_at": self.started_at,
            "branch": self.branch,
            "pid": self.pid,
            "skills": self.skills,
            "target_branch": self.target_branch,
        }
        if self.finished_at is not None:
            record["finished_at"] = self.finished_at
        if self.resumable:
            record["resumable"] = True
        return record

    def write(self) -> None:
        """run.json, and summary.json once the run has ended."""
        if self.run_path is None:
            return
        if self.finished_at is not None:
            write_summary(self.run_path, self.summary())
        write_json_atomic(self.run_path / RUN_FILE, self.run_record())
