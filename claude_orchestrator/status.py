"""Status as data: the task counts, recent runs and budget state of a project, as `claude-orchestrator status`
shows them. The CLI only formats these objects (``to_dict()`` is the ``--json`` output)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError, TaskFileError

if TYPE_CHECKING:
    from .config import OrchestratorConfig
    from .run.folder import RunSummary

WINDOW_S = 5 * 3600  # the Claude Code session window, used for the rolling spend figure


@dataclass(frozen=True)
class TaskCounts:
    """The current tag of a project's task database."""

    file: Path
    """The tasks.json read."""
    tag: str
    total: int
    """Top-level tasks."""
    subtasks: int
    ready_ids: list[str]
    """Units (tasks without subtasks, and subtasks) whose dependencies are done."""
    by_status: dict[str, int]
    """Top-level tasks by status."""

    @property
    def ready(self) -> int:
        return len(self.ready_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "tag": self.tag,
            "total": self.total,
            "subtasks": self.subtasks,
            "ready": self.ready,
            "ready_ids": list(self.ready_ids),
            "by_status": dict(self.by_status),
        }


@dataclass(frozen=True)
class RunStatus:
    """One run: its summary and where the summary came from."""

    summary: RunSummary
    source: str
    """"summary.json", "events" (rebuilt from the event log: running or crashed), or "events (<why the
    summary could not be read>)"."""

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary.model_dump(mode="json"), "source": self.source}


@dataclass(frozen=True)
class BudgetStatus:
    """Budgets and limits from the configuration, and how the latest runs stand against them."""

    run_usd: float | None
    task_usd: float | None
    warning_pct: float
    critical_pct: float
    last_run_cost_usd: float | None
    """None when there is no run yet."""
    last_run_budget_pct: float | None
    usage_window_pct: float | None
    """The last Claude Code usage-window figure the latest run saw, if any."""
    spent_last_5h_usd: float
    """Cost of every run started in the last five hours (the Claude Code session window)."""
    level: str
    """"ok", "warn" or "critical"."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_usd": self.run_usd,
            "task_usd": self.task_usd,
            "warning_pct": self.warning_pct,
            "critical_pct": self.critical_pct,
            "last_run_cost_usd": self.last_run_cost_usd,
            "last_run_budget_pct": self.last_run_budget_pct,
            "usage_window_pct": self.usage_window_pct,
            "spent_last_5h_usd": self.spent_last_5h_usd,
            "level": self.level,
        }


@dataclass(frozen=True)
class ProjectStatus:
    """What `claude-orchestrator status` shows."""

    project: Path
    tasks: TaskCounts
    runs: list[RunStatus]
    """Newest first."""
    budget: BudgetStatus

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": str(self.project),
            "tasks": self.tasks.to_dict(),
            "runs": [r.to_dict() for r in self.runs],
            "budget": self.budget.to_dict(),
        }


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above `start` holding .taskmaster/ (stops at a git root)."""
    here = start.resolve()
    for d in (here, *here.parents):
        if (d / ".taskmaster").is_dir():
            return d
        if (d / ".git").exists():
            break
    raise NotFoundError(f"no .taskmaster/ in {here} or its parents (run `claude-orchestrator init` first)")


def task_counts(root: Path) -> TaskCounts:
    """Counts by status of the current tag, plus the units (tasks or subtasks) ready to run."""
    from .taskmaster.graph import TaskGraph
    from .taskmaster.store import TaskStore

    store = TaskStore(root)
    tag = store.current_tag()
    data = store.load(tag)
    by_status: dict[str, int] = {}
    for t in data.tasks:
        by_status[t.status] = by_status.get(t.status, 0) + 1
    return TaskCounts(
        file=store.tasks_path,
        tag=tag,
        total=len(data.tasks),
        subtasks=sum(len(t.subtasks) for t in data.tasks),
        ready_ids=TaskGraph(data).ready_units(),
        by_status=by_status,
    )


def run_status(run_path: Path) -> RunStatus:
    """A run's summary.json, or the summary rebuilt from its event log when it has none (still running,
    crashed) or an unreadable one; tokens from usage.json when the summary has none."""
    from .run.folder import read_summary, summary_from_events, tokens_from_ledger

    source = "summary.json"
    try:
        s = read_summary(run_path)
    except TaskFileError as e:  # one bad run must not hide the others
        s, source = None, f"events ({e.problem})"
    if s is None:
        s, source = summary_from_events(run_path), ("events" if source == "summary.json" else source)
        if s.status == "running":
            _live(run_path, s)
    if not s.tokens_by_role and not s.tokens_by_model:
        s.tokens_by_role, s.tokens_by_model = tokens_from_ledger(run_path)
    return RunStatus(s, source)


def _live(run_path: Path, s: RunSummary) -> None:
    """A run with no end in its log: still going (its elapsed time runs on), or its process died."""
    import json

    from .process import alive
    from .run.folder import RUN_FILE

    try:
        meta = json.loads((run_path / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    pid = meta.get("pid") if isinstance(meta, dict) else None
    if isinstance(pid, int) and alive(pid):
        if s.started_at is not None:
            s.duration_s = max(0.0, time.time() - s.started_at)
    elif isinstance(meta, dict) and meta.get("status") == "running":
        s.status = "interrupted"


def usage_window_pct(run_path: Path) -> float | None:
    """The last Claude Code usage-window figure a run saw, if any."""
    from .events import RateLimited, Usage
    from .observers.eventlog import read_events

    pct = None
    for e in read_events(run_path):
        match e:
            case RateLimited(utilization=u) if u is not None:
                pct = 100.0 * u
            case Usage(usage_window_pct=p) if p is not None:
                pct = float(p)
    return pct


def project_status(root: Path, cfg: OrchestratorConfig | None = None, runs: int = 5) -> ProjectStatus:
    """Status of the project at `root` (its configuration is loaded when `cfg` is None), listing the
    newest `runs` runs."""
    from .config import load_config
    from .observers.snapshot import UsagePanel
    from .run.folder import list_runs
    from .run.gate import UsageGuard

    cfg = cfg if cfg is not None else load_config(start=root)
    all_runs = list_runs(root)
    items = [run_status(d) for d in all_runs[: max(0, runs)]]
    # spend in the rolling 5-hour window: every run started inside it (run ids begin with a UTC stamp)
    since = time.time() - WINDOW_S
    oldest = time.strftime("%Y%m%d-%H%M%S", time.gmtime(since - WINDOW_S))  # slack for long runs
    recent = items + [run_status(d) for d in all_runs[len(items) :] if d.name >= oldest]
    spent_5h = sum(r.summary.cost_usd for r in recent if (r.summary.started_at or 0) >= since)
    budget = cfg.budgets.run_usd
    last = items[0] if items else None
    window = usage_window_pct(all_runs[0]) if all_runs else None
    panel = UsagePanel(
        cost_usd=last.summary.cost_usd if last else 0.0, budget_usd=budget, usage_window_pct=window
    )
    return ProjectStatus(
        project=root,
        tasks=task_counts(root),
        runs=items,
        budget=BudgetStatus(
            run_usd=budget,
            task_usd=cfg.budgets.task_usd,
            warning_pct=cfg.monitoring.usage_warning_threshold,
            critical_pct=cfg.monitoring.usage_critical_threshold,
            last_run_cost_usd=panel.cost_usd if last else None,
            last_run_budget_pct=panel.budget_pct if last else None,
            usage_window_pct=window,
            spent_last_5h_usd=round(spent_5h, 6),
            level=UsageGuard(cfg).observe(panel) if last else "ok",
        ),
    )
