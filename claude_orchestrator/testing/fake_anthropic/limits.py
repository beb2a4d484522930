"""Fixed-window rate limits of the fake API: requests, input tokens and output tokens per window, per model.

Every response carries ``anthropic-ratelimit-*`` headers counting down; a request past a limit is answered
429 with ``retry-after`` (whole seconds to the window's end) and ``x-should-retry: true``. Input tokens count
uncached input plus cache writes (cache reads are free, as for current models); output tokens are charged
after the reply, so one window may overshoot its output limit by one reply, as the real API does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

UNLIMITED = {"requests": 4000, "input_tokens": 2_000_000, "output_tokens": 400_000}


@dataclass
class RateLimits:
    requests: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    window_s: float = 60.0


@dataclass
class _Window:
    index: int = -1
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


def rfc3339(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@dataclass
class Limiter:
    """Not thread-safe on its own (the server holds a lock)."""

    limits: RateLimits = field(default_factory=RateLimits)
    per_model: dict[str, RateLimits] = field(default_factory=dict)
    origin: float = field(default_factory=time.time)
    rejected: int = 0
    _windows: dict[str, _Window] = field(default_factory=dict)

    def _limits(self, model: str) -> RateLimits:
        return self.per_model.get(model, self.limits)

    def _window(self, model: str, now: float) -> tuple[_Window, float]:
        lim = self._limits(model)
        idx = int((now - self.origin) // lim.window_s)
        w = self._windows.setdefault(model, _Window())
        if w.index != idx:
            w.index, w.requests, w.input_tokens, w.output_tokens = idx, 0, 0, 0
        return w, self.origin + (idx + 1) * lim.window_s

    def admit(self, model: str, input_tokens: int, now: float | None = None) -> float | None:
        """Count the request and return None, or return the seconds until the window resets (a 429)."""
        now = time.time() if now is None else now
        lim = self._limits(model)
        w, end = self._window(model, now)
        over = (
            (lim.requests is not None and w.requests + 1 > lim.requests)
            or (lim.input_tokens is not None and w.input_tokens + input_tokens > lim.input_tokens)
            or (lim.output_tokens is not None and w.output_tokens >= lim.output_tokens)
        )
        if over:
            self.rejected += 1
            return max(end - now, 0.001)
        w.requests += 1
        w.input_tokens += input_tokens
        return None

    def charge_output(self, model: str, output_tokens: int) -> None:
        w, _ = self._window(model, time.time())
        w.output_tokens += output_tokens

    def headers(self, model: str, now: float | None = None) -> dict[str, str]:
        now = time.time() if now is None else now
        lim = self._limits(model)
        w, end = self._window(model, now)
        reset = rfc3339(end)
        out: dict[str, str] = {}
        rem: dict[str, int] = {}
        for kind, used in (
            ("requests", w.requests),
            ("input_tokens", w.input_tokens),
            ("output_tokens", w.output_tokens),
        ):
            limit = getattr(lim, kind) or UNLIMITED[kind]
            rem[kind] = max(0, limit - used)
            name = kind.replace("_", "-")
            out[f"anthropic-ratelimit-{name}-limit"] = str(limit)
            out[f"anthropic-ratelimit-{name}-remaining"] = str(rem[kind])
            out[f"anthropic-ratelimit-{name}-reset"] = reset
        tight = "input_tokens" if rem["input_tokens"] <= rem["output_tokens"] else "output_tokens"
        out["anthropic-ratelimit-tokens-limit"] = out[f"anthropic-ratelimit-{tight.replace('_', '-')}-limit"]
        out["anthropic-ratelimit-tokens-remaining"] = str(rem[tight])
        out["anthropic-ratelimit-tokens-reset"] = reset
        return out


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
