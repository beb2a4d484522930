"""Run control from a session (names Task Master does not use): run_tasks, run_status, run_log, cancel_run."""

from __future__ import annotations

from typing import Any, Literal

from ..errors import InputError
from ..taskmaster.ids import parse_ids
from . import run_view, runs
from .spec import Call, Param, ToolSpec

Backend = Literal["claude-code", "api", "build"]


def run_tasks(c: Call) -> dict[str, Any]:
    ids = c.text("ids")
    if ids is not None:
        ids = ",".join(parse_ids(ids))
    if c.flag("withDeps") and not ids:
        raise InputError("withDeps needs `ids`")
    budget = c.args.get("budgetUsd")
    if budget is not None and float(budget) <= 0:
        raise InputError("budgetUsd must be more than 0")
    options = runs.RunOptions(
        ids=ids,
        with_deps=c.flag("withDeps"),
        tag=c.explicit_tag,
        workers=c.integer("workers", minimum=1),
        backend=c.text("backend"),
        budget_usd=None if budget is None else float(budget),
        no_review=c.flag("noReview"),
        branch=c.text("branch"),
        fresh=c.flag("fresh"),
    )
    out = runs.start(c.store.root, options)
    if out["status"] == "running":
        out["message"] = (
            f"Run {out['runId']} started. Follow it with run_status and run_log; stop it with cancel_run."
        )
    elif out["status"] == "nothing-to-do":
        out["message"] = "Nothing to do: every selected task is done (or none is ready to run)."
    else:
        out["message"] = "The run is still starting; run_status will find it."
    return out


def run_status(c: Call) -> dict[str, Any]:
    root = c.store.root
    return run_view.status(root, runs.find(root, c.text("runId")))


def run_log(c: Call) -> dict[str, Any]:
    root = c.store.root
    path = runs.find(root, c.text("runId"))
    lines = c.integer("lines", minimum=1) or 20
    out = run_view.log(path, min(lines, 500), c.text("taskId"), c.flag("raw"))
    pid = runs.run_meta(path).get("pid")
    if out["status"] == "interrupted" and isinstance(pid, int):
        out["processOutput"] = runs.log_tail(root, pid)
    return out


def cancel_run(c: Call) -> dict[str, Any]:
    wait = c.integer("waitSeconds") or 0
    return runs.cancel(c.store.root, c.text("runId"), float(min(wait, 600)))


_RUN_ID = Param("runId", str, None, "Run id or a unique prefix (default: the active run, else the newest).")

TOOLS = [
    ToolSpec(
        "run_tasks",
        "Start a claude-orchestrator run: parallel Claude agents execute the ready tasks, each in its own git "
        "worktree, reviewed and merged one at a time. Returns the run id at once; the run goes on in the "
        "background. One run per project.",
        run_tasks,
        (
            Param("ids", str, None, "Only these tasks, comma-separated (subtasks as P.S)."),
            Param("withDeps", bool, None, "With ids: also run their unfinished dependencies."),
            Param("workers", int, None, "Parallel workers (default: execution.max_workers)."),
            Param("backend", Backend, None, "Backend for every task (default: per task / config)."),
            Param("budgetUsd", float, None, "Stop starting new work at this cost."),
            Param("noReview", bool, None, "Skip the manager's review of each task."),
            Param("branch", str, None, "Merge into this new branch instead of the current one."),
            Param("fresh", bool, None, "Start anew even if the last run was interrupted (else it resumes)."),
        ),
        title="Run Tasks",
        destructive=True,
    ),
    ToolSpec(
        "run_status",
        "A run's state: each task's state, worker, attempt and cost, the merge queue, usage and budget.",
        run_status,
        (_RUN_ID,),
        title="Run Status",
        read_only=True,
    ),
    ToolSpec(
        "run_log",
        "The last events of a run, as readable lines (raw: the NDJSON records).",
        run_log,
        (
            _RUN_ID,
            Param("lines", int, None, "How many events (default 20)."),
            Param("taskId", str, None, "Only this task's events."),
            Param("raw", bool, None, "Event records instead of lines."),
        ),
        title="Run Log",
        read_only=True,
    ),
    ToolSpec(
        "cancel_run",
        "Stop a run as Ctrl-C does: no new tasks start, running ones get their grace period; call again to "
        "cancel them at once.",
        cancel_run,
        (_RUN_ID, Param("waitSeconds", int, None, "Wait up to this long for the run to end.")),
        title="Cancel Run",
        destructive=True,
    ),
]
