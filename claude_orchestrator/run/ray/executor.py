"""The driver's side of the Ray executor: the `Executor` seam of run/executor.py over remote tasks.

When the run opens, the node agents start (agents.py). For each job a thread of this process ships the
base bundle (put in the object store once per tip of the target branch; after the run's first one, it
holds only what the branch gained since) and, when an earlier attempt left
commits on the task's branch, the task's own part; takes a worker slot, calls `NodeAgent.run_attempt` on
that slot's node and reads its stream. A task's worktree on the driver is only needed when the work comes
back, so a task's first attempt has it made while the node works. In the stream, progress (with the
node's name) and model usage go to the scheduler and the ledger as they come; the final bundle is fetched
into the worktree before the `Finished` delivery, so integration finds the work where a local worker would
have left it. A worker or a node that dies fails the attempt with a reason that says so; the scheduler's
retry policy decides what follows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ray
from ray import exceptions as rex

from ...config import BudgetConfig, OrchestratorConfig
from ...errors import ConfigError, OrchestratorError
from ...events import TaskProgress
from ...llm.usage import Usage
from ...workers.base import WorkResult, WorkUnit
from ...workspace import bundles
from ...workspace.commits import head_of
from ..candidates import Candidate, Totals, combine
from ..dispatch import attempt_budget
from ..executor import Deliver, Finished, Job, Progress
from ..folder import task_dir
from .admission import RemoteLimiter, start_admission
from .agents import Agent, Agents
from .cluster import RayCluster
from .node import Returned, Spec

BACKENDS = ("claude-code", "api", "build")
TINY_USD = 1e-9  # a budget already spent: the node's ledger refuses the first request


@dataclass
class Driver:
    """What the driver does around remote attempts (the engine builds it)."""

    cfg: OrchestratorConfig
    workspace: Any  # workspace.git.Workspace: worktrees, branches, the target branch
    run_path: Path
    run_id: str
    ledger: Any  # llm.Ledger: the run's usage and budgets
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # unit id -> the task as stored
    settle: Callable[[WorkUnit, WorkResult], None] = lambda _u, _r: None  # booking, refused credentials
    on_rate_limit: Callable[[float, str], None] | None = None  # Claude Code refused work until ...
    on_rate_info: Callable[[Any], None] | None = None  # Claude Code's usage-window notices


@dataclass
class _Call:
    """One remote task: the job's attempt, or one attempt of its best of N."""

    unit: WorkUnit
    report: Callable[[TaskProgress], None]
    ref: Any = None  # the streaming generator of the remote task, once submitted
    node: str | None = None
    agent: Agent | None = None


@dataclass
class _Remote:
    job: Job
    calls: list[_Call] = field(default_factory=list)
    cancelled: bool = False


class RayExecutor:
    """Jobs as Ray tasks on the cluster `cluster` is connected to. `limiter` is the run's global
    rate-limit admission (give it to the driver's own model client too)."""

    def __init__(self, cluster: RayCluster, driver: Driver) -> None:
        self.cluster, self.d = cluster, driver
        cfg = driver.cfg
        self.scratch = Path(tempfile.mkdtemp(prefix="claude-orchestrator-ray-"))
        ws = driver.workspace
        self.bases = bundles.BaseBundles(ws, self.scratch)
        self._base: tuple[bundles.Base, Any] | None = None  # the latest base bundle and its object ref
        self._first: Any = None  # the object ref of the run's first base bundle (the later ones build on it)
        self.actor = start_admission(cfg.rate_limits, f"admission-{driver.run_id}-{os.getpid()}")
        self.limiter = RemoteLimiter(self.actor)
        cluster.starting.append(self.actor.__ray_ready__.remote())
        self.agents: Agents | None = None
        self.node_cfg = cfg.model_copy(
            update={"notifications": cfg.notifications.model_copy(update={"slack_webhook_url": None})}
        )
        self.templates = _templates(ws.root if not ws.prefix else ws.root / ws.prefix)
        self._pool: ThreadPoolExecutor | None = None
        self._deliver: Deliver | None = None
        self._jobs: dict[int, tuple[_Remote, Future[None]]] = {}
        self._lock = threading.Lock()
        self._base_lock = threading.Lock()

    # -- the seam ---------------------------------------------------------------------------------------

    def open(self, deliver: Deliver, max_workers: int) -> None:
        if self._pool is not None:
            raise OrchestratorError("a RayExecutor is opened once")
        self.agents = self.cluster.agents or self.cluster.start_agents(
            dict(self.d.cfg.execution.ray.worker_resources), max_workers
        )
        self._deliver = deliver
        self._pool = ThreadPoolExecutor(max(1, max_workers) * 2, thread_name_prefix="ray-job")

    def submit(self, job: Job) -> None:
        if self._pool is None:
            raise OrchestratorError("RayExecutor.submit before open")
        if job.unit.backend not in BACKENDS:
            raise ConfigError(f"unknown backend '{job.unit.backend}'")
        entry = _Remote(job)
        with self._lock:
            self._jobs[job.token] = (entry, self._pool.submit(self._run, entry))

    def cancel(self, token: int) -> None:
        with self._lock:
            found = self._jobs.get(token)
            if found is None:
                return
            entry = found[0]
            entry.cancelled = True
            refs = [c.ref for c in entry.calls if c.ref is not None]
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref)

    def close(self, wait_s: float) -> set[int]:
        with self._lock:
            left = dict(self._jobs)
        for token in left:
            self.cancel(token)
        futs = {fut: token for token, (_, fut) in left.items()}
        _, stuck = wait_futures(list(futs), timeout=wait_s) if futs else (set(), set())
        if self.agents is not None:
            for fut in stuck:  # a node that does not answer: end its agent (the watchdogs kill the rest)
                for call in left[futs[fut]][0].calls:
                    if call.agent is not None:
                        self.agents.kill(call.agent)
        if self._pool is not None:
            self._pool.shutdown(wait=not stuck, cancel_futures=True)
        with contextlib.suppress(Exception):
            ray.kill(self.actor)
        shutil.rmtree(self.scratch, ignore_errors=True)
        return {futs[f] for f in stuck}

    # -- one job ----------------------------------------------------------------------------------------

    def _run(self, entry: _Remote) -> None:
        assert self._deliver is not None
        deliver, unit = self._deliver, entry.job.unit

        def report(p: TaskProgress) -> None:
            if not entry.cancelled:  # a cancelled attempt's progress is noise
                deliver(Progress(entry.job, p))

        if unit.best_of > 1:  # best of N: N remote tasks at once, each for its own worktree
            units = [replace(unit, candidate=k) for k in range(1, unit.best_of + 1)]
            totals = Totals()
            with ThreadPoolExecutor(len(units), thread_name_prefix=f"ray-{unit.unit_id}") as pool:
                results = list(
                    pool.map(lambda u: self._call(entry, u, totals.reporter(u.candidate, report)), units)
                )
            res = combine([Candidate(u, r) for u, r in zip(units, results, strict=True)])
        else:
            res = self._call(entry, unit, report)
        with self._lock:
            self._jobs.pop(entry.job.token, None)
        deliver(Finished(entry.job, res))

    def _call(self, entry: _Remote, unit: WorkUnit, report: Callable[[TaskProgress], None]) -> WorkResult:
        """One remote task for `unit`; never raises: what went wrong is the failed result's reason."""
        call = _Call(unit, report)
        try:
            return self._attempt(entry, call)
        except rex.TaskCancelledError:
            return WorkResult.failure("cancelled")
        except (rex.WorkerCrashedError, rex.RayActorError):
            if call.agent is not None and self.agents is not None:
                self.agents.lost(call.agent)
            return WorkResult.failure(f"the Ray worker running it{_on(call.node)} died mid-task")
        except rex.RayError as e:
            return WorkResult.failure(f"Ray{_on(call.node)}: {type(e).__name__}: {_first(e)}")
        except Exception as e:  # preparing the worktree, a bundle that does not apply
            return WorkResult.failure(f"{type(e).__name__}: {e}")

    def _attempt(self, entry: _Remote, call: _Call) -> WorkResult:
        ws, unit = self.d.workspace, call.unit
        budget = attempt_budget(self.d.ledger, unit)
        if budget is not None and budget <= 0:
            return WorkResult.failure(f"task {unit.unit_id} has spent its budget (budgets.task_usd)")
        fresh = ws.branch_tip(unit.work_id) is None  # no earlier attempt: it starts from the tip
        sha, since, base_refs = self._base_bundle()
        if fresh:  # its worktree is needed when the work comes back: it is made while the node works,
            head, part = sha, None  # once the node has its clone (a node on this host shares its CPUs)
        else:
            cwd = ws.prepare(unit.work_id)
            head = head_of(ws, cwd)
            part = bundles.task_part(ws, cwd, head, sha, self.scratch)
        spec = self._spec(replace(entry.job, unit=unit), head, sha, since, budget)
        assert self.agents is not None
        agent = self.agents.take(lambda: entry.cancelled)
        if agent is None:
            return WorkResult.failure("cancelled")
        try:
            with self._lock:
                if entry.cancelled:
                    return WorkResult.failure("cancelled")
                call.agent = agent
                call.ref = agent.handle.run_attempt.options(num_returns="streaming").remote(
                    spec, base_refs, part
                )
                entry.calls.append(call)
            returned: Returned | None = None
            for ref in call.ref:
                msg = ray.get(ref)
                if fresh and msg[0] not in ("placed", "result"):  # the node has cloned: the driver's turn
                    self._prepare_meanwhile(call)
                    fresh = False
                returned = self._on_message(call, msg)
                if returned is not None:  # the node's clean-up goes on without us
                    break
        finally:
            self.agents.give_back(agent)
        if returned is None:
            return WorkResult.failure(f"the remote task{_on(call.node)} ended without a result")
        if fresh and returned.head is not None:  # work came back before any other message
            ws.prepare(unit.work_id)
        return self._bring_back(call, returned)

    def _prepare_meanwhile(self, call: _Call) -> None:
        """The task's worktree, made while its remote task runs (its messages wait in the stream); if it
        cannot be made, the remote task is cancelled and the attempt fails with the reason."""
        try:
            self.d.workspace.prepare(call.unit.work_id)
        except BaseException:
            with contextlib.suppress(Exception):
                ray.cancel(call.ref)
            raise

    def _spec(
        self, job: Job, head: str, base_sha: str, since: str | None = None, budget: float | None = None
    ) -> Spec:
        """The attempt as the node gets it: data only, never a credential."""
        unit, ws = job.unit, self.d.workspace
        return Spec(
            unit=unit,
            run_id=job.run_id,
            timeout_s=job.timeout_s,
            cfg=self.node_cfg,
            branch=ws.branch(unit.work_id),
            base_sha=base_sha,
            base_since=since,
            head_sha=head,
            prefix=ws.prefix,
            task=self.d.tasks.get(unit.unit_id, {}),
            templates=self.templates,
            budgets=self._budgets(unit.unit_id),
            budget_usd=budget,
            ignore=tuple(ws.ignore_paths),
            admission=self.actor,
        )

    def _base_bundle(self) -> tuple[str, str | None, list[Any]]:
        """(the base's sha, the first base it builds on or None, the refs a node stores in that order)."""
        with self._base_lock:  # not self._lock: cancels need not wait for a bundle
            base, _ = self.bases.current()
            if self._base is None or self._base[0] is not base:  # a new tip: its bundle goes out once
                self._base = (base, ray.put(base.path.read_bytes()))
                base.path.unlink(missing_ok=True)
                if base is self.bases.first:
                    self._first = self._base[1]
            ref = self._base[1]
            return base.sha, base.since, [self._first, ref] if base.since else [ref]

    def _budgets(self, unit_id: str) -> BudgetConfig:
        """What is left of the run's and this task's budgets (the node's ledger stops there)."""
        b, led = self.d.ledger.budgets, self.d.ledger
        spent = led.cost_usd(run_id=led.run_id or None)
        run_left = None if b.run_usd is None else max(TINY_USD, b.run_usd - spent)
        task_left = None if b.task_usd is None else max(TINY_USD, b.task_usd - led.cost_usd(task_id=unit_id))
        return BudgetConfig(run_usd=run_left, task_usd=task_left)

    def _on_message(self, call: _Call, msg: tuple[Any, ...]) -> Returned | None:
        kind, d = msg[0], self.d
        if kind == "placed":
            call.node = msg[1]
            call.report(TaskProgress(phase="starting", node=call.node))
        elif kind == "progress":
            call.report(replace(msg[1], node=call.node))
        elif kind == "usage":
            rec = msg[1]
            d.ledger.record(
                role=rec["role"],
                model=rec["model"],
                usage=Usage(**rec["usage"]),
                task_id=rec.get("task_id"),
                request_id=rec.get("request_id"),
                run_id=rec.get("run_id") or None,
            )
        elif kind == "rate_limit" and d.on_rate_limit is not None:
            d.on_rate_limit(msg[1], msg[2])
        elif kind == "rate_info" and d.on_rate_info is not None:
            d.on_rate_info(msg[1])
        elif kind == "result":
            return msg[1]  # type: ignore[no-any-return]
        return None

    def _bring_back(self, call: _Call, back: Returned) -> WorkResult:
        """The node's work into the task's worktree; its transcript into the run folder."""
        unit, res = call.unit, back.result
        if back.head is not None:
            bundles.receive(
                self.d.workspace, unit.work_id, back.bundle, back.head, self.scratch, back.wrapped
            )
        tpath = None
        if back.transcript is not None:
            which = f"{unit.attempt}-c{unit.candidate}" if unit.candidate else str(unit.attempt)
            tpath = task_dir(self.d.run_path, unit.unit_id, create=True) / f"transcript-{which}.jsonl"
            tpath.write_text(back.transcript, encoding="utf-8")
        data = {**res.data, "node": call.node}
        if back.skipped:
            data["left_on_node"] = back.skipped
        res = replace(res, transcript_path=str(tpath) if tpath else None, data=data)
        self.d.settle(unit, res)
        return res


def remote_executor(engine: Any, ws: Any, tasks: dict[str, dict[str, Any]], run_path: Path) -> RayExecutor:
    """The Ray executor of `engine`'s run (run/engine.py); the driver's model client admits its requests
    through the same global admission."""
    from ..dispatch import settle

    gate, ledger = engine.gate, engine.ledger
    driver = Driver(
        cfg=engine.cfg,
        workspace=ws,
        run_path=run_path,
        run_id=engine.run_id,
        ledger=ledger,
        tasks=tasks,
        settle=lambda u, r: settle(u.backend, u, r, ledger, gate.refuse),
        on_rate_limit=gate.note_rate_limit,
        on_rate_info=gate.note_rate_info,
    )
    executor = RayExecutor(engine.cluster, driver)
    engine.client.limiter = executor.limiter
    return executor


def _templates(project: Path) -> dict[str, str]:
    tdir = project / ".taskmaster" / "templates"
    if not tdir.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in tdir.glob("*.md") if p.is_file()}


def _on(node: str | None) -> str:
    return f" on {node}" if node else ""


def _first(e: BaseException) -> str:
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    return lines[0].strip()[:300] if lines else ""
