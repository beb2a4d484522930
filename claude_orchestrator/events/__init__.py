"""Run events: one frozen dataclass per kind, the `RunEvent` union, and a small synchronous bus.

The scheduler, the integrator and the engine publish; observers (snapshot, display, event log, Slack) subscribe
and `match` on the types. Observers never decide anything; an observer that raises is logged and dropped from
that one delivery, never allowed to break the run.

Every event has `run_id`, `task_id` (None for run-wide events) and `ts` (epoch seconds). On disk
(<run>/events.ndjson, observers/eventlog.py) an event is one JSON object a line:

    {"kind": "task_failed", "run_id": "...", "task_id": "3", "data": {"reason": "...", ...}, "ts": 1.7e9}

The `data` object holds the kind's own fields:

    run_started     total, ready, done_before, critical_path, workers, budget_usd?
                    critical_path: ordered task ids of the longest remaining chain (or just its length)
    task_ready      -                                    a waiting task whose dependencies are now done
    task_started    title, backend, worker_id, attempt
    task_progress   phase, turns, tokens_in, tokens_out, cost_usd, attempt, usage_window_pct?
                    totals of the current attempt; a missing number leaves the last one standing
    task_retry      attempt, reason, delay_s             the task goes back to `ready`
    task_committed  commit, branch
    task_verification  status, checks, passed, command?, exit_code?, timed_out?, output?, duration_s?,
                    candidate?   the unit's verify commands, run by the orchestrator in its worktree;
                    status passed | failed | none (no checks) | skipped (--no-verify)
    task_picked     candidates, winner, passing, reason, cost_usd?   best of N: the attempt chosen
    task_session    session_id, workdir, backend, attempt?, candidate?, resumed?
    task_skipped    status, reason      a person set the task's status in tasks.json during the run (deferred,
                                        cancelled, done: it leaves the run unrun), or it waits for such a task
                    a Claude Code worker's session, journaled as soon as known (resume after a crash)
    task_reviewed   verdict, issues, follow_ups
    task_merged     commit, branch, target
    task_completed  cost_usd, duration_s, commit, branch, turns, subtasks?, title?
    task_failed     reason, attempts, blocked_dependents, cost_usd?, branch?, commit?, title?
    task_blocked    reason, blocked_by
    usage           tokens_in, tokens_out, cache_read, cache_write, cost_usd, budget_usd,
                    ratelimit_headroom?, usage_window_pct?, delta?
                    run totals so far (they replace); with delta=true the numbers are added instead;
                    ratelimit_headroom: fraction 0..1 of the tightest API rate limit still free
    rate_limited    backend, status, utilization, usage_window_pct, resets_at, rate_limit_type
                    a Claude Code rate_limit_event; utilization 0..1
    warning         message, source?, level?, metric?, pct?, cost_usd?, interrupted?, units?, running?, hold?,
                    grace_s?
                    (run/gate.UsageGuard sends source="usage" with level, metric, pct, cost_usd; a stop request
                    sends running and grace_s, the seconds those units get before they are cancelled)
    log             message, level?, units?, hold?   units: follow-up unit ids added at run time (waiting)
    run_finished    status, done, failed, blocked, interrupted, error?, duration_s, cost_usd?

`?` marks a field written only when set (None is left out); the others are always written. Units vs groups:
a parent whose subtasks run ("3" of "3.1", "3.2") is a group; its task_completed (with `subtasks`),
task_failed and task_blocked summarise its members.

Reading is tolerant, so old and newer logs both read: missing fields take their defaults, loosely typed values
are converted, fields this version does not know are kept in `extra`, and a kind it does not know becomes an
`UnknownEvent`. An event read from a line (or published through `emit`) writes back the same bytes.
"""

from .bus import EventBus, Observer
from .kinds import (
    EVENT_TYPES,
    LOG,
    RATE_LIMITED,
    RUN_FINISHED,
    RUN_STARTED,
    TASK_BLOCKED,
    TASK_COMMITTED,
    TASK_COMPLETED,
    TASK_FAILED,
    TASK_MERGED,
    TASK_PICKED,
    TASK_PROGRESS,
    TASK_READY,
    TASK_RETRY,
    TASK_REVIEWED,
    TASK_SESSION,
    TASK_SKIPPED,
    TASK_STARTED,
    TASK_VERIFICATION,
    USAGE,
    WARNING,
    Event,
    Log,
    RateLimited,
    RunEvent,
    RunFinished,
    RunStarted,
    RunWarning,
    TaskBlocked,
    TaskCommitted,
    TaskCompleted,
    TaskFailed,
    TaskMerged,
    TaskPicked,
    TaskProgress,
    TaskReady,
    TaskRetry,
    TaskReviewed,
    TaskSession,
    TaskSkipped,
    TaskStarted,
    TaskVerification,
    UnknownEvent,
    Usage,
    from_dict,
)

__all__ = [
    "EVENT_TYPES",
    "LOG",
    "RATE_LIMITED",
    "RUN_FINISHED",
    "RUN_STARTED",
    "TASK_BLOCKED",
    "TASK_SKIPPED",
    "TASK_COMMITTED",
    "TASK_COMPLETED",
    "TASK_FAILED",
    "TASK_MERGED",
    "TASK_PROGRESS",
    "TASK_READY",
    "TASK_RETRY",
    "TASK_REVIEWED",
    "TASK_PICKED",
    "TASK_SESSION",
    "TASK_STARTED",
    "TASK_VERIFICATION",
    "USAGE",
    "WARNING",
    "Event",
    "EventBus",
    "Log",
    "Observer",
    "RateLimited",
    "RunEvent",
    "RunFinished",
    "RunStarted",
    "RunWarning",
    "TaskBlocked",
    "TaskSkipped",
    "TaskCommitted",
    "TaskCompleted",
    "TaskFailed",
    "TaskMerged",
    "TaskPicked",
    "TaskProgress",
    "TaskReady",
    "TaskRetry",
    "TaskReviewed",
    "TaskSession",
    "TaskStarted",
    "TaskVerification",
    "UnknownEvent",
    "Usage",
    "from_dict",
]
