"""Retries. Two kinds, each decided in exactly one place:

- A worker attempt that fails (an error, an exception, a timeout) is the scheduler's to retry: it knows
  the attempt failed and owns the timers. `AttemptRetries` (max_retries, exponential backoff from
  `SchedulerConfig`) answers it.
- A worker that succeeded but whose work integration cannot take (no changes, review or verification
  failed, merge conflict) is integration's to send back: `RetryPolicy`, owned by the Integrator, counts
  each reason per unit and returns the `Decision` (retry with feedback, or fail). The scheduler obeys that
  decision and keeps no cap of its own.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from enum import Enum

from .state import Decision


class Reason(str, Enum):
    """Why integration sends a unit back."""

    NO_CHANGES = "no changes"
    VERIFY_FAILED = "verification failed"  # a `verify` command the orchestrator ran failed
    REVIEW_FAILED = "review failed"  # the reviewer rejected the work
    CONFLICT = "merge conflict"


DEFAULT_LIMITS: Mapping[Reason, int] = {
    Reason.NO_CHANGES: 1,
    Reason.VERIFY_FAILED: 1,
    Reason.REVIEW_FAILED: 1,
    Reason.CONFLICT: 1,
}


class RetryPolicy:
    """Integration's retries: each reason may send a unit back `limits[reason]` times; one more is a
    failure. Counts are per unit and per reason, so a unit can be sent back once for each reason."""

    def __init__(self, limits: Mapping[Reason, int] | None = None) -> None:
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self._counts: Counter[tuple[str, Reason]] = Counter()
        self._lock = threading.Lock()

    def decide(
        self, unit_id: str, reason: Reason, *, feedback: str | Callable[[], str], final: str
    ) -> Decision:
        """Count one more `reason` for the unit. Within the limit: retry, with `feedback` for the worker
        (a callable is only called then, e.g. to reset the unit's worktree). Past it: fail with `final`."""
        with self._lock:
            self._counts[(unit_id, reason)] += 1
            n = self._counts[(unit_id, reason)]
        if n > self.limits[reason]:
            return Decision("fail", reason=final)
        return Decision("retry", feedback=feedback() if callable(feedback) else feedback)

    def count(self, unit_id: str, reason: Reason) -> int:
        with self._lock:
            return self._counts[(unit_id, reason)]


class AttemptRetries:
    """The scheduler's retries of failed worker attempts: up to `max_retries` more attempts, waiting
    `backoff_s`, then twice that, and so on."""

    def __init__(self, max_retries: int, backoff_s: float) -> None:
        self.max_retries, self.backoff_s = max_retries, backoff_s
        self._failures: Counter[str] = Counter()

    def after_failure(self, unit_id: str) -> float | None:
        """Count a failed attempt: the delay before the next one, or None when the unit has failed."""
        self._failures[unit_id] += 1
        n = self._failures[unit_id]
        if n > self.max_retries:
            return None
        return float(self.backoff_s * (2 ** (n - 1)))
