"""Parts of a run that the engine wires, each built from config: the model client (made on first use),
the workspace, the reviewer, the ledger's earlier spend and its usage events."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

from ..config import OrchestratorConfig
from ..errors import ConfigError, OrchestratorError
from ..events import EventBus
from ..events import Usage as UsageEvent
from ..workspace.protocol import Workspace


class ModelClient:
    """The run's LLM client, made on first use: the api backend and the reviewer need credentials, a run
    on Claude Code alone never does. Thread-safe."""

    def __init__(
        self, cfg: OrchestratorConfig, ledger: Any, budgets: Any, record: Path | None, llm: Any = None
    ) -> None:
        self.cfg, self.ledger, self.budgets, self.record = cfg, ledger, budgets, record
        self._llm = llm
        self._lock = threading.Lock()
        self.limiter: Any = None  # the run's rate-limit admission, when it is not this client's own

    def get(self) -> Any:
        with self._lock:
            if self._llm is None:
                from ..llm import LLM, Recorder

                recorder = Recorder(self.record) if self.record else None
                self._llm = LLM.from_config(self.cfg, ledger=self.ledger, recorder=recorder)
                self.ledger.configure(budgets=self.budgets)  # from_config applied the config's budgets
                if self.limiter is not None:
                    self._llm.limiter = self.limiter
            return self._llm

    def close(self) -> None:
        with self._lock:
            llm = self._llm
        if llm is not None:
            llm.close()
            if getattr(llm, "recorder", None) is not None:
                llm.recorder.close()


def open_cluster(
    cfg: OrchestratorConfig,
    root: Path,
    executor: str | None,
    address: str | None,
    workers: int,
    backends: tuple[str, ...] = (),
) -> Any:
    """The run's Ray connection when its executor is `ray` (--executor, else execution.executor), with its
    node agents starting (`backends`: those the run's units use, imported by the agents at once); None
    for the local one. Connecting comes first, so a missing extra, a bad address,
    a project Ray cannot ship or a cluster with no room for a worker is one line and exit 2 before anything
    of the run is written."""
    kind = executor or cfg.execution.executor
    if kind == "local":
        return None
    if kind != "ray":
        raise ConfigError(f"unknown executor '{kind}' (choose from local, ray)")
    from .ray import require_ray

    require_ray()
    if not (cfg.git.auto_commit and cfg.git.use_worktrees):
        raise ConfigError(
            "the Ray executor ships work through git: git.auto_commit and git.use_worktrees must be on"
        )
    from ..workspace.bundles import check_git_repository

    try:
        check_git_repository(root)
    except OrchestratorError as e:
        raise ConfigError(f"the Ray executor ships work through git: {e}") from None
    from .ray.cluster import RayCluster

    ray_cfg = cfg.execution.ray
    cluster = RayCluster.connect(address or ray_cfg.address, ray_cfg.forward_env)
    try:
        cluster.start_agents(dict(ray_cfg.worker_resources), workers, backends)
    except BaseException:
        cluster.close()
        raise
    return cluster


def remote_executor(engine: Any, ws: Any, tasks: dict[str, dict[str, Any]], run_path: Path) -> Any:
    """The Ray executor of the engine's run when it has a cluster (its model client then admits through
    the run's one admission actor), else None."""
    if engine.cluster is None:
        return None
    from .ray.executor import remote_executor as make

    return make(engine, ws, tasks, run_path)


def open_workspace(root: Path, run_id: str, cfg: OrchestratorConfig, branch: str | None) -> Workspace:
    """Worktrees in a git repository (none when auto_commit is off), the directory itself elsewhere."""
    from ..workspace import open_workspace as open_ws

    git_cfg = cfg.git if cfg.git.auto_commit else cfg.git.model_copy(update={"use_worktrees": False})
    return open_ws(
        root, run_id, git_cfg, target_branch=branch, ignore_paths=(".taskmaster/", "orchestrator_config.json")
    )


def status_texts(root: Path, tasks_path: Path, own: Any) -> Callable[[str, str | None], str | None]:
    """What a status commit holds for each engine file the working tree changed: tasks.json as committed
    plus the run's own changes (run/owned.py), the run's write-back record as it is, nothing else (a
    person's edits stay theirs)."""
    tasks = tasks_path.resolve()

    def text(path: str, committed: str | None) -> str | None:
        full = (root / path).resolve()
        if full == tasks:
            return cast("str | None", own.rebuild(committed))
        if full.parent == tasks.parent.parent / "intake" and full.is_file():
            return full.read_text(encoding="utf-8")
        return None

    return text


def close_workspace(ws: Workspace) -> None:
    """Commit the task statuses (a tracked tasks.json) and remove the run's worktrees."""
    if ws.is_git:
        with contextlib.suppress(OrchestratorError):
            ws.commit_status()
        ws.finish()


def reviewer(
    cfg: OrchestratorConfig, client: ModelClient, root: Path, run_id: str, notices: list[str]
) -> Any:
    """The manager that reviews each unit's work, or None (with a notice) when it cannot be made."""
    try:
        from ..manager import Manager

        return Manager(llm=client.get(), cfg=cfg, project_root=root, run_id=run_id)
    except ConfigError as e:
        notices.append(f"review is off: {e}")
        return None


def load_spent(ledger: Any, usage_file: Path) -> None:
    """A resumed run keeps counting what it spent before."""
    if not usage_file.is_file():
        return
    from ..llm import Ledger

    with contextlib.suppress(Exception):
        for rec in Ledger.load(usage_file).records():
            ledger.record(
                role=rec.role,
                model=rec.model,
                usage=rec.usage,
                task_id=rec.task_id,
                request_id=rec.request_id,
                run_id=rec.run_id,
            )


@contextlib.contextmanager
def usage_events(ledger: Any, bus: EventBus, run_id: str, budget_usd: float | None) -> Iterator[None]:
    """While open, every ledger record publishes the run's usage totals (for the display and Slack)."""

    def on_record(_rec: Any) -> None:
        u = ledger.usage()
        bus.publish(
            UsageEvent(
                run_id=run_id,
                tokens_in=u.total_input,
                tokens_out=u.output_tokens,
                cache_read=u.cache_read,
                cache_write=u.cache_creation_input_tokens,
                cost_usd=ledger.cost_usd(),
                budget_usd=budget_usd,
            )
        )

    unsubscribe = ledger.subscribe(on_record)
    try:
        yield
    finally:
        unsubscribe()
