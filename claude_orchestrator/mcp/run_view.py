"""What run_status and run_log answer: a run's state folded from its event log (per task: state, worker,
attempt, phase, cost; the merge queue; usage against the budget) and its last events as readable lines."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

from ..events import (
    Event,
    RunFinished,
    TaskBlocked,
    TaskCommitted,
    TaskCompleted,
    TaskFailed,
    TaskMerged,
    TaskProgress,
    TaskReady,
    TaskRetry,
    TaskReviewed,
    TaskStarted,
)
from ..taskmaster.ids import id_key
from . import runs


class TaskFold:
    """Per-task rows from the events; a parent whose subtasks ran (a group) keeps its summary row."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.awaiting_merge: dict[str, str | None] = {}  # committed, not yet merged: the merge queue
        self.merged: list[str] = []

    def row(self, tid: str) -> dict[str, Any]:
        return self.rows.setdefault(tid, {"id": tid, "state": "waiting", "attempt": 0, "costUsd": 0.0})

    def fold(self, e: Event) -> None:
        tid = e.task_id
        if tid is None:
            return
        match e:
            case TaskReady():
                self.row(tid)["state"] = "ready"
            case TaskStarted():
                r = self.row(tid)
                r.update(
                    state="running",
                    worker=e.worker_id,
                    attempt=e.attempt,
                    backend=e.backend,
                    phase="starting",
                )
                if e.title:
                    r["title"] = e.title
            case TaskProgress():
                r = self.row(tid)
                r["phase"] = e.phase or r.get("phase")
                if e.turns is not None:
                    r["turns"] = e.turns
                if e.cost_usd is not None:
                    r["attemptCostUsd"] = e.cost_usd
            case TaskRetry():
                r = self.row(tid)
                r["costUsd"] += float(r.pop("attemptCostUsd", 0.0) or 0.0)
                r.update(state="ready", lastRetryReason=e.reason)
                self.awaiting_merge.pop(tid, None)
            case TaskCommitted():
                self.row(tid)["commit"] = e.commit
                self.awaiting_merge[tid] = e.commit
            case TaskReviewed():
                self.row(tid)["review"] = e.verdict
            case TaskMerged():
                self.awaiting_merge.pop(tid, None)
                self.merged.append(tid)
            case TaskCompleted():
                self._end(tid, "done", e.cost_usd)
                if e.commit:
                    self.row(tid)["commit"] = e.commit
            case TaskFailed():
                self._end(tid, "failed", e.cost_usd)
                self.row(tid)["reason"] = e.reason
            case TaskBlocked():
                self.row(tid).update(state="blocked", reason=e.reason)
            case _:
                pass

    def _end(self, tid: str, state: str, cost: float | None) -> None:
        r = self.row(tid)
        spent = float(r.pop("attemptCostUsd", 0.0) or 0.0)
        r["costUsd"] = float(cost) if cost is not None else r["costUsd"] + spent
        r["state"] = state
        r.pop("phase", None)
        self.awaiting_merge.pop(tid, None)


def _budget(root: Path, cost: float) -> dict[str, Any]:
    from ..config import load_config

    try:
        cfg = load_config(None, start=root)
    except Exception:  # a broken config must not hide the run's state
        return {"costUsd": round(cost, 6)}
    run_usd = cfg.budgets.run_usd
    return {
        "costUsd": round(cost, 6),
        "runUsd": run_usd,
        "taskUsd": cfg.budgets.task_usd,
        "usedPct": round(100 * cost / run_usd, 1) if run_usd else None,
        "warningPct": cfg.monitoring.usage_warning_threshold,
        "criticalPct": cfg.monitoring.usage_critical_threshold,
    }


def status(root: Path, path: Path) -> dict[str, Any]:
    from ..observers.eventlog import read_events
    from ..observers.snapshot import SnapshotBuilder

    meta = runs.run_meta(path)
    fold, snap = TaskFold(), SnapshotBuilder()
    for e in read_events(path):
        fold.fold(e)
        snap.fold(e)
    s = snap.snapshot()
    state = runs.status_of(path)
    for r in fold.rows.values():
        r["costUsd"] = round(r["costUsd"] + float(r.get("attemptCostUsd", 0.0) or 0.0), 6)
        r.pop("attemptCostUsd", None)
    c = s.tasks
    out: dict[str, Any] = {
        "runId": path.name,
        "status": state,
        "tag": meta.get("tag"),
        "pid": meta.get("pid"),
        "startedAt": meta.get("started_at"),
        "finishedAt": meta.get("finished_at"),
        "elapsedS": round(s.elapsed, 1),
        "counts": {
            k: getattr(c, k) for k in ("total", "done", "running", "ready", "waiting", "failed", "blocked")
        },
        "tasks": sorted(fold.rows.values(), key=lambda r: id_key(r["id"])),
        "mergeQueue": [{"id": t, "commit": c_} for t, c_ in fold.awaiting_merge.items()],
        "merged": fold.merged,
        "usage": {
            "tokensIn": s.usage.tokens_in,
            "tokensOut": s.usage.tokens_out,
            "usageWindowPct": s.usage.usage_window_pct,
            "etaS": None if s.eta_seconds is None else round(s.eta_seconds),
        },
        "budget": _budget(root, s.usage.cost_usd),
        "targetBranch": meta.get("target_branch"),
        "skills": meta.get("skills", []),
        "runPath": str(path),
    }
    if state == "interrupted":
        out["note"] = "the run's process ended without finishing; run_tasks resumes it"
    return out


def log(path: Path, lines: int, task_id: str | None, raw: bool) -> dict[str, Any]:
    from ..observers.eventlog import read_events
    from ..observers.text import describe_event

    last: deque[Event] = deque(maxlen=lines)
    finished = False
    for e in read_events(path):
        finished = finished or isinstance(e, RunFinished)
        if task_id is None or e.task_id == task_id:
            last.append(e)
    if raw:
        events: list[Any] = [e.to_dict() for e in last]
    else:
        events = [f"{time.strftime('%H:%M:%S', time.localtime(e.ts))} {describe_event(e)}" for e in last]
    return {"runId": path.name, "events": events, "finished": finished, "status": runs.status_of(path)}
