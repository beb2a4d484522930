"""What a snapshot of a run holds (the builder that folds events into one: snapshot.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .inflight import WorkerRow


@dataclass(frozen=True)
class TaskCounts:
    ready: int = 0
    running: int = 0
    waiting: int = 0
    blocked: int = 0
    done: int = 0
    failed: int = 0
    total: int = 0

    @property
    def finished(self) -> int:
        """Tasks that will not run again in this run (done, failed or blocked)."""
        return self.done + self.failed + self.blocked


@dataclass(frozen=True)
class CheckCounts:
    """Units by their last verification: checks passed, checks failed, no checks (or verification off)."""

    verified: int = 0
    failed: int = 0
    unchecked: int = 0


@dataclass(frozen=True)
class UsagePanel:
    tokens_in: int = 0
    tokens_out: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cost_usd: float = 0.0
    budget_usd: float | None = None
    ratelimit_headroom: float | None = None  # fraction 0..1 still free
    usage_window_pct: float | None = None  # Claude Code 5-hour/weekly window, 0..100

    @property
    def budget_pct(self) -> float | None:
        if not self.budget_usd:
            return None
        return 100.0 * self.cost_usd / self.budget_usd

    @property
    def peak_pct(self) -> float | None:
        """The highest of budget % and usage-window % (what thresholds compare against)."""
        vals = [v for v in (self.budget_pct, self.usage_window_pct) if v is not None]
        return max(vals) if vals else None


@dataclass(frozen=True)
class RunSnapshot:
    run_id: str = ""
    started_at: float = 0.0
    now: float = 0.0
    tasks: TaskCounts = TaskCounts()
    workers: tuple[WorkerRow, ...] = ()
    usage: UsagePanel = UsagePanel()
    retries: int = 0
    recent_events: tuple[str, ...] = ()
    eta_seconds: float | None = None
    critical_path_remaining: int = 0
    status: str = "running"  # "running", "stopping" after a stop request, then RUN_FINISHED's status
    max_workers: int = 0
    finished_at: float | None = None
    stop_deadline: float | None = None  # while stopping: when the grace of the running units ends
    checks: CheckCounts = CheckCounts()

    @property
    def stop_left(self) -> float | None:
        """Seconds of the stop's grace left (0 once it is over), or None when not stopping."""
        if self.status != "stopping" or self.stop_deadline is None:
            return None
        return max(0.0, self.stop_deadline - self.now)

    @property
    def elapsed(self) -> float:
        end = self.finished_at if self.finished_at is not None else self.now
        return max(0.0, end - self.started_at) if self.started_at else 0.0
