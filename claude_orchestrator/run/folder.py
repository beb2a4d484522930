"""Run folders: <project>/.taskmaster/runs/<run_id>/ with

    events.ndjson                  every event, one JSON object a line (observers/eventlog.py)
    run.json                       the run's record: tag, status, pid, branches, start and finish times
    summary.json                   RunSummary, written when the run ends (both from run/outcome.py)
    usage.json                     the token/cost ledger (written by the LLM layer)
    tasks/<task_id>/result.json    one task's outcome
    tasks/<task_id>/transcript.jsonl

Run ids sort by start time (UTC stamp + random suffix), so the newest run is the greatest name.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import NotFoundError, TaskFileError
from ..files import write_json

RUNS_DIR = Path(".taskmaster") / "runs"
EVENTS_FILE = "events.ndjson"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
USAGE_FILE = "usage.json"


class TokenTotals(BaseModel):
    model_config = ConfigDict(extra="ignore")
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cost_usd: float = 0.0


class Failure(BaseModel):
    model_config = ConfigDict(extra="ignore")
    task_id: str
    reason: str = ""


class RunSummary(BaseModel):
    """summary.json. Tolerant on read (unknown keys ignored) so older or newer runs still list."""

    model_config = ConfigDict(extra="ignore")
    run_id: str
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    status: str = "unknown"  # completed | failed | stopped | interrupted | running
    cost_usd: float = 0.0
    tokens_by_role: dict[str, TokenTotals] = Field(default_factory=dict)
    tokens_by_model: dict[str, TokenTotals] = Field(default_factory=dict)
    tasks_done: int = 0
    tasks_failed: int = 0
    tasks_blocked: int = 0
    tasks_verified: int = 0  # their verify commands passed
    tasks_failed_verification: int = 0
    tasks_unchecked: int = 0  # no verify commands, or verification off
    failures: list[Failure] = Field(default_factory=list)
    integration: dict[str, float] = Field(default_factory=dict)  # units and seconds per integration stage


def new_run_id(now: float | None = None) -> str:
    """e.g. 20261121-233000-3fa9c1: UTC start time, then 6 random hex digits."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(3)}"


def runs_root(project_root: Path | str) -> Path:
    return Path(project_root) / RUNS_DIR


def run_dir(project_root: Path | str, run_id: str, *, create: bool = False) -> Path:
    if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", ".."):
        raise NotFoundError(f"invalid run id {run_id!r}")
    d = runs_root(project_root) / run_id
    if create:
        (d / "tasks").mkdir(parents=True, exist_ok=True)
    return d


def task_dir(run_path: Path, task_id: str, *, create: bool = False) -> Path:
    safe = str(task_id).replace("/", "_").replace("\\", "_")
    d = run_path / "tasks" / safe
    if create:
        d.mkdir(parents=True, exist_ok=True)
    return d


def list_runs(project_root: Path | str) -> list[Path]:
    """Run folders, newest first."""
    root = runs_root(project_root)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)


def latest_run(project_root: Path | str) -> Path | None:
    runs = list_runs(project_root)
    return runs[0] if runs else None


def find_run(project_root: Path | str, run_id: str | None) -> Path:
    """The named run (a unique prefix is enough), or the latest; NotFoundError otherwise."""
    if run_id is None:
        latest = latest_run(project_root)
        if latest is None:
            raise NotFoundError(f"no runs yet in {runs_root(project_root)}")
        return latest
    exact = run_dir(project_root, run_id)
    if exact.is_dir():
        return exact
    matches = [p for p in list_runs(project_root) if p.name.startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise NotFoundError(f"run id {run_id!r} is ambiguous: {', '.join(p.name for p in matches[:5])}")
    raise NotFoundError(f"no run {run_id!r} in {runs_root(project_root)}")


def write_json_atomic(path: Path, data: Any) -> None:
    """A run file, replaced atomically (not fsynced: the event log can rebuild what it holds)."""
    write_json(path, data, fsync=False)


def write_summary(run_path: Path, summary: RunSummary) -> Path:
    path = run_path / SUMMARY_FILE
    write_json_atomic(path, summary.model_dump(mode="json"))
    return path


def read_summary(run_path: Path) -> RunSummary | None:
    """summary.json of a run, or None when the run has not written one (still running, or crashed)."""
    path = run_path / SUMMARY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunSummary.model_validate(data)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as e:
        raise TaskFileError(path, f"unreadable run summary: {str(e).splitlines()[0]}") from None


def tokens_from_ledger(run_path: Path) -> tuple[dict[str, TokenTotals], dict[str, TokenTotals]]:
    """Tokens by role and by model from usage.json (the LLM ledger's `by_role_model` rows); empty if absent."""
    try:
        rows = json.loads((run_path / USAGE_FILE).read_text(encoding="utf-8")).get("by_role_model") or []
    except (OSError, ValueError, AttributeError):
        return {}, {}
    return tokens_from_rows(rows)


def tokens_from_rows(rows: list[Any]) -> tuple[dict[str, TokenTotals], dict[str, TokenTotals]]:
    """Tokens by role and by model from the ledger's `by_role_model` rows (`Ledger.to_dict()`)."""
    by_role: dict[str, TokenTotals] = {}
    by_model: dict[str, TokenTotals] = {}
    for r in rows:
        if not isinstance(r, dict):
            continue
        try:
            add = TokenTotals(
                input=int(r.get("input_tokens") or 0),
                output=int(r.get("output_tokens") or 0),
                cache_read=int(r.get("cache_read") or 0),
                cache_write=int(r.get("cache_write_5m") or 0) + int(r.get("cache_write_1h") or 0),
                cost_usd=float(r.get("cost_usd") or 0.0),
            )
        except (TypeError, ValueError):
            continue
        for table, key in ((by_role, str(r.get("role") or "?")), (by_model, str(r.get("model") or "?"))):
            t = table.setdefault(key, TokenTotals())
            for f in ("input", "output", "cache_read", "cache_write", "cost_usd"):
                setattr(t, f, getattr(t, f) + getattr(add, f))
    return by_role, by_model


def summary_from_events(run_path: Path) -> RunSummary:
    """Rebuild a run's summary from its event log, plus tokens and cost from usage.json when present.
    RUN_FINISHED's counts win over counted events; the run command writes the result with write_summary."""
    from ..events import (
        RunFinished,
        RunStarted,
        TaskBlocked,
        TaskCompleted,
        TaskFailed,
        TaskVerification,
        Usage,
    )
    from ..observers.eventlog import read_events

    s = RunSummary(run_id=run_path.name, status="running")
    last_ts: float | None = None
    usage_cost: float | None = None
    task_costs: dict[str, float] = {}
    checked: dict[str, str] = {}  # unit -> its last verification status
    for e in read_events(run_path):
        last_ts = e.ts
        match e:
            case RunStarted():
                s.started_at = e.ts
            case TaskCompleted():
                s.tasks_done += 1
                if e.subtasks is None and e.cost_usd is not None:  # not a group's summary of its members
                    task_costs[str(e.task_id)] = e.cost_usd
            case TaskFailed():
                s.tasks_failed += 1
                s.failures.append(Failure(task_id=str(e.task_id), reason=e.reason))
                if e.cost_usd is not None:
                    task_costs[str(e.task_id)] = e.cost_usd
            case TaskBlocked():
                s.tasks_blocked += 1
            case TaskVerification(candidate=None) if e.task_id is not None:
                checked[e.task_id] = e.status
            case Usage(cost_usd=cost) if cost is not None and not e.delta:
                usage_cost = cost
            case RunFinished():
                s.status, s.finished_at, s.duration_s = e.status or "finished", e.ts, e.duration_s
                s.tasks_done = s.tasks_done if e.done is None else e.done
                s.tasks_failed = s.tasks_failed if e.failed is None else e.failed
                s.tasks_blocked = s.tasks_blocked if e.blocked is None else e.blocked
                if e.cost_usd is not None:
                    usage_cost = e.cost_usd
    statuses = list(checked.values())
    s.tasks_verified, s.tasks_failed_verification = statuses.count("passed"), statuses.count("failed")
    s.tasks_unchecked = statuses.count("none") + statuses.count("skipped")
    if s.started_at is not None and s.duration_s is None and last_ts is not None:
        s.duration_s = (s.finished_at or last_ts) - s.started_at
    s.tokens_by_role, s.tokens_by_model = tokens_from_ledger(run_path)
    ledger_cost = sum(t.cost_usd for t in s.tokens_by_role.values()) if s.tokens_by_role else None
    s.cost_usd = next(c for c in (ledger_cost, usage_cost, sum(task_costs.values())) if c is not None)
    return s
