"""Prices in USD per million tokens, and the cost formula Claude Code uses (reference §4–§5).

cost = in*P_in + out*P_out + w5m*P_w5 + w1h*P_w1h + read*P_read, all ×1.1 when inference_geo == "us".
Defaults are the current list prices; config ``pricing`` overrides or adds models. Sonnet 5.5's cache-read
price is $0.20 here (the docs' figure; the CLI's catalog says $0.10), the conservative choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import ModelPrice
from ..errors import ConfigError


def _p(i: float, o: float, w5: float, w1: float, r: float) -> ModelPrice:
    return ModelPrice(input=i, output=o, cache_write_5m=w5, cache_write_1h=w1, cache_read=r)


DEFAULT_PRICES: dict[str, ModelPrice] = {
    "claude-fable-5-2": _p(8, 40, 10, 16, 0.20),
    "claude-fable-5-1": _p(10, 50, 12.5, 20, 0.25),
    "claude-mythos-5": _p(10, 50, 12.5, 20, 0.25),
    "claude-opus-5-5": _p(4, 20, 5, 8, 0.20),
    "claude-sonnet-5-5": _p(2, 10, 2.5, 4, 0.20),
    "claude-haiku-5-5": _p(0.10, 0.50, 0.125, 0.20, 0.01),
    "claude-opus-5": _p(5, 25, 6.25, 10, 0.50),
    "claude-sonnet-5": _p(2, 10, 2.5, 4, 0.20),
    "claude-opus-4": _p(5, 25, 6.25, 10, 0.50),
    "claude-sonnet-4": _p(3, 15, 3.75, 6, 0.30),
    "claude-haiku-4-5": _p(1, 5, 1.25, 2, 0.10),
}
# Haiku 5.5 above 100K prompt tokens
HAIKU_55_LONG = _p(0.50, 2.50, 0.625, 1.00, 0.05)
LONG_PROMPT_TOKENS = 100_000
# Unknown ids of a known family are priced like its current model
FAMILY_DEFAULTS = {
    "fable": "claude-fable-5-2",
    "mythos": "claude-mythos-5",
    "opus": "claude-opus-5-5",
    "sonnet": "claude-sonnet-5-5",
    "haiku": "claude-haiku-5-5",
}


class Pricing:
    """Resolves a model id to its price: exact id, then the longest known prefix (dated ids such as
    ``claude-sonnet-5-5-20260929``), then the family; unknown models raise ConfigError."""

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        self.prices = {**DEFAULT_PRICES, **dict(overrides or {})}

    def price(self, model: str, prompt_tokens: int = 0) -> ModelPrice:
        name = model.lower()
        for prefix in ("anthropic.", "us.anthropic.", "eu.anthropic."):  # Bedrock ids
            name = name.removeprefix(prefix)
        name = name.split("@", 1)[0]  # Vertex ids: claude-opus-5-5@20260922
        if name in self.prices:
            found = self.prices[name]
        else:
            known = sorted((k for k in self.prices if name.startswith(k)), key=len, reverse=True)
            family = next((v for f, v in FAMILY_DEFAULTS.items() if f in name), None)
            if known:
                found = self.prices[known[0]]
            elif family:
                found = self.prices[family]
            else:
                raise ConfigError(
                    f"no price for model '{model}': add it under 'pricing' in orchestrator_config.json"
                )
        if found is self.prices.get("claude-haiku-5-5") and prompt_tokens > LONG_PROMPT_TOKENS:
            return HAIKU_55_LONG
        return found

    def cost_usd(self, model: str, usage: Any, *, inference_geo: str | None = None) -> float:
        u = _fields(usage)
        prompt = u["input_tokens"] + u["cache_write_5m"] + u["cache_write_1h"] + u["cache_read"]
        return cost_with_price(self.price(model, prompt), usage, inference_geo=inference_geo)


def _fields(usage: Any) -> dict[str, int]:
    """input/output/cache-write-5m/1h/read counts from our Usage, an SDK Usage, or an API usage dict."""
    get = usage.get if isinstance(usage, Mapping) else (lambda k, d=None: getattr(usage, k, d))
    if isinstance(usage, Mapping):
        ours = "cache_read_input_tokens" not in usage and "cache_creation_input_tokens" not in usage
    else:
        ours = hasattr(usage, "cache_write_5m")
    if ours:  # our Usage dataclass (or its dict)
        w5, w1 = int(get("cache_write_5m") or 0), int(get("cache_write_1h") or 0)
        read = int(get("cache_read") or 0)
    else:
        created = int(get("cache_creation_input_tokens") or 0)
        split = get("cache_creation")
        sget = split.get if isinstance(split, Mapping) else (lambda k, d=None: getattr(split, k, d))
        w1 = int(sget("ephemeral_1h_input_tokens") or 0) if split is not None else 0
        w5 = created - w1  # no split given: all writes are 5-minute writes
        read = int(get("cache_read_input_tokens") or 0)
    return {
        "input_tokens": int(get("input_tokens") or 0),
        "output_tokens": int(get("output_tokens") or 0),
        "cache_write_5m": w5,
        "cache_write_1h": w1,
        "cache_read": read,
    }


def cost_with_price(price: ModelPrice, usage: Any, *, inference_geo: str | None = None) -> float:
    u = _fields(usage)
    total = (
        u["input_tokens"] * price.input
        + u["output_tokens"] * price.output
        + u["cache_write_5m"] * price.cache_write_5m
        + u["cache_write_1h"] * price.cache_write_1h
        + u["cache_read"] * price.cache_read
    ) / 1_000_000
    return total * 1.1 if inference_geo == "us" else total


_DEFAULT = Pricing()


def cost_usd(
    model: str, usage: Any, *, price: ModelPrice | None = None, pricing: Pricing | None = None
) -> float:
    """Dollars for one response's usage (our Usage, the SDK's, or an API dict)."""
    if price is not None:
        return cost_with_price(price, usage)
    return (pricing or _DEFAULT).cost_usd(model, usage)
