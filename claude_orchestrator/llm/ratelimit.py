"""Rate-limit admission shared by every thread: wait for capacity before a request is sent.

Capacity per model and per kind (requests, input tokens, output tokens) is estimated from the latest
``anthropic-ratelimit-*`` headers (limit, remaining, reset) and from configured per-minute limits. Each
admission reserves its share; a window past its reset refills to its limit; a 429 pauses the model until
its retry-after. The estimate is the lower of the server's remaining and our own count of admissions in the window. This module does not import ``anthropic``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..config import RateLimitConfig

KINDS = ("requests", "input_tokens", "output_tokens")
SLACK_S = 0.005  # start a little after a reset, so the server has rolled its window too
STRAGGLER_S = 0.5  # a request sent this close before a reset may land in the next window


@dataclass
class _Bucket:
    limit: int | None = None
    remaining: float = 0.0
    reset_at: float = 0.0  # wall-clock seconds
    window_s: float | None = None  # known for configured limits; headers give only the reset time
    refilled: bool = False  # past reset_at and refilled; waiting for the new window's headers

    def refresh(self, now: float, stragglers: int = 0) -> None:
        """Refill once past the reset. `stragglers`: requests sent just before the reset and still
        unanswered, which the server may have counted in the new window."""
        if self.limit is None or now < self.reset_at or self.refilled:
            return
        self.remaining = self.limit - stragglers
        if self.window_s:  # a local fixed window rolls on
            periods = int((now - self.reset_at) // self.window_s) + 1
            self.reset_at += periods * self.window_s
        else:
            self.refilled = True


@dataclass
class _ModelState:
    server: dict[str, _Bucket] = field(default_factory=lambda: {k: _Bucket() for k in KINDS})
    local: dict[str, _Bucket] = field(default_factory=dict)
    inflight: dict[int, float] = field(default_factory=dict)  # ticket -> admission time, until answered
    paused_until: float = 0.0


def parse_reset(value: str) -> float | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class RateLimiter:
    def __init__(
        self,
        config: RateLimitConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_wait_s: float = 600.0,
        window_s: float = 60.0,
    ) -> None:
        """`window_s`: the window of the configured limits (a minute; shorter in tests and benchmarks)."""
        self.config = config or RateLimitConfig()
        self.window_s = window_s
        self._clock = clock
        self.max_wait_s = max_wait_s
        self._models: dict[str, _ModelState] = {}
        self._cond = threading.Condition()
        self.admitted = 0  # also the last ticket number

    def _state(self, model: str) -> _ModelState:
        st = self._models.get(model)
        if st is None:
            st = self._models[model] = _ModelState()
            now = self._clock()
            per_min = {
                "requests": self.config.requests_per_minute,
                "input_tokens": self.config.input_tokens_per_minute,
                "output_tokens": self.config.output_tokens_per_minute,
            }
            for kind, limit in per_min.items():
                if limit:
                    st.local[kind] = _Bucket(
                        limit=limit, remaining=limit, reset_at=now + self.window_s, window_s=self.window_s
                    )
        return st

    def _need(self, kind: str, input_tokens: int) -> float:
        return {"requests": 1.0, "input_tokens": float(input_tokens), "output_tokens": 0.0}[kind]

    def _blocked_until(self, st: _ModelState, input_tokens: int, now: float) -> float | None:
        """None when admissible now, else the time to retry at."""
        if st.paused_until > now:
            return st.paused_until
        for buckets in (st.server, st.local):
            for kind, b in buckets.items():
                if buckets is st.server and kind == "requests" and not b.refilled and now >= b.reset_at:
                    late = sum(1 for t in st.inflight.values() if b.reset_at - STRAGGLER_S <= t < b.reset_at)
                    b.refresh(now, late)
                b.refresh(now)
                if b.limit is None:
                    continue
                need = min(self._need(kind, input_tokens), float(b.limit))
                short = b.remaining <= 0 if kind == "output_tokens" else b.remaining < need
                if short:
                    # refilled and spent before the new window's headers came: poll until they do
                    return now + 0.01 if b.refilled else b.reset_at + SLACK_S
        return None

    def acquire(self, model: str, input_tokens: int = 0) -> int:
        """Block until `model` has capacity; reserve it; return a ticket for `release`."""
        start = self._clock()
        with self._cond:
            st = self._state(model)
            while True:
                now = self._clock()
                until = self._blocked_until(st, input_tokens, now)
                if until is None or now - start >= self.max_wait_s:
                    break
                self._cond.wait(timeout=max(0.001, min(until - now, self.max_wait_s - (now - start))))
            for buckets in (st.server, st.local):
                for kind, b in buckets.items():
                    if b.limit is not None:
                        b.remaining -= self._need(kind, input_tokens)
            self.admitted += 1
            st.inflight[self.admitted] = self._clock()
            return self.admitted

    def release(
        self,
        model: str,
        headers: Mapping[str, str] | None = None,
        *,
        ticket: int = 0,
        input_tokens: int = 0,
        charged_input: int | None = None,
        output_tokens: int = 0,
    ) -> None:
        """After a response (or an error): learn from its headers and settle token estimates."""
        with self._cond:
            st = self._state(model)
            st.inflight.pop(ticket, None)
            now = self._clock()
            for buckets in (st.server, st.local):
                if charged_input is not None and "input_tokens" in buckets:
                    buckets["input_tokens"].remaining += input_tokens - charged_input
                if "output_tokens" in buckets:
                    buckets["output_tokens"].remaining -= output_tokens
            if headers:
                self._learn(st, headers, now)
            self._cond.notify_all()

    def _learn(self, st: _ModelState, headers: Mapping[str, str], now: float) -> None:
        """Take the lower of the server's remaining and our own count since the window began: ours
        knows our requests still in flight, the server's knows other clients of the same limit."""
        h = {k.lower(): v for k, v in headers.items()}
        for kind in KINDS:
            name = kind.replace("_", "-")
            try:
                limit = int(h[f"anthropic-ratelimit-{name}-limit"])
                remaining = float(h[f"anthropic-ratelimit-{name}-remaining"])
            except (KeyError, ValueError):
                continue
            reset = parse_reset(h.get(f"anthropic-ratelimit-{name}-reset", "")) or now
            b = st.server[kind]
            if b.limit is None or reset > b.reset_at + 0.5 * SLACK_S:  # a newer window
                # refilled at the old reset: our count is for this window already
                b.remaining = min(b.remaining, remaining) if b.refilled else remaining
                b.limit, b.reset_at, b.refilled = limit, reset, False
            elif not b.refilled and reset >= b.reset_at - 0.5 * SLACK_S:  # the same window
                b.limit, b.remaining = limit, min(b.remaining, remaining)

    def pause(self, model: str, seconds: float) -> None:
        """A 429 said retry-after: hold every request for `model` until then."""
        with self._cond:
            st = self._state(model)
            st.paused_until = max(st.paused_until, self._clock() + seconds)
            self._cond.notify_all()

    def snapshot(self) -> dict[str, dict[str, dict[str, float | None]]]:
        """Current estimates per model and kind (for the display and tests)."""
        with self._cond:
            return {
                m: {
                    k: {"limit": b.limit, "remaining": b.remaining, "reset_at": b.reset_at}
                    for k, b in st.server.items()
                }
                for m, st in self._models.items()
            }
