"""`run`: the task graph executed by parallel workers, isolated in worktrees, merged one at a time,
recorded durably in `.taskmaster/runs/<run-id>/` and resumable after a crash."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import events as ev
from ..config import OrchestratorConfig
from ..errors import BudgetExceededError, ConfigError, OrchestratorError
from ..events import EventBus
from ..skills import present as present_skills
from ..taskmaster.graph import TaskGraph
from ..taskmaster.ids import id_key
from ..taskmaster.store import TaskStore
from .folder import new_run_id, run_dir, write_json_atomic
from .resume import RUN_FILE, journal_merged, sigint_stops, unfinished_run

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    workers: int | None = None
    ids: list[str] | None = None
    with_deps: bool = False
    tag: str | None = None
    backend: str | None = None
    branch: str | None = None
    dry_run: bool = False
    no_progress: bool = False
    verbose: bool = False
    budget_usd: float | None = None
    record: Path | None = None
    review: bool | None = None  # None: config monitoring.enable_opus_review
    resume: bool = True
    console: Any = None


@dataclass
class RunReport:
    run_id: str
    run_path: Path | None
    status: str  # completed | failed | stopped | dry-run | nothing-to-do
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, list[str]] = field(default_factory=dict)
    cost_usd: float = 0.0
    duration_s: float = 0.0
    notices: list[str] = field(default_factory=list)
    preview: Any = None
    target_branch: str | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.status in ("failed", "stopped") else 0


class RunEngine:
    def __init__(
        self, store: TaskStore, cfg: OrchestratorConfig, options: RunOptions, *, llm: Any = None
    ) -> None:
        self.store, self.cfg, self.opt = store, cfg, options
        self._llm = llm
        self._llm_lock = threading.Lock()
        self._pause_until = 0.0
        self._pause_reason = ""
        self.bus = EventBus()
        self.ledger: Any = None
        self.run_id = ""
        self._budget_stop = False
        self._budgets: Any = None
        self._sched: Any = None

    # -- pieces ------------------------------------------------------------------------------------
    def _llm_client(self) -> Any:
        with self._llm_lock:
            if self._llm is None:
                from ..llm import LLM, Recorder

                recorder = Recorder(self.opt.record) if self.opt.record else None
                self._llm = LLM.from_config(self.cfg, ledger=self.ledger, recorder=recorder)
                self.ledger.configure(budgets=self._budgets)  # from_config applied the config's budgets
            return self._llm

    def _on_rate_limit(self, resets_at: float, kind: str) -> None:
        self._pause_until = max(self._pause_until, resets_at)
        self._pause_reason = (
            f"Claude Code usage limit ({kind}) until {time.strftime('%H:%M:%S', time.localtime(resets_at))}"
        )
        self.bus.emit(ev.WARNING, self.run_id, None, message=f"pausing new work: {self._pause_reason}")

    def _on_rate_info(self, notice: Any) -> None:
        """Claude Code's usage-window state, for the display, status and Slack."""
        self.bus.emit(
            ev.RATE_LIMITED,
            self.run_id,
            None,
            backend="claude-code",
            status=notice.status,
            utilization=notice.utilization,
            usage_window_pct=None if notice.utilization is None else 100 * notice.utilization,
            resets_at=notice.resets_at,
            rate_limit_type=notice.rate_limit_type,
        )

    def _gate(self, observers: Any, scheduler: Any) -> str | None:
        if time.time() < self._pause_until:
            return self._pause_reason
        try:
            self.ledger.ensure_budget()
        except BudgetExceededError as e:
            self._stop_for(str(e), scheduler)
            return str(e)
        if observers.check_usage() == "critical":
            self._stop_for("usage past the critical threshold", scheduler)
            return "usage past the critical threshold"
        return None

    def _stop_for(self, reason: str, scheduler: Any) -> None:
        """Stop new work (running tasks may finish): budgets do not refill by waiting."""
        if not self._budget_stop:
            self._budget_stop = True
            self.bus.emit(ev.WARNING, self.run_id, None, message=f"no new work: {reason}")
            scheduler.request_stop(self.cfg.execution.worker_timeout)

    # -- the run -----------------------------------------------------------------------------------
    def run(self) -> RunReport:
        from ..environment import find_claude_cli
        from .recorder import TaskRecorder
        from .selection import BackendRule, select_units

        cfg, opt, store = self.cfg, self.opt, self.store
        tag_name = opt.tag or store.current_tag()
        tag = store.load(tag_name)
        TaskGraph(tag).check()  # unknown ids, self-dependencies, cycles: exit 2, nothing started
        rule = BackendRule(opt.backend, cfg.execution.default_backend, find_claude_cli() is not None)

        def select(tag: Any) -> Any:
            return select_units(tag, ids=opt.ids, with_deps=opt.with_deps, rule=rule)

        sel = select(tag)
        workers = opt.workers or cfg.execution.max_workers
        if opt.dry_run:
            from .units import schedule_preview

            preview = schedule_preview(sel.units, workers, done_before=sel.done_before)
            return RunReport("", None, "dry-run", preview=preview)
        if not sel.runnable_ids:
            return RunReport("", None, "nothing-to-do", notices=["every selected task is done"])

        resumed = unfinished_run(store.root, tag_name) if opt.resume else None
        self.run_id = resumed or new_run_id()
        run_path = run_dir(store.root, self.run_id, create=True)
        meta = {
            "run_id": self.run_id,
            "tag": tag_name,
            "status": "running",
            "started_at": time.time(),
            "branch": opt.branch,
            "pid": os.getpid(),
            "skills": present_skills(store.root),  # the Claude Code skills its workers could load
        }
        notices = []
        with TaskRecorder(store, tag_name, run_id=self.run_id, run_path=run_path, bus=self.bus) as recorder:
            if resumed:
                notices.append(f"resuming run {resumed}")
                recorder.recover(journal_merged(run_path))
                sel = select(store.load(tag_name))
            return self._execute(sel, rule, recorder, run_path, meta, workers, notices)

    def _execute(
        self,
        sel: Any,
        rule: Any,
        recorder: Any,
        run_path: Path,
        meta: dict[str, Any],
        workers: int,
        notices: list[str],
    ) -> RunReport:
        from ..llm import Ledger
        from ..observers.wiring import run_observers
        from ..workspace.git import Workspace
        from .dispatch import Backends, UnitRunner
        from .executor import LocalExecutor
        from .integrate import Integrator
        from .scheduler import Scheduler, SchedulerConfig, SchedulerHooks
        from .selection import follow_up_unit
        from .units import build_graph

        cfg, opt, store = self.cfg, self.opt, self.store
        git_cfg = cfg.git if cfg.git.auto_commit else cfg.git.model_copy(update={"use_worktrees": False})
        ws = Workspace.open(
            store.root,
            self.run_id,
            git_cfg,
            target_branch=opt.branch,
            ignore_paths=(".taskmaster/", "orchestrator_config.json"),
        )
        if ws.notice:
            notices.append(str(ws.notice))
        write_json_atomic(run_path / RUN_FILE, {**meta, "target_branch": ws.target_branch})

        budgets = cfg.budgets
        if opt.budget_usd is not None:
            budgets = budgets.model_copy(update={"run_usd": opt.budget_usd})
        self._budgets = budgets
        self.ledger = Ledger(self.run_id, pricing=cfg.pricing, budgets=budgets)
        usage_file = run_path / "usage.json"
        if usage_file.is_file():  # resumed: keep counting what was spent before
            with contextlib.suppress(Exception):
                for rec in Ledger.load(usage_file).records():
                    self.ledger.record(
                        role=rec.role,
                        model=rec.model,
                        usage=rec.usage,
                        task_id=rec.task_id,
                        request_id=rec.request_id,
                        run_id=rec.run_id,
                    )
        self._budget_stop = False

        review = cfg.monitoring.enable_opus_review if opt.review is None else opt.review
        manager = None
        if review:
            try:
                from ..manager import Manager

                manager = Manager(
                    llm=self._llm_client(), cfg=cfg, project_root=store.root, run_id=self.run_id
                )
            except ConfigError as e:
                notices.append(f"review is off: {e}")
        needs_api = any(u.unit.backend == "api" for u in sel.units)
        if needs_api:
            self._llm_client()  # fail now, clearly, rather than in every task

        backends = Backends(
            cfg, store.root, sel.tasks, self._llm_client, self._on_rate_limit, self._on_rate_info
        )

        integrator = Integrator(
            workspace=ws,
            recorder=recorder,
            bus=self.bus,
            run_id=self.run_id,
            manager=manager,
            auto_commit=cfg.git.auto_commit,
            make_unit=lambda task: follow_up_unit(task, rule),
        )

        def slot(unit: Any) -> Any:
            return ws.task_slot(unit.unit_id, unit.relevant_files or None)

        def worker_for(unit: Any) -> Any:
            return UnitRunner(
                backends.get(unit.backend),
                run_path=run_path,
                ledger=self.ledger,
                slot=slot,
                on_fatal=on_fatal,
            )

        def on_fatal(reason: str) -> None:  # from a worker thread
            if reason not in notices:
                notices.append(reason)
                self.bus.emit(ev.WARNING, self.run_id, None, message=f"stopping the run: {reason}")
            if self._sched is not None:
                self._sched.request_stop(5.0)

        def on_usage(_rec: Any) -> None:
            u = self.ledger.usage()
            self.bus.emit(
                ev.USAGE,
                self.run_id,
                None,
                tokens_in=u.total_input,
                tokens_out=u.output_tokens,
                cache_read=u.cache_read,
                cache_write=u.cache_creation_input_tokens,
                cost_usd=self.ledger.cost_usd(),
                budget_usd=budgets.run_usd,
            )

        unsub_usage = self.ledger.subscribe(on_usage)
        t0 = time.monotonic()
        config = SchedulerConfig.from_config(
            cfg.execution, shared_workdir=not ws.is_git, run_id=self.run_id, max_workers=workers
        )
        executor = LocalExecutor(worker_for, lambda u: ws.prepare(u.unit_id))
        try:
            with run_observers(
                self.bus, cfg, run_path, run_id=self.run_id, console=opt.console, no_progress=opt.no_progress
            ) as obs:
                for n in notices:
                    self.bus.emit(ev.LOG, self.run_id, None, message=n)
                sched = Scheduler(
                    build_graph(sel.units, sel.done_before),
                    executor,
                    bus=self.bus,
                    config=config,
                    hooks=SchedulerHooks(
                        integrate=integrator,
                        hold_reason=lambda: self._gate(obs, sched),
                        started=recorder.started,
                        failed=recorder.failed,
                    ),
                )
                self._sched = sched
                with sigint_stops(sched):
                    outcome = sched.run()
                self.ledger.save(usage_file)
                obs.write_summary()
        finally:
            unsub_usage()
            if self._llm is not None:
                self._llm.close()
                if getattr(self._llm, "recorder", None) is not None:
                    self._llm.recorder.close()
            if ws.is_git:
                with contextlib.suppress(OrchestratorError):
                    ws.commit_status()
                ws.finish()
        final = "completed" if outcome.status == "completed" else outcome.status
        write_json_atomic(
            run_path / RUN_FILE,
            {**meta, "status": final, "target_branch": ws.target_branch, "finished_at": time.time()},
        )
        return RunReport(
            self.run_id,
            run_path,
            final,
            done=sorted(outcome.done - outcome.groups, key=id_key),
            failed={u: outcome.reasons.get(u, "") for u in sorted(outcome.failed, key=id_key)},
            blocked={u: outcome.blocked_by.get(u, []) for u in sorted(outcome.blocked, key=id_key)},
            cost_usd=self.ledger.cost_usd(),
            duration_s=time.monotonic() - t0,
            notices=notices,
            target_branch=ws.target_branch,
        )
