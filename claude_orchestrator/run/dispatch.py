"""The worker backends of a run, behind the scheduler's Worker interface, plus the per-unit wrapper that
gives a unit its transcript path and its slot in the workspace, books Claude Code's usage in the run's
ledger and reports credentials the API refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import OrchestratorConfig
from ..errors import ConfigError, OrchestratorError
from ..events import TaskProgress
from ..workers.base import WorkContext, Worker, WorkResult, WorkUnit
from .folder import task_dir
from .resume import Sessions

FATAL_STATUS = (401, 403)  # authentication / permission: retrying or running more tasks cannot help


class BuildWorker:
    """Build-plan tasks through the stack runner (`build` backend)."""

    name = "build"

    def __init__(self, cfg: OrchestratorConfig, out_dir: Path, tasks: dict[str, dict[str, Any]]) -> None:
        self.cfg, self.out_dir, self.tasks = cfg, out_dir, tasks

    def run(self, unit: WorkUnit, ctx: WorkContext) -> WorkResult:
        from ..workers.build import run_build_task

        t0 = time.monotonic()
        ctx.report(TaskProgress(phase="building"))
        try:
            res = run_build_task(self.tasks.get(unit.unit_id, {}), self.out_dir, self.cfg)
        except OrchestratorError as e:
            return WorkResult.failure(str(e), duration_s=time.monotonic() - t0)
        data = {"build": res.to_dict()}
        if not res.ok:
            return WorkResult.failure(
                res.error or "build failed", duration_s=time.monotonic() - t0, data=data
            )
        summary = f"Built {', '.join(res.stacks) or 'project'} in {res.folder}" + (
            f"; run with: {res.run_command}" if res.run_command else ""
        )
        return WorkResult(ok=True, summary=summary, duration_s=time.monotonic() - t0, data=data)


@dataclass
class Backends:
    """Backends are made on first use (the api one needs credentials, Claude Code needs its CLI)."""

    cfg: OrchestratorConfig
    root: Path
    tasks: dict[str, dict[str, Any]]
    llm_factory: Callable[[], Any]
    on_rate_limit: Callable[[float, str], None]
    on_rate_info: Callable[[Any], None] | None = None

    def __post_init__(self) -> None:
        self._made: dict[str, Worker] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Worker:
        with self._lock:
            if name not in self._made:
                self._made[name] = self._make(name)
            return self._made[name]

    def _make(self, name: str) -> Worker:
        if name == "claude-code":
            from ..workers.claude_code import ClaudeCodeWorker

            return ClaudeCodeWorker(
                self.cfg,
                on_rate_limit=self.on_rate_limit,
                on_rate_info=self.on_rate_info,
                project_root=self.root,
            )
        if name == "api":
            from ..workers.api_agent import ApiAgentWorker

            return ApiAgentWorker(self.llm_factory(), self.cfg, project_root=self.root)
        if name == "build":
            return BuildWorker(self.cfg, self.root / self.cfg.stack.output_dir, self.tasks)
        raise ConfigError(f"unknown backend '{name}'")


class UnitRunner:
    """What the executor runs for a unit: the backend, with a transcript path and the unit's workspace
    slot; then usage booking and the check for refused credentials."""

    def __init__(
        self,
        backend: Worker,
        *,
        run_path: Path,
        ledger: Any,
        slot: Callable[[WorkUnit], Any],
        on_fatal: Callable[[str], None] | None = None,
        sessions: Sessions | None = None,
    ) -> None:
        self.backend = backend
        self.name = backend.name
        self.run_path, self.ledger, self.slot = run_path, ledger, slot
        self.on_fatal = on_fatal  # bad credentials: every other task would fail the same way
        self.sessions = sessions  # a resumed run's interrupted Claude Code sessions

    def run(self, unit: WorkUnit, ctx: WorkContext) -> WorkResult:
        tdir = task_dir(self.run_path, unit.unit_id, create=True)
        which = f"{unit.attempt}-c{unit.candidate}" if unit.candidate else str(unit.attempt)
        resume = self.sessions.take(unit.work_id, Path(ctx.workdir)) if self.sessions else None
        budget = attempt_budget(self.ledger, unit)
        if budget is not None and budget <= 0:
            return WorkResult.failure(f"task {unit.unit_id} has spent its budget (budgets.task_usd)")
        ctx = replace(
            ctx, transcript_path=tdir / f"transcript-{which}.jsonl", resume_session=resume, budget_usd=budget
        )
        with self.slot(unit):
            res = self.backend.run(unit, ctx)
        settle(self.backend.name, unit, res, self.ledger, self.on_fatal)
        return res


def attempt_budget(ledger: Any, unit: WorkUnit) -> float | None:
    """What an attempt may spend: the task's budget left, shared by the attempts of a best of N."""
    limit = getattr(getattr(ledger, "budgets", None), "task_usd", None)
    if not limit:
        return None
    left = limit - ledger.cost_usd(task_id=unit.unit_id)
    return left / max(1, unit.best_of) if left > 0 else 0.0


def settle(
    backend: str, unit: WorkUnit, res: WorkResult, ledger: Any, on_fatal: Callable[[str], None] | None
) -> None:
    """After an attempt of `backend`, wherever it ran: Claude Code's usage booked in the run's ledger;
    credentials the API refused reported (`on_fatal`)."""
    if backend == "claude-code":
        _book_claude_code(unit, res, ledger)
    if not res.ok and res.data.get("api_error_status") in FATAL_STATUS and on_fatal is not None:
        on_fatal(f"the API refused the credentials ({res.data['api_error_status']}): {res.error}")


def _book_claude_code(unit: WorkUnit, res: WorkResult, ledger: Any) -> None:
    """Claude Code bills through its own process: put its per-model usage in our ledger."""
    usage = res.data.get("model_usage") or {}
    for model, mu in usage.items():
        if not isinstance(mu, dict):
            continue
        ledger.record(
            role="worker",
            model=str(model),
            task_id=unit.unit_id,
            usage={
                "input_tokens": mu.get("inputTokens", 0),
                "output_tokens": mu.get("outputTokens", 0),
                "cache_creation_input_tokens": mu.get("cacheCreationInputTokens", 0),
                "cache_read_input_tokens": mu.get("cacheReadInputTokens", 0),
            },
        )
