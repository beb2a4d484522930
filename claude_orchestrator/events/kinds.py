"""The event kinds: one frozen dataclass each, with a literal `kind` tag, and the unions `RunEvent` (what
producers publish) and `Event` (what a reader may yield: a RunEvent or an UnknownEvent). The NDJSON form and
the meaning of each field are described in the package docstring (events/__init__.py)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal, TypeAlias, cast, get_args

from .codec import KEEP_NULL as _KEEP_NULL
from .codec import codec_of

# Event kinds (the `kind` tag), kept as plain strings so the NDJSON log stays readable.
RUN_STARTED: Final = "run_started"
RUN_FINISHED: Final = "run_finished"
TASK_READY: Final = "task_ready"
TASK_STARTED: Final = "task_started"
TASK_PROGRESS: Final = "task_progress"
TASK_RETRY: Final = "task_retry"
TASK_COMPLETED: Final = "task_completed"
TASK_FAILED: Final = "task_failed"
TASK_BLOCKED: Final = "task_blocked"
TASK_SKIPPED: Final = "task_skipped"
TASK_REVIEWED: Final = "task_reviewed"
TASK_MERGED: Final = "task_merged"
TASK_COMMITTED: Final = "task_committed"
TASK_VERIFICATION: Final = "task_verification"
TASK_PICKED: Final = "task_picked"
TASK_SESSION: Final = "task_session"
USAGE: Final = "usage"
RATE_LIMITED: Final = "rate_limited"
WARNING: Final = "warning"
LOG: Final = "log"


@dataclass(frozen=True, kw_only=True)
class _Event:
    """The fields every typed event carries, and its NDJSON form."""

    kind: ClassVar[str]
    run_id: str = ""
    task_id: str | None = None
    ts: float = field(default_factory=time.time)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)  # data fields this version lacks
    # the data keys as they arrived (a log line, emit's keywords): writing again reproduces them exactly
    _wire: tuple[str, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in codec_of(type(self)).sequences:  # lists become tuples (frozen), a lone id a 1-tuple
            v = getattr(self, name)
            if isinstance(v, (list, str)):
                object.__setattr__(self, name, (v,) if isinstance(v, str) else tuple(v))

    @property
    def data(self) -> dict[str, Any]:
        """The `data` object of the NDJSON line (for generic display; code reads the typed fields)."""
        codec = codec_of(type(self))
        if self._wire is None:
            keys = [n for n in codec.names if getattr(self, n) is not None or n in codec.keep_null]
            keys += [k for k in self.extra if k not in codec.names]
        else:
            keys = list(self._wire)
        out: dict[str, Any] = {}
        for k in keys:
            if k in codec.names:
                v = getattr(self, k)
                out[k] = list(v) if isinstance(v, tuple) else v
            elif k in self.extra:
                out[k] = self.extra[k]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "data": self.data,
            "ts": self.ts,
        }


@dataclass(frozen=True, kw_only=True)
class RunStarted(_Event):
    """The scheduler starts: how many units, how many can start now, the longest remaining chain."""

    kind: ClassVar[Literal["run_started"]] = RUN_STARTED
    total: int = 0
    ready: int = 0
    done_before: int = 0
    critical_path: Sequence[str] | int = ()
    workers: int = 0
    budget_usd: float | None = None


@dataclass(frozen=True, kw_only=True)
class RunFinished(_Event):
    """The run is over; counts of units by outcome (absent when the run stopped on an error)."""

    kind: ClassVar[Literal["run_finished"]] = RUN_FINISHED
    status: str = "finished"  # completed | failed | stopped | error
    done: int | None = None
    failed: int | None = None
    blocked: int | None = None
    interrupted: Sequence[str] | None = None
    error: str | None = None
    duration_s: float | None = None
    cost_usd: float | None = None


@dataclass(frozen=True, kw_only=True)
class TaskReady(_Event):
    """A waiting unit whose dependencies are now done."""

    kind: ClassVar[Literal["task_ready"]] = TASK_READY


@dataclass(frozen=True, kw_only=True)
class TaskStarted(_Event):
    """An attempt of a unit went to a worker."""

    kind: ClassVar[Literal["task_started"]] = TASK_STARTED
    title: str = ""
    backend: str = ""
    worker_id: str = ""
    attempt: int = 1


@dataclass(frozen=True, kw_only=True)
class TaskProgress(_Event):
    """A worker's totals for the current attempt; a missing number leaves the last one standing."""

    kind: ClassVar[Literal["task_progress"]] = TASK_PROGRESS
    phase: str = ""
    turns: int | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    attempt: int | None = None
    usage_window_pct: float | None = None
    node: str | None = None  # the cluster node the attempt runs on (Ray executor)


@dataclass(frozen=True, kw_only=True)
class TaskRetry(_Event):
    """An attempt failed or was rejected; the unit goes back to ready after `delay_s`."""

    kind: ClassVar[Literal["task_retry"]] = TASK_RETRY
    attempt: int = 0  # the attempt about to start
    reason: str = ""
    delay_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class TaskCommitted(_Event):
    """The integrator committed a unit's changes on its branch."""

    kind: ClassVar[Literal["task_committed"]] = TASK_COMMITTED
    commit: str | None = field(default=None, metadata=_KEEP_NULL)
    branch: str | None = field(default=None, metadata=_KEEP_NULL)


@dataclass(frozen=True, kw_only=True)
class TaskVerification(_Event):
    """The orchestrator ran a unit's `verify` commands in its worktree (before the review)."""

    kind: ClassVar[Literal["task_verification"]] = TASK_VERIFICATION
    status: str = ""  # passed | failed | none (no checks) | skipped (run --no-verify)
    checks: int = 0  # commands run (a failure stops the rest)
    passed: int = 0
    command: str | None = None  # the first failing command
    exit_code: int | None = None  # its exit status (124: killed at its timeout)
    timed_out: bool | None = None
    output: str | None = None  # the end of its output
    duration_s: float | None = None
    candidate: int | None = None  # best of N: which attempt was checked


@dataclass(frozen=True, kw_only=True)
class TaskPicked(_Event):
    """Best of N: the manager (or the rule without one) chose one attempt's work; the others are dropped."""

    kind: ClassVar[Literal["task_picked"]] = TASK_PICKED
    candidates: int = 0  # attempts that ran
    winner: int = 0  # the chosen attempt (1..candidates)
    passing: Sequence[str] = ()  # attempts that were eligible (succeeded, changed files, passed checks)
    reason: str = ""
    cost_usd: float | None = None  # of all attempts


@dataclass(frozen=True, kw_only=True)
class TaskSession(_Event):
    """A Claude Code worker's session and working directory, journaled as soon as they are known so a
    crashed run can resume the conversation where it stopped."""

    kind: ClassVar[Literal["task_session"]] = TASK_SESSION
    session_id: str = ""
    workdir: str = ""
    backend: str = ""
    attempt: int | None = None
    candidate: int | None = None
    resumed: bool | None = None  # True when this attempt continues an earlier session


@dataclass(frozen=True, kw_only=True)
class TaskSkipped(_Event):
    """A unit leaves the run unrun: a person set its status in tasks.json (deferred, cancelled, done)
    during the run, or it waits for such a unit. `status`: the status found ("" for one that waits)."""

    kind: ClassVar[Literal["task_skipped"]] = TASK_SKIPPED
    status: str = ""
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class TaskReviewed(_Event):
    """The manager's review of a unit's changes."""

    kind: ClassVar[Literal["task_reviewed"]] = TASK_REVIEWED
    verdict: str = ""  # pass | fail
    issues: Sequence[str] = ()
    follow_ups: Sequence[str] = ()  # titles of the follow-up tasks the reviewer asked for


@dataclass(frozen=True, kw_only=True)
class TaskMerged(_Event):
    """A unit's branch was merged into the target branch."""

    kind: ClassVar[Literal["task_merged"]] = TASK_MERGED
    commit: str | None = field(default=None, metadata=_KEEP_NULL)
    branch: str | None = field(default=None, metadata=_KEEP_NULL)
    target: str | None = field(default=None, metadata=_KEEP_NULL)


@dataclass(frozen=True, kw_only=True)
class TaskCompleted(_Event):
    """A unit is done (or, with `subtasks`, a group's summary of its members)."""

    kind: ClassVar[Literal["task_completed"]] = TASK_COMPLETED
    cost_usd: float | None = None
    duration_s: float | None = None
    commit: str | None = field(default=None, metadata=_KEEP_NULL)
    branch: str | None = field(default=None, metadata=_KEEP_NULL)
    turns: int | None = None
    subtasks: Sequence[str] | None = None  # set on a group's summary of its members
    title: str | None = None


@dataclass(frozen=True, kw_only=True)
class TaskFailed(_Event):
    """A unit failed for good; `blocked_dependents` will not run."""

    kind: ClassVar[Literal["task_failed"]] = TASK_FAILED
    reason: str = ""
    attempts: int = 0
    blocked_dependents: Sequence[str] = ()
    cost_usd: float | None = None
    branch: str | None = None
    commit: str | None = None
    title: str | None = None


@dataclass(frozen=True, kw_only=True)
class TaskBlocked(_Event):
    """A unit cannot run: a dependency failed, is blocked or is missing."""

    kind: ClassVar[Literal["task_blocked"]] = TASK_BLOCKED
    reason: str = ""
    blocked_by: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class Usage(_Event):
    """Run totals of tokens and cost so far (replacing the last; with delta=True, added to it)."""

    kind: ClassVar[Literal["usage"]] = USAGE
    tokens_in: int | None = None
    tokens_out: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    cost_usd: float | None = None
    budget_usd: float | None = field(default=None, metadata=_KEEP_NULL)
    ratelimit_headroom: float | None = None
    usage_window_pct: float | None = None
    delta: bool | None = None


@dataclass(frozen=True, kw_only=True)
class RateLimited(_Event):
    """A Claude Code rate-limit notice (usage-window state; utilization 0..1)."""

    kind: ClassVar[Literal["rate_limited"]] = RATE_LIMITED
    backend: str = ""
    status: str = ""  # allowed | allowed_warning | rejected
    utilization: float | None = field(default=None, metadata=_KEEP_NULL)
    usage_window_pct: float | None = field(default=None, metadata=_KEEP_NULL)
    resets_at: float | None = field(default=None, metadata=_KEEP_NULL)
    rate_limit_type: str | None = field(default=None, metadata=_KEEP_NULL)


@dataclass(frozen=True, kw_only=True)
class RunWarning(_Event):
    """Something needs attention (usage thresholds, dispatch holds, stops, skipped files)."""

    kind: ClassVar[Literal["warning"]] = WARNING
    message: str = ""
    source: str | None = None
    level: str | None = None
    metric: str | None = None
    pct: float | None = None
    cost_usd: float | None = None
    interrupted: bool | None = None
    units: Sequence[str] | None = None
    running: Sequence[str] | None = None
    hold: str | None = None
    grace_s: float | None = None  # a stop request: seconds the running units get before they are cancelled


@dataclass(frozen=True, kw_only=True)
class Log(_Event):
    """An informational line; `units` lists follow-up units added at run time."""

    kind: ClassVar[Literal["log"]] = LOG
    message: str = ""
    level: str | None = None
    units: Sequence[str] | None = None
    hold: str | None = None


@dataclass(frozen=True, kw_only=True)
class UnknownEvent:
    """An event of a kind this version does not know (written by a newer one): kept whole, shown generically."""

    kind: str
    run_id: str = ""
    task_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "data": dict(self.data),
            "ts": self.ts,
        }


RunEvent: TypeAlias = (
    RunStarted
    | RunFinished
    | TaskReady
    | TaskStarted
    | TaskProgress
    | TaskRetry
    | TaskCommitted
    | TaskVerification
    | TaskPicked
    | TaskSession
    | TaskReviewed
    | TaskMerged
    | TaskCompleted
    | TaskFailed
    | TaskBlocked
    | TaskSkipped
    | Usage
    | RateLimited
    | RunWarning
    | Log
)
Event: TypeAlias = RunEvent | UnknownEvent  # what a reader may yield and an observer may receive
EVENT_TYPES: Final[dict[str, type[_Event]]] = {c.kind: c for c in get_args(RunEvent)}


def from_dict(d: Mapping[str, Any]) -> Event:
    """An event from its NDJSON object; never raises on odd content (see the package docstring)."""
    kind = str(d.get("kind", ""))
    data = d.get("data")
    data = data if isinstance(data, dict) else {}
    tid = d.get("task_id")
    try:
        ts = float(d.get("ts") or 0.0)
    except (TypeError, ValueError):
        ts = 0.0
    run_id, task_id = str(d.get("run_id") or ""), None if tid is None else str(tid)
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        return UnknownEvent(kind=kind, run_id=run_id, task_id=task_id, data=dict(data), ts=ts)
    codec = codec_of(cls)
    known = {k: codec.read[k](v) for k, v in data.items() if k in codec.read}
    extra = {k: v for k, v in data.items() if k not in codec.read}
    e = cls(run_id=run_id, task_id=task_id, ts=ts, extra=extra, **known)
    object.__setattr__(e, "_wire", tuple(data))
    return cast(Event, e)
