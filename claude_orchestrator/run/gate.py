"""UsageGuard: the one place that turns usage into a decision. The scheduler consults it before each
dispatch; observers only show its WARNING events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .. import events as ev
from ..observers.snapshot import RunSnapshot, UsagePanel

Level = Literal["ok", "warn", "critical"]
_RANK = {"ok": 0, "warn": 1, "critical": 2}


@dataclass
class UsageGuard:
    """Compares usage with monitoring.usage_{warning,critical}_threshold (percent of the budget or of the
    Claude Code usage window). The scheduler calls `observe` before dispatching and stops new dispatch on
    "critical". With a bus it publishes one WARNING event per upward crossing (re-armed after falling
    back below the threshold)."""

    cfg: Any  # OrchestratorConfig (kept loose so tests can pass a bare MonitoringConfig holder)
    bus: ev.EventBus | None = None
    run_id: str = ""
    level: Level = field(default="ok", init=False)

    def classify(self, usage: UsagePanel) -> tuple[Level, str, float | None]:
        mon = self.cfg.monitoring
        budget, window = usage.budget_pct, usage.usage_window_pct
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

    def observe(self, snapshot_or_usage: RunSnapshot | UsagePanel) -> Level:
        s = snapshot_or_usage
        usage = s.usage if isinstance(s, RunSnapshot) else s
        run_id = s.run_id if isinstance(s, RunSnapshot) and s.run_id else self.run_id
        level, metric, pct = self.classify(usage)
        crossed = _RANK[level] > _RANK[self.level]
        self.level = level
        if crossed and self.bus is not None and pct is not None:
            what = "stopping new work" if level == "critical" else "consider pausing or raising the budget"
            spent = f"${usage.cost_usd:.2f}" + (f" of ${usage.budget_usd:.2f}" if usage.budget_usd else "")
            self.bus.emit(
                ev.WARNING,
                run_id=run_id,
                message=f"{metric} at {pct:.0f}% ({spent}); {what}",
                source="usage",
                level=level,
                metric=metric,
                pct=round(pct, 1),
                cost_usd=usage.cost_usd,
            )
        return level
