"""Admission stays global: rate limits belong to the account, not to a node.

One named actor per run holds the run's `RateLimiter` (llm/ratelimit.py: token buckets from the
configured limits and the ``anthropic-ratelimit-*`` headers, and the pause after a 429). Every api worker,
on every node, and the driver's own model client (the reviewer) admit their requests through it with a
`RemoteLimiter`, the same interface as a local limiter. Claude Code's usage window is handled on the
driver: a node reports the notices and the admission gate holds dispatch for every node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ray

from ...config import RateLimitConfig
from ...llm.ratelimit import RateLimiter

HEADER_PREFIXES = ("anthropic-ratelimit-", "retry-after")
MAX_CONCURRENCY = 256  # threads of the actor: each waiting request holds one


class Admission:
    """The run's rate limiter, behind an actor (a threaded one: `acquire` blocks until there is room)."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.limiter = RateLimiter(config)

    def acquire(self, model: str, input_tokens: int) -> int:
        return self.limiter.acquire(model, input_tokens)

    def release(self, model: str, headers: dict[str, str] | None, kw: dict[str, Any]) -> None:
        self.limiter.release(model, headers, **kw)

    def pause(self, model: str, seconds: float) -> None:
        self.limiter.pause(model, seconds)

    def snapshot(self) -> dict[str, Any]:
        return self.limiter.snapshot()


def start_admission(config: RateLimitConfig, name: str) -> Any:
    """The run's admission actor (owned by this driver: it ends with the run's connection)."""
    actor = ray.remote(Admission).options(
        name=name, num_cpus=0, max_concurrency=MAX_CONCURRENCY, max_restarts=0
    )
    return actor.remote(config)


class RemoteLimiter:
    """A RateLimiter's interface over the admission actor (what `LLM.limiter` calls)."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def acquire(self, model: str, input_tokens: int = 0) -> int:
        return int(ray.get(self.actor.acquire.remote(model, input_tokens)))

    def release(
        self, model: str, headers: Mapping[str, str] | None = None, *, ticket: int = 0, **kw: Any
    ) -> None:
        plain = (
            {k.lower(): str(v) for k, v in headers.items() if k.lower().startswith(HEADER_PREFIXES)}
            if headers
            else None
        )
        ray.get(self.actor.release.remote(model, plain, {"ticket": ticket, **kw}))

    def pause(self, model: str, seconds: float) -> None:
        ray.get(self.actor.pause.remote(model, seconds))

    def snapshot(self) -> dict[str, Any]:
        return dict(ray.get(self.actor.snapshot.remote()))
