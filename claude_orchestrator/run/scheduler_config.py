"""What the scheduler is given besides its units and its executor: `SchedulerConfig` (numbers and switches,
frozen) and `SchedulerHooks` (the calls it makes out of itself)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..workers.base import WorkResult, WorkUnit
    from .edits import FileEdits
    from .state import Decision


@dataclass(frozen=True)
class SchedulerConfig:
    """How the scheduler runs units. Build it from the project's config with `from_config`."""

    run_id: str = ""
    """The run's id: stamped on every event the scheduler emits and on its thread names."""

    max_workers: int = 3
    """Units running at once (at least 1)."""

    max_retries: int = 3
    """Further attempts after a worker attempt fails (an error, an exception, a timeout). Attempts sent
    back by integration (review, merge conflict, no changes) do not count: integration decides those."""

    retry_backoff_s: float = 2.0
    """Delay before the first retry of a failed attempt; doubled for each further one."""

    timeout_s: float | None = None
    """Seconds a worker attempt may run; the worker gets it too. None: no limit."""

    timeout_margin_s: float = 5.0
    """Extra seconds before the scheduler cancels an attempt that outlived `timeout_s` itself."""

    exclusive_files: bool = False
    """Never run two units whose relevant files overlap at the same time."""

    gate_poll_s: float = 0.5
    """While the admission gate holds dispatch, ask it again after this many seconds."""

    grace_s: float = 30.0
    """After a stop request, running units get this long to finish before they are cancelled."""

    kill_wait_s: float = 10.0
    """After cancelling, wait this long for a unit to return before giving up on it."""

    integrate_parallel: int = 0
    """Units in `hooks.prepare` (commit, review) at once; 0: max_workers, at least 2."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_workers", max(1, int(self.max_workers)))

    @classmethod
    def from_config(
        cls, execution: Any, *, shared_workdir: bool = False, **overrides: Any
    ) -> SchedulerConfig:
        """From `OrchestratorConfig.execution`. `shared_workdir`: units run in one directory (no git
        worktrees), so their files must not overlap. `overrides` replace single fields (run_id, ...)."""
        cfg = cls(
            max_workers=execution.max_workers,
            max_retries=execution.max_retries,
            retry_backoff_s=execution.retry_backoff_seconds,
            timeout_s=execution.worker_timeout,
            grace_s=execution.shutdown_grace_seconds,
            exclusive_files=execution.exclusive_files or shared_workdir,
        )
        return replace(cfg, **overrides)


@dataclass(frozen=True)
class SchedulerHooks:
    """The scheduler's calls out of itself; each one optional."""

    prepare: Callable[[WorkUnit, WorkResult], Decision | None] | None = None
    """For a unit whose worker succeeded, first: what needs no merge lock (commit, diff, review), for many
    units at once (`SchedulerConfig.integrate_parallel`). A Decision settles the unit there (retry, fail);
    None sends it on to `integrate`."""

    integrate: Callable[[WorkUnit, WorkResult], Decision] | None = None
    """For a unit whose worker succeeded (and that `prepare` sent on): merge, and the answer (done, retry,
    fail). Called on the scheduler's integration thread, one unit at a time."""

    hold_reason: Callable[[], str | None] | None = None
    """The admission gate, asked before each dispatch: a reason to hold new work, or None. A gate that
    raises stops the run."""

    edits: Callable[[], FileEdits | None] | None = None
    """Asked before each dispatch: tasks.json as a person left it, when it changed (run/edits.py); the
    run state honours the statuses they set and takes in the tasks they added."""

    started: Callable[[WorkUnit], None] | None = None
    """An attempt of a unit was dispatched (scheduler thread: must not block)."""

    failed: Callable[[str, str], None] | None = None
    """(unit id, reason): a unit, or a group of subtasks, failed for good (scheduler thread: must not
    block)."""

    upcoming: Callable[[list[WorkUnit]], None] | None = None
    """After each dispatch round: the ready units waiting for a slot, most urgent first, at most as many as
    there are workers (scheduler thread: must not block). The workspace prepares their worktrees ahead."""
