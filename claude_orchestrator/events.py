"""Events and a small synchronous bus. The scheduler publishes; observers (display, event log, Slack,
git, store) subscribe. Observers never decide anything; an observer that raises is logged and dropped
from that one delivery, never allowed to break the run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Event kinds (the `kind` field). Kept as plain strings so the NDJSON log stays readable.
RUN_STARTED = "run_started"
RUN_FINISHED = "run_finished"
TASK_READY = "task_ready"
TASK_STARTED = "task_started"
TASK_PROGRESS = "task_progress"
TASK_RETRY = "task_retry"
TASK_COMPLETED = "task_completed"
TASK_FAILED = "task_failed"
TASK_BLOCKED = "task_blocked"
TASK_REVIEWED = "task_reviewed"
TASK_MERGED = "task_merged"
TASK_COMMITTED = "task_committed"
USAGE = "usage"
RATE_LIMITED = "rate_limited"
WARNING = "warning"
LOG = "log"


@dataclass(frozen=True)
class Event:
    kind: str
    run_id: str = ""
    task_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Observer = Callable[[Event], None]


class EventBus:
    """Thread-safe publish/subscribe; delivery is synchronous and in subscription order."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []
        self._lock = threading.Lock()

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        with self._lock:
            self._observers.append(observer)

        def unsubscribe() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return unsubscribe

    def publish(self, event: Event) -> None:
        with self._lock:
            observers = list(self._observers)
        for obs in observers:
            try:
                obs(event)
            except Exception:  # an observer must never break the run
                log.exception("event observer %r failed on %s", obs, event.kind)

    def emit(self, kind: str, run_id: str = "", task_id: str | None = None, **data: Any) -> Event:
        ev = Event(kind=kind, run_id=run_id, task_id=task_id, data=data)
        self.publish(ev)
        return ev
