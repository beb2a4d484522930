"""The LLM layer: the only package that imports ``anthropic``.

Public API: `LLM` (client.py), `Response`, `Ledger` / `Usage` / `UsageRecord` (usage.py), `Recorder`
(record.py), `RateLimiter` (ratelimit.py), `RetryPolicy` (retry.py), `cost_usd` / `Pricing` (pricing.py).
Names load lazily, so importing this package does not import the SDK until `LLM` is used.
"""

from __future__ import annotations

import gc
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import LLM, Response
    from .pricing import DEFAULT_PRICES, Pricing, cost_usd
    from .ratelimit import RateLimiter
    from .record import Recorder, request_key
    from .retry import RetryPolicy
    from .usage import Ledger, Usage, UsageRecord

_WHERE = {
    "LLM": "client",
    "Response": "client",
    "DEFAULT_PRICES": "pricing",
    "Pricing": "pricing",
    "cost_usd": "pricing",
    "RateLimiter": "ratelimit",
    "Recorder": "record",
    "request_key": "record",
    "RetryPolicy": "retry",
    "Ledger": "usage",
    "Usage": "usage",
    "UsageRecord": "usage",
}
__all__ = [
    "DEFAULT_PRICES",
    "LLM",
    "Ledger",
    "Pricing",
    "RateLimiter",
    "Recorder",
    "Response",
    "RetryPolicy",
    "Usage",
    "UsageRecord",
    "cost_usd",
    "request_key",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(_load(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _load(module: str) -> Any:
    """Import a submodule with the cyclic collector paused: the SDK (client.py) creates thousands of types
    that live as long as the program, and collecting over them while it does is a fifth of its import."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(f".{module}", __name__)
    finally:
        if was_on:
            gc.enable()
