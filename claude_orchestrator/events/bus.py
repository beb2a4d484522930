"""A small synchronous event bus. Producers publish typed events; observers never decide anything, and an
observer that raises is logged and dropped from that one delivery, never allowed to break the run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, cast

from .codec import codec_of
from .kinds import EVENT_TYPES, Event, RunEvent

log = logging.getLogger(__name__)

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

    def emit(self, kind: str, run_id: str = "", task_id: str | None = None, **data: Any) -> RunEvent:
        """Build the typed event of `kind` from keyword fields, publish and return it. An unknown kind or
        field raises at once (ValueError, TypeError). New code publishes typed events: `publish(TaskFailed(...))`."""
        cls = EVENT_TYPES.get(kind)
        if cls is None:
            raise ValueError(f"unknown event kind {kind!r}")
        unknown = [k for k in data if k not in codec_of(cls).names]
        if unknown:
            raise TypeError(f"{cls.__name__} has no field {', '.join(map(repr, unknown))}")
        e = cast(RunEvent, cls(run_id=run_id, task_id=task_id, **data))
        object.__setattr__(e, "_wire", tuple(data))  # written back with exactly these keys, in this order
        self.publish(e)
        return e
