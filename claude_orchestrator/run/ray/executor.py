"""The driver's side of the Ray executor: the `Executor` seam of run/executor.py over remote tasks.

For each job a thread of this process prepares the task's worktree (as a local attempt would), ships the
base bundle (put in the object store once per tip of the target branch) and the task's own part, submits
`node.run_attempt` and reads its stream: progress (with the node's name) and model usage go to the
scheduler and the ledger as they come; the final bundle is fetched into the worktree before the `Finished`
delivery, so integration finds the work where a local worker would have left it. A worker or a node that
dies fails the attempt with a reason that says so; the scheduler's retry policy decides what follows.
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
from ..executor import Deliver, Finished, Job, Progress
from ..folder import task_dir
from .admission import RemoteLimiter, start_admission
from .cluster import RayCluster
from .node import Returned, Spec, run_attempt

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
class _Remote:
    job: Job
    ref: Any = None  # the streaming generator of the remote task, once submitted
    node: str | None = None
    cancelled: bool = False


class RayExecutor:
    """Jobs as Ray tasks on the cluster `cluster` is connected to. `limiter` is the run's global
    rate-limit admission (give it to the driver's own model client too)."""

    def __init__(self, cluster: RayCluster, driver: Driver) -> None:
        self.cluster, self.d = cluster, driver
        cfg = driver.cfg
        self.scratch = Path(tempfile.mkdtemp(prefix="claude-orchestrator-ray-"))
        ws = driver.workspace
        self.bases = bundles.BaseBundles(ws.git, ws.root, ws.target_branch, self.scratch)
        self._base: tuple[str, Any] | None = None  # (sha, object ref) of the latest base bundle
        self.actor = start_admission(cfg.rate_limits, f"admission-{driver.run_id}-{os.getpid()}")
        self.limiter = RemoteLimiter(self.actor)
        res = dict(cfg.execution.ray.worker_resources)
        self.options: dict[str, Any] = {"num_cpus": res.pop("num_cpus", 1)}
        if res:
            self.options["resources"] = res
        self.node_cfg = cfg.model_copy(
            update={"notifications": cfg.notifications.model_copy(update={"slack_webhook_url": None})}
        )
        self.templates = _templates(ws.root if not ws.prefix else ws.root / ws.prefix)
        self._pool: ThreadPoolExecutor | None = None
        self._deliver: Deliver | None = None
        self._jobs: dict[int, tuple[_Remote, Future[None]]] = {}
        self._lock = threading.Lock()

    # -- the seam ---------------------------------------------------------------------------------------

    def open(self, deliver: Deliver, max_workers: int) -> None:
        if self._pool is not None:
            raise OrchestratorError("a RayExecutor is opened once")
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
            ref = entry.ref
        if ref is not None:
            with contextlib.suppress(Exception):
                ray.cancel(ref)

    def close(self, wait_s: float) -> set[int]:
        with self._lock:
            left = dict(self._jobs)
        for token in left:
            self.cancel(token)
        futs = {fut: token for token, (_, fut) in left.items()}
        _, stuck = wait_futures(list(futs), timeout=wait_s) if futs else (set(), set())
        for fut in stuck:  # a node that does not answer: end its worker (the watchdog kills the rest)
            ref = left[futs[fut]][0].ref
            if ref is not None:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
        if self._pool is not None:
            self._pool.shutdown(wait=not stuck, cancel_futures=True)
        with contextlib.suppress(Exception):
            ray.kill(self.actor)
        shutil.rmtree(self.scratch, ignore_errors=True)
        return {futs[f] for f in stuck}

    # -- one job ----------------------------------------------------------------------------------------

    def _run(self, entry: _Remote) -> None:
        assert self._deliver is not None
        try:
            res = self._attempt(entry)
        except rex.TaskCancelledError:
            res = WorkResult.failure("cancelled")
        except rex.WorkerCrashedError:
            res = WorkResult.failure(f"the Ray worker running it{_on(entry.node)} died mid-task")
        except rex.RayError as e:
            res = WorkResult.failure(f"Ray{_on(entry.node)}: {type(e).__name__}: {_first(e)}")
        except Exception as e:  # preparing the worktree, a bundle that does not apply
            res = WorkResult.failure(f"{type(e).__name__}: {e}")
        with self._lock:
            self._jobs.pop(entry.job.token, None)
        self._deliver(Finished(entry.job, res))

    def _attempt(self, entry: _Remote) -> WorkResult:
        job = entry.job
        cwd = self.d.workspace.prepare(job.unit.unit_id)
        sha, base_ref = self._base_bundle()
        part = bundles.task_part(self.d.workspace.git, cwd, sha, self.scratch)
        spec = self._spec(job, cwd, sha)
        with self._lock:
            if entry.cancelled:
                return WorkResult.failure("cancelled")
            entry.ref = run_attempt.options(**self.options).remote(spec, [base_ref], part)
        returned: Returned | None = None
        for ref in entry.ref:
            returned = self._on_message(entry, ray.get(ref)) or returned
        if returned is None:
            return WorkResult.failure(f"the remote task{_on(entry.node)} ended without a result")
        return self._bring_back(entry, cwd, returned)

    def _spec(self, job: Job, cwd: Path, base_sha: str) -> Spec:
        """The attempt as the node gets it: data only, never a credential."""
        unit, ws = job.unit, self.d.workspace
        return Spec(
            unit=unit,
            run_id=job.run_id,
            timeout_s=job.timeout_s,
            cfg=self.node_cfg,
            branch=ws.branch(unit.unit_id),
            base_sha=base_sha,
            head_sha=bundles.worktree_head(ws.git, cwd),
            prefix=ws.prefix,
            task=self.d.tasks.get(unit.unit_id, {}),
            templates=self.templates,
            budgets=self._budgets(unit.unit_id),
            ignore=tuple(ws.ignore_paths),
            admission=self.actor,
        )

    def _base_bundle(self) -> tuple[str, Any]:
        with self._lock:
            base, made = self.bases.current()
            if made or self._base is None or self._base[0] != base.sha:
                self._base = (base.sha, ray.put(base.path.read_bytes()))
                base.path.unlink(missing_ok=True)
            return self._base

    def _budgets(self, unit_id: str) -> BudgetConfig:
        """What is left of the run's and this task's budgets (the node's ledger stops there)."""
        b, led = self.d.ledger.budgets, self.d.ledger
        spent = led.cost_usd(run_id=led.run_id or None)
        run_left = None if b.run_usd is None else max(TINY_USD, b.run_usd - spent)
        task_left = None if b.task_usd is None else max(TINY_USD, b.task_usd - led.cost_usd(task_id=unit_id))
        return BudgetConfig(run_usd=run_left, task_usd=task_left)

    def _on_message(self, entry: _Remote, msg: tuple[Any, ...]) -> Returned | None:
        assert self._deliver is not None
        kind, d = msg[0], self.d
        if kind == "placed":
            entry.node = msg[1]
            self._deliver(Progress(entry.job, TaskProgress(phase="starting", node=entry.node)))
        elif kind == "progress":
            self._deliver(Progress(entry.job, replace(msg[1], node=entry.node)))
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

    def _bring_back(self, entry: _Remote, cwd: Path, back: Returned) -> WorkResult:
        """The node's work into the task's worktree; its transcript into the run folder."""
        unit, res = entry.job.unit, back.result
        if back.head is not None:
            bundles.receive(self.d.workspace.git, cwd, back.bundle, back.head, self.scratch)
        tpath = None
        if back.transcript is not None:
            tpath = task_dir(self.d.run_path, unit.unit_id, create=True) / f"transcript-{unit.attempt}.jsonl"
            tpath.write_text(back.transcript, encoding="utf-8")
        data = {**res.data, "node": entry.node}
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
