"""`run`: the task graph executed by parallel workers, isolated in worktrees, merged one at a time,
recorded durably in `.taskmaster/runs/<run-id>/` and resumable after a crash.

The engine is the composition root: it builds the parts of a run and wires them; every decision is made by
a part. Selection picks the units and their backends; the scheduler orders them and retries failed
attempts; integration commits, reviews and merges, and decides when work goes back; the admission gate
pauses or stops new work; the TaskRecorder writes tasks.json; the RunReport is the run's one outcome.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import OrchestratorConfig
from ..errors import NotFoundError
from ..events import EventBus, Log
from ..skills import present as present_skills
from ..taskmaster.graph import TaskGraph
from ..taskmaster.store import TaskStore
from .folder import USAGE_FILE, new_run_id, run_dir
from .gate import AdmissionGate
from .outcome import RunReport
from .parts import (
    ModelClient,
    close_workspace,
    load_spent,
    open_cluster,
    open_workspace,
    remote_executor,
    reviewer,
    status_texts,
    usage_events,
)
from .resume import Sessions, interrupted_sessions, journal_merged, sigint_stops, unfinished_run
from .selection import BackendRule, Selection, nothing_to_run, select_units
from .verify import VerifyGate

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .edits import TaskFileWatch
    from .integrate import Integrator
    from .recorder import TaskRecorder
    from .scheduler import Scheduler

__all__ = ["RunEngine", "RunOptions", "RunReport"]


@dataclass
class RunOptions:
    """What a run is asked for (the `run` command's options). None falls back to the project's config."""

    workers: int | None = None
    """Units running at once; None: execution.max_workers."""

    ids: list[str] | None = None
    """Only these tasks ("3", "5.2"); None: every ready task of the tag."""

    with_deps: bool = False
    """With `ids`: also run their unfinished dependencies."""

    tag: str | None = None
    """The Task Master tag; None: the current tag."""

    backend: str | None = None
    """claude-code | api | build for every task; None: each task's metadata, then config."""

    branch: str | None = None
    """Merge into this branch (created for the run) instead of the current one."""

    dry_run: bool = False
    """Print the simulated schedule and the critical path; run nothing."""

    no_progress: bool = False
    """Plain event lines instead of the live display."""

    budget_usd: float | None = None
    """Stop new work once the run has cost this much; None: budgets.run_usd."""

    record: Path | None = None
    """Save every model exchange to this JSONL file."""

    review: bool | None = None
    """Have the manager review each unit's work; None: monitoring.enable_opus_review."""

    verify: bool | None = None
    """Run each task's `verify` commands before the review; None: verification.enabled."""

    attempts: int | None = None
    """Best of N for every task: N attempts at once in separate worktrees, the best passing one kept;
    None: each task's `metadata.attempts`, else 1."""

    resume: bool = True
    """Resume this tag's last run if it was interrupted (False: always start a new run)."""

    console: Any = None
    """The rich Console of the live display; None: a new one on stdout."""

    executor: str | None = None
    """local | ray: where units run; None: execution.executor."""

    ray_address: str | None = None
    """The Ray cluster (auto, HOST:PORT); None: execution.ray.address."""

    def review_on(self, cfg: OrchestratorConfig) -> bool:
        return cfg.monitoring.enable_opus_review if self.review is None else self.review

    def budgets(self, cfg: OrchestratorConfig) -> Any:
        if self.budget_usd is None:
            return cfg.budgets
        return cfg.budgets.model_copy(update={"run_usd": self.budget_usd})


class RunEngine:
    """Runs the selected tasks of a tag and returns the `RunReport`. `bus` carries the run's events
    (subscribe before `run()`); `ledger` counts its tokens and cost; `gate` decides when new work waits
    or stops. `llm`: a model client to use instead of one made from the config."""

    def __init__(
        self, store: TaskStore, cfg: OrchestratorConfig, options: RunOptions, *, llm: Any = None
    ) -> None:
        from ..llm import Ledger

        self.store, self.cfg, self.opt = store, cfg, options
        self.run_id = ""
        self.bus = EventBus()
        budgets = options.budgets(cfg)
        self.ledger = Ledger(pricing=cfg.pricing, budgets=budgets)
        self.gate = AdmissionGate(cfg, self.ledger, bus=self.bus, budget_usd=budgets.run_usd)
        self.client = ModelClient(cfg, self.ledger, budgets, options.record, llm)
        self.integrator: Integrator | None = None
        self.verifier: VerifyGate | None = None  # made with the run's id
        self.watch: TaskFileWatch | None = None  # tasks.json as a person edits it during the run
        self.cluster: Any = None  # the Ray connection, with the Ray executor

    def run(self) -> RunReport:
        from ..environment import find_claude_cli

        opt, store = self.opt, self.store
        tag = opt.tag or store.current_tag()
        if opt.tag and opt.tag not in store.read_document().tags:
            known = ", ".join(store.tags())
            raise NotFoundError(f"no tag '{opt.tag}' in {store.tasks_path} (its tags: {known})")
        TaskGraph(store.load(tag)).check()  # unknown ids, self-dependencies, cycles: exit 2, nothing started
        rule = BackendRule(opt.backend, self.cfg.execution.default_backend, find_claude_cli() is not None)
        sel = self._select(tag, rule)
        workers = opt.workers or self.cfg.execution.max_workers
        if opt.dry_run:
            from .units import schedule_preview

            preview = schedule_preview(sel.units, workers, done_before=sel.done_before)
            return RunReport("", None, "dry-run", preview=preview)
        if not sel.runnable_ids:
            return RunReport("", None, "nothing-to-do", notices=[nothing_to_run(store.load(tag), sel)])
        backends = tuple(sorted({u.unit.backend for u in sel.units}))
        self.cluster = open_cluster(self.cfg, store.root, opt.executor, opt.ray_address, workers, backends)
        try:
            return self._run_selected(tag, rule, sel, workers)
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def _run_selected(self, tag: str, rule: BackendRule, sel: Selection, workers: int) -> RunReport:
        from .recorder import TaskRecorder

        opt, store = self.opt, self.store
        resumed = unfinished_run(store.root, tag) if opt.resume else None
        self.run_id = resumed or new_run_id()
        run_path = run_dir(store.root, self.run_id, create=True)
        report = RunReport(
            self.run_id,
            run_path,
            "running",
            tag=tag,
            branch=opt.branch,
            pid=os.getpid(),
            started_at=time.time(),
            skills=present_skills(store.root),
        )
        with TaskRecorder(
            store,
            tag,
            run_id=self.run_id,
            run_path=run_path,
            bus=self.bus,
            wait_s=self.cfg.execution.tasks_file_wait_seconds,
            on_unreadable=self.gate.refuse,
        ) as recorder:
            if resumed:
                report.notices.append(f"resuming run {resumed}")
                recorder.recover(journal_merged(run_path))
                sel = self._select(tag, rule)
            self._execute(sel, rule, recorder, report, workers)
        return report

    def _select(self, tag: str, rule: BackendRule) -> Selection:
        return select_units(
            self.store.load(tag),
            ids=self.opt.ids,
            with_deps=self.opt.with_deps,
            rule=rule,
            attempts=self.opt.attempts,
        )

    def _execute(
        self, sel: Selection, rule: BackendRule, recorder: TaskRecorder, report: RunReport, workers: int
    ) -> None:
        from ..confine.policy import run_notices
        from ..observers.wiring import run_observers

        run_path = report.run_path
        assert run_path is not None
        ws = open_workspace(self.store.root, self.run_id, self.cfg, self.opt.branch)
        from ..workspace import GitWorkspace

        if isinstance(ws, GitWorkspace):
            ws.status_text = status_texts(ws.root, self.store.tasks_path, recorder.own)
        if ws.notice:
            report.notices.append(str(ws.notice))
        report.notices += run_notices(self.cfg, {u.unit.backend for u in sel.units})
        sel = self._skip_merged(sel, rule, ws, recorder, report)
        report.target_branch = ws.target_branch
        if ws.is_git:  # a tracked tasks.json is committed once per batch of units recorded done
            recorder.on_settled = ws.commit_status
        report.write()
        self.ledger.configure(run_id=self.run_id)
        load_spent(self.ledger, run_path / USAGE_FILE)
        try:
            sched = self._scheduler(sel, rule, recorder, ws, report, workers)
            if self.cluster is not None:  # dispatch starts once the nodes' agents are up
                report.notices += self.cluster.wait_ready()
            t0 = time.monotonic()
            with (
                run_observers(
                    self.bus, self.cfg, run_path, console=self.opt.console, no_progress=self.opt.no_progress
                ),
                usage_events(self.ledger, self.bus, self.run_id, self.gate.budget_usd),
            ):
                for notice in report.notices:
                    self.bus.publish(Log(run_id=self.run_id, message=notice))
                with sigint_stops(sched) as keys:
                    outcome = sched.run()
                report.stop_requested = keys.presses > 0
                report.files_unreadable = recorder.gave_up or (self.watch is not None and self.watch.gave_up)
                self.ledger.save(run_path / USAGE_FILE)
        finally:
            if self.integrator is not None:
                self.integrator.close()
                report.integration = self.integrator.stats.to_dict()
            recorder.on_settled = None
            recorder.flush()  # the last statuses are in tasks.json before its final commit
            self.client.close()
            close_workspace(ws)
        report.notices += [r for r in self.gate.refusals if r not in report.notices]
        report.finish(outcome, self.ledger, time.monotonic() - t0, time.time())
        if self.verifier is not None:
            report.verification = self.verifier.counts()
        report.write()

    def _skip_merged(
        self, sel: Selection, rule: BackendRule, ws: Any, recorder: TaskRecorder, report: RunReport
    ) -> Selection:
        """Units whose work the target branch already holds are recorded done, not run (run/merged.py)."""
        from .merged import already_merged

        merged = already_merged(ws, sel.runnable_ids, sel.tasks)
        for uid, commit in merged.items():
            recorder.done(
                uid, {"run_id": self.run_id, "status": "done", "commit": commit, "already_merged": True}
            )
            report.notices.append(
                f"task {uid}: its work is already in {ws.target_branch} (commit {commit[:10]}): done, not run again"
            )
        if not merged or report.tag is None:
            return sel
        recorder.flush()
        return self._select(report.tag, rule)

    def _scheduler(
        self,
        sel: Selection,
        rule: BackendRule,
        recorder: TaskRecorder,
        ws: Workspace,
        report: RunReport,
        workers: int,
    ) -> Scheduler:
        from .dispatch import Backends, UnitRunner
        from .edits import TaskFileWatch
        from .executor import LocalExecutor
        from .integrate import Integrator
        from .scheduler import Scheduler, SchedulerConfig, SchedulerHooks
        from .selection import follow_up_unit
        from .units import build_graph

        cfg, root, gate, run_path = self.cfg, self.store.root, self.gate, report.run_path
        assert run_path is not None
        executor = remote_executor(self, ws, sel.tasks, run_path)  # None: the local one
        manager = (
            reviewer(cfg, self.client, root, self.run_id, report.notices) if self.opt.review_on(cfg) else None
        )
        if executor is None and any(u.unit.backend == "api" for u in sel.units):
            self.client.get()  # fail now, clearly, rather than in every task (nodes have their own)
        backends = Backends(cfg, root, sel.tasks, self.client.get, gate.note_rate_limit, gate.note_rate_info)

        sessions = Sessions(interrupted_sessions(run_path))  # a resumed run continues them

        def worker_for(unit: Any) -> UnitRunner:
            return UnitRunner(
                backends.get(unit.backend),
                run_path=run_path,
                ledger=self.ledger,
                slot=lambda u: ws.task_slot(u.unit_id, u.relevant_files or None),
                on_fatal=gate.refuse,
                sessions=sessions,
            )

        self.verifier = VerifyGate.from_config(cfg.verification, self.bus, self.run_id, self.opt.verify)
        integrator = self.integrator = Integrator(
            workspace=ws,
            recorder=recorder,
            bus=self.bus,
            run_id=self.run_id,
            manager=manager,
            auto_commit=cfg.git.auto_commit,
            make_unit=lambda task: follow_up_unit(task, rule),
            verify=self.verifier,
        )
        graph = build_graph(self._single_outside_git(sel.units, ws, report), sel.done_before)
        watch = self.watch = TaskFileWatch(
            self.store,
            report.tag or self.store.current_tag(),
            rule,
            known=lambda: {*graph.units, *graph.groups, *graph.done_before, *graph.skipped},
            pick_new=self.opt.ids is None,
            wait_s=cfg.execution.tasks_file_wait_seconds,
            on_give_up=gate.refuse,
        )
        sched = Scheduler(
            graph,
            executor or LocalExecutor(worker_for, lambda u: ws.prepare(u.work_id)),
            bus=self.bus,
            config=SchedulerConfig.from_config(
                cfg.execution, shared_workdir=not ws.is_git, run_id=self.run_id, max_workers=workers
            ),
            hooks=SchedulerHooks(
                prepare=integrator.prepare,
                integrate=integrator,
                hold_reason=lambda: watch.hold_reason() or gate.hold_reason(),
                edits=watch.edits,
                started=recorder.started,
                failed=recorder.failed,
                upcoming=None if executor is not None else _ahead(ws),  # a Ray node clones for itself
            ),
        )
        gate.attach(sched.request_stop, self.run_id)
        return sched

    @staticmethod
    def _single_outside_git(units: list[Any], ws: Any, report: RunReport) -> list[Any]:
        """Best of N needs a worktree per attempt: without git, every unit runs once (and says so)."""
        if ws.is_git or all(su.unit.best_of == 1 for su in units):
            return units
        report.notices.append("best of N needs git worktrees: every task runs once")
        return [replace(su, unit=replace(su.unit, best_of=1)) for su in units]


def _ahead(ws: Workspace) -> Callable[[list[Any]], None]:
    """The scheduler's `upcoming` hook for local workers: their worktrees made ahead."""
    return lambda units: ws.prepare_ahead([u.work_id for u in units if u.best_of == 1])
