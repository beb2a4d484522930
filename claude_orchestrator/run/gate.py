"""The admission gate: before each dispatch the scheduler asks `AdmissionGate.hold_reason()`.

The gate is fed by its sources, never by what the display shows: the run's ledger (spend against the run
budget), the latest Claude Code usage-window notice, the pause-until of a Claude Code rejection, and the
refusals that end a run (the API refused the credentials). A pause holds new work until it passes; a spent
budget, usage past the critical threshold or a refusal stops new work for good (running tasks may finish).
`UsageGuard` turns a usage reading into a level and publishes one WARNING per upward crossing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..errors import BudgetExceededError
from ..events import EventBus, RateLimited, RunWarning

Level = Literal["ok", "warn", "critical"]
_RANK = {"ok": 0, "warn": 1, "critical": 2}
FATAL_GRACE_S = 5.0  # running tasks' grace after a refusal: they would fail the same way


class UsageLike(Protocol):
    @property
    def cost_usd(self) -> float: ...
    @property
    def budget_usd(self) -> float | None: ...
    @property
    def usage_window_pct(self) -> float | None: ...


@dataclass(frozen=True)
class UsageReading:
    """Spend so far, the run budget, and the Claude Code usage window (percent), read from their sources."""

    cost_usd: float = 0.0
    budget_usd: float | None = None
    usage_window_pct: float | None = None


@dataclass
class UsageGuard:
    """Compares usage with monitoring.usage_{warning,critical}_threshold (percent of the budget or of the
    Claude Code usage window). With a bus it publishes one WARNING event per upward crossing (re-armed
    after falling back below the threshold)."""

    cfg: Any  # OrchestratorConfig (kept loose so tests can pass a bare MonitoringConfig holder)
    bus: EventBus | None = None
    run_id: str = ""
    level: Level = field(default="ok", init=False)

    def classify(self, usage: UsageLike) -> tuple[Level, str, float | None]:
        mon = self.cfg.monitoring
        budget = 100.0 * usage.cost_usd / usage.budget_usd if usage.budget_usd else None
        window = usage.usage_window_pct
        if window is None or (budget is not None and budget >= window):
            metric, pct = "budget", budget
        else:
            metric, pct = "usage window", window
        if pct is None:
            return "ok", "", None
        if pct >= mon.usage_critical_threshold:
            return "critical", metric, pct
        if pct >= mon.usage_warning_threshold:
            return "warn", metric, pct
        return "ok", metric, pct

    def observe(self, reading: UsageLike | Any) -> Level:
        """The level of a usage reading (or of anything with `.usage`, like the display's snapshot)."""
        usage: UsageLike = getattr(reading, "usage", reading)
        run_id = getattr(reading, "run_id", "") or self.run_id
        level, metric, pct = self.classify(usage)
        crossed = _RANK[level] > _RANK[self.level]
        self.level = level
        if crossed and self.bus is not None and pct is not None:
            what = "stopping new work" if level == "critical" else "consider pausing or raising the budget"
            spent = f"${usage.cost_usd:.2f}" + (f" of ${usage.budget_usd:.2f}" if usage.budget_usd else "")
            self.bus.publish(
                RunWarning(
                    run_id=run_id,
                    message=f"{metric} at {pct:.0f}% ({spent}); {what}",
                    source="usage",
                    level=level,
                    metric=metric,
                    pct=round(pct, 1),
                    cost_usd=usage.cost_usd,
                )
            )
        return level


class AdmissionGate:
    """`hold_reason()`: why new work must wait (None: dispatch). `stop(grace_s)`, once attached (the
    scheduler's `request_stop`), is called when new work stops for good. The `note_*` and `refuse`
    sources may be called from any thread."""

    def __init__(
        self,
        cfg: Any,
        ledger: Any,
        *,
        bus: EventBus,
        budget_usd: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg, self.ledger, self.bus, self.budget_usd, self.clock = cfg, ledger, bus, budget_usd, clock
        self.run_id = ""  # set when the run starts
        self.guard = UsageGuard(cfg, bus=bus)
        self.refusals: list[str] = []  # reasons the run was stopped by a source (for the report)
        self._stop: Callable[[float], None] | None = None
        self._pause_until = 0.0
        self._pause_reason = ""
        self._window_pct: float | None = None
        self._stopped: str | None = None
        self._lock = threading.Lock()

    def attach(self, stop: Callable[[float], None], run_id: str) -> None:
        self._stop, self.run_id, self.guard.run_id = stop, run_id, run_id

    # -- sources ---------------------------------------------------------------------------------------

    def note_rate_info(self, notice: Any) -> None:
        """Claude Code's usage-window state (a RateLimitNotice): kept, and published for observers."""
        pct = None if notice.utilization is None else 100 * notice.utilization
        with self._lock:
            self._window_pct = pct if pct is not None else self._window_pct
        self.bus.publish(
            RateLimited(
                run_id=self.run_id,
                backend="claude-code",
                status=notice.status,
                utilization=notice.utilization,
                usage_window_pct=pct,
                resets_at=notice.resets_at,
                rate_limit_type=notice.rate_limit_type,
            )
        )

    def note_rate_limit(self, resets_at: float, kind: str) -> None:
        """Claude Code refused work until `resets_at`: hold new work until then."""
        until = time.strftime("%H:%M:%S", time.localtime(resets_at))
        with self._lock:
            self._pause_until = max(self._pause_until, resets_at)
            self._pause_reason = reason = f"Claude Code usage limit ({kind}) until {until}"
        self.bus.publish(RunWarning(run_id=self.run_id, message=f"pausing new work: {reason}"))

    def refuse(self, reason: str) -> None:
        """Something every further task would hit too (the API refused the credentials): stop the run."""
        with self._lock:
            new = reason not in self.refusals
            if new:
                self.refusals.append(reason)
        if new:
            self.bus.publish(RunWarning(run_id=self.run_id, message=f"stopping the run: {reason}"))
        if self._stop is not None:
            self._stop(FATAL_GRACE_S)

    # -- the answer ------------------------------------------------------------------------------------

    def reading(self) -> UsageReading:
        with self._lock:
            window = self._window_pct
        return UsageReading(self.ledger.cost_usd(), self.budget_usd, window)

    def hold_reason(self) -> str | None:
        with self._lock:
            if self.refusals:
                return self.refusals[0]
            if self.clock() < self._pause_until:
                return self._pause_reason
        try:
            self.ledger.ensure_budget()
        except BudgetExceededError as e:
            return self._stop_for(str(e))
        if self.guard.observe(self.reading()) == "critical":
            return self._stop_for("usage past the critical threshold")
        return None

    def _stop_for(self, reason: str) -> str:
        """Budgets do not refill by waiting: stop new work (running tasks may finish)."""
        if self._stopped is None:
            self._stopped = reason
            self.bus.publish(RunWarning(run_id=self.run_id, message=f"no new work: {reason}"))
            if self._stop is not None:
                self._stop(self.cfg.execution.worker_timeout)
        return reason
