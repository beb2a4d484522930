"""One readable line per event: used by the live display's event list, the plain printer (CI, pipes; here),
`tail-events` and Slack. No Rich here so CLI paths (and a run with --no-progress) stay light."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from ..events import (
    Event,
    Log,
    RateLimited,
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
    TaskRetry,
    TaskReviewed,
    TaskSession,
    TaskSkipped,
    TaskStarted,
    TaskVerification,
    Usage,
)


def _num(v: Any, default: float = 0.0) -> float:
    """A float from a loosely typed value (None, strings, garbage give `default`)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def _int(v: Any) -> int:
    return int(_num(v))


def _short(sha: str | None) -> str:
    return (sha or "")[:12]


def describe_event(e: Event) -> str:
    """One readable line for an event (used by the display, plain printer and tail-events)."""
    tid = f"task {e.task_id}" if e.task_id is not None else ""
    match e:
        case RunStarted():
            return f"run {e.run_id} started: {e.total} tasks, {e.ready} ready"
        case RunFinished():
            cost = f", ${e.cost_usd:.2f}" if e.cost_usd is not None else ""
            return (
                f"run {e.run_id} {e.status}: {_int(e.done)} done, "
                f"{_int(e.failed)} failed{cost}, {_num(e.duration_s):.0f}s"
            )
        case TaskCommitted():
            return f"{tid} committed {_short(e.commit)} on {e.branch or '?'}"
        case TaskReviewed():
            why = f": {'; '.join(e.issues)}" if e.issues else ""
            more = f" (+{len(e.follow_ups)} follow-up)" if e.follow_ups else ""
            return f"{tid} review {(e.verdict or '?').upper()}{why}{more}"
        case TaskVerification():
            who = f" (attempt {e.candidate})" if e.candidate else ""
            if e.status == "failed":
                why = "timed out" if e.timed_out else f"exit {e.exit_code}"
                return f"{tid}{who} checks FAILED ({e.passed}/{e.checks} passed): {e.command or '?'}: {why}"
            if e.status == "passed":
                return f"{tid}{who} checks passed ({e.checks}, {_num(e.duration_s):.0f}s)"
            return f"{tid}{who} " + ("has no checks" if e.status == "none" else "checks skipped")
        case TaskPicked():
            return f"{tid} best of {e.candidates}: attempt {e.winner} picked ({e.reason})"
        case TaskSession():
            how = "resumed" if e.resumed else "started"
            return f"{tid} {e.backend or 'worker'} session {how}: {e.session_id} in {e.workdir}"
        case TaskMerged():
            return f"{tid} merged into {e.target or '?'} @ {_short(e.commit)}"
        case TaskStarted():
            extra = f" (attempt {e.attempt})" if e.attempt > 1 else ""
            return f"{tid} started on {e.backend or '?'}{extra}: {e.title}".rstrip(": ")
        case TaskProgress():
            where = f" on {e.node}" if e.node else ""
            return f"{tid} {e.phase or 'working'}{where} (turn {_int(e.turns)}, ${_num(e.cost_usd):.2f})"
        case TaskRetry():
            return f"{tid} retry {e.attempt} in {e.delay_s:.0f}s: {e.reason}"
        case TaskCompleted():
            where = f" @ {(e.commit or e.branch or '')[:12]}" if e.commit or e.branch else ""
            return f"{tid} done in {_num(e.duration_s):.0f}s, ${_num(e.cost_usd):.2f}{where}"
        case TaskFailed():
            tail = f"; blocks {', '.join(e.blocked_dependents)}" if e.blocked_dependents else ""
            return f"{tid} FAILED after {e.attempts or 1} attempt(s): {e.reason or '?'}{tail}"
        case TaskSkipped():
            return f"{tid} left out of the run: {e.reason}"
        case TaskBlocked():
            return f"{tid} blocked by {', '.join(e.blocked_by)}: {e.reason}".rstrip(": ")
        case Usage():
            return f"usage: ${_num(e.cost_usd):.2f}, {_int(e.tokens_in)} in / {_int(e.tokens_out)} out"
        case RateLimited():
            pct = f" {100 * e.utilization:.0f}%" if e.utilization is not None else ""
            return f"rate limit {e.status}{pct} ({e.rate_limit_type or e.backend or '?'})"
        case RunWarning() | Log():
            prefix = "WARNING: " if isinstance(e, RunWarning) else ""
            return f"{prefix}{tid + ': ' if tid else ''}{e.message}"
    rest = ", ".join(f"{a}={b}" for a, b in e.data.items())  # task_ready, and kinds from newer versions
    return f"{e.kind} {tid} {rest}".strip()


class PlainEventPrinter:
    """Observer that prints one timestamped line per event (CI, pipes). TASK_PROGRESS and USAGE are
    skipped unless verbose: they arrive many times a second."""

    QUIET = (TaskProgress, Usage)

    def __init__(self, stream: IO[str] | None = None, *, verbose: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.verbose = verbose
        self.closed = False  # set when the reader went away (a closed pipe): stop writing

    def __call__(self, event: Event) -> None:
        if self.closed or (not self.verbose and isinstance(event, self.QUIET)):
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
        try:
            self.stream.write(f"{stamp} {describe_event(event)}\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # `| head`, or a closed stream
            self.closed = True
