"""Staggered starts for workers that share a prompt prefix.

Workers started at the same instant each write the same prefix into the prompt cache, since none of them
finds it there yet. Here the first of them goes at once; the others wait until its first answer has come
(the prefix is cached: they read it) or `delay_s` has passed (then the next one goes first). Once a
prefix is warm, starts are not held until the cache would have expired.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

CACHE_TTL_S = 270.0  # the API keeps a 5-minute cache entry; a little less, to be safe


@dataclass
class _Prefix:
    warm_until: float = 0.0
    warming_since: float | None = None
    warmed: threading.Event = field(default_factory=threading.Event)


class StartStagger:
    def __init__(
        self, delay_s: float, *, ttl_s: float = CACHE_TTL_S, clock: Callable[[], float] = time.monotonic
    ):
        self.delay_s, self.ttl_s, self._clock = delay_s, ttl_s, clock
        self._prefixes: dict[str, _Prefix] = {}
        self._lock = threading.Lock()
        self.waited_s = 0.0  # total time starts were held (for figures)

    def wait(self, key: str, cancel: threading.Event | None = None) -> None:
        """Return when a worker with this prefix may start."""
        if self.delay_s <= 0:
            return
        t0 = self._clock()
        while cancel is None or not cancel.is_set():
            with self._lock:
                p = self._prefixes.setdefault(key, _Prefix())
                now = self._clock()
                if p.warm_until > now:
                    break
                if p.warming_since is None or now - p.warming_since >= self.delay_s:
                    p.warming_since, p.warmed = now, threading.Event()  # this one warms the cache
                    break
                event, left = p.warmed, self.delay_s - (now - p.warming_since)
            event.wait(min(left, 0.25))
        with self._lock:
            self.waited_s += self._clock() - t0

    def warmed(self, key: str) -> None:
        """A worker with this prefix got its first answer: the prefix is in the cache."""
        with self._lock:
            p = self._prefixes.setdefault(key, _Prefix())
            p.warm_until, p.warming_since = self._clock() + self.ttl_s, None
            p.warmed.set()
