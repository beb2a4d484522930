"""Deterministic token counts and a prompt-cache simulation for the fake API.

Tokens are approximated as ceil(characters / 4) of each block's text (tool definitions and tool inputs
as compact JSON). The prompt is a sequence of blocks in prefix order tools → system → messages (Claude
Code's billing-header block is not prompt); a ``cache_control`` marker on a block is a breakpoint. A request
reads the longest cached prefix found at a breakpoint or up to 20 blocks before one, writes the prefix up to
its last breakpoint (available to others once its answer starts), and pays ``input_tokens`` for what follows.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOOKBACK_BLOCKS = 20
MAX_BREAKPOINTS = 4
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def approx_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _strip(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in block.items() if k != "cache_control"}


def block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "thinking":
        return str(block.get("thinking", ""))
    if kind == "tool_use":
        return str(block.get("name", "")) + json.dumps(block.get("input", {}), separators=(",", ":"))
    if kind == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            return "".join(block_text(b) for b in content)
        return str(content)
    if kind in ("image", "document"):
        return "x" * 4000  # a flat 1,000 tokens
    if "input_schema" in block:  # a tool definition
        return json.dumps(_strip(block), separators=(",", ":"), sort_keys=True)
    return json.dumps(_strip(block), separators=(",", ":"), sort_keys=True)


BILLING_HEADER = "x-anthropic-billing-header:"


def _is_billing_header(block: dict[str, Any]) -> bool:
    """Claude Code's first system block: attribution the API reads as a header, not as prompt. It changes
    with every request (a hash of the content), so counted as prompt it would defeat every cache."""
    return block.get("type") == "text" and str(block.get("text", "")).startswith(BILLING_HEADER)


def prompt_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's blocks in cache-prefix order: tools, system, then message content."""
    blocks: list[dict[str, Any]] = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    system = body.get("system")
    if isinstance(system, str) and system:
        blocks.append({"type": "text", "text": system})
    elif isinstance(system, list):
        blocks += [b for b in system if isinstance(b, dict) and not _is_billing_header(b)]
    for msg in body.get("messages") or []:
        content = msg.get("content")
        role = str(msg.get("role", ""))
        if isinstance(content, str):
            blocks.append({"type": "text", "text": content, "_role": role})
        elif isinstance(content, list):
            blocks += [dict(b, _role=role) for b in content if isinstance(b, dict)]
    top = body.get("cache_control")
    if isinstance(top, dict) and blocks and "cache_control" not in blocks[-1]:
        blocks[-1] = dict(blocks[-1], cache_control=top)  # automatic caching: the last block
    return blocks


def count_input_tokens(body: dict[str, Any]) -> int:
    return sum(approx_tokens(block_text(b)) for b in prompt_blocks(body))


def output_tokens(content: list[dict[str, Any]]) -> int:
    return max(1, sum(approx_tokens(block_text(b)) for b in content)) if content else 0


@dataclass
class CachePlan:
    total: int
    read: int
    write_5m: int
    write_1h: int
    entries: list[tuple[str, str]]  # (prefix hash, ttl) to store on commit
    hit: str | None

    @property
    def written(self) -> int:
        return self.write_5m + self.write_1h

    @property
    def input_tokens(self) -> int:
        return self.total - self.read - self.written


class PromptCache:
    """Per-model prompt cache; not thread-safe on its own (the server holds a lock)."""

    def __init__(self, min_tokens: dict[str, int] | int = 1024, clock: Callable[[], float] = time.monotonic):
        self._min = min_tokens
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, str]] = {}  # -> (expiry, ttl)

    def min_tokens(self, model: str) -> int:
        if isinstance(self._min, int):
            return self._min
        return self._min.get(model, self._min.get("*", 1024))

    def plan(self, body: dict[str, Any]) -> CachePlan:
        model = str(body.get("model", ""))
        blocks = prompt_blocks(body)
        cum, hashes, h = [], [], hashlib.sha256(model.encode())
        total = 0
        for b in blocks:
            total += approx_tokens(block_text(b))
            cum.append(total)
            h.update(json.dumps(_strip(b), sort_keys=True).encode())
            hashes.append(h.copy().hexdigest())
        bps = [i for i, b in enumerate(blocks) if isinstance(b.get("cache_control"), dict)]
        minimum = self.min_tokens(model)
        now = self._clock()
        read_end, hit = -1, None
        for bp in bps:
            for i in range(bp, max(-1, bp - LOOKBACK_BLOCKS - 1), -1):
                entry = self._entries.get((model, hashes[i]))
                if entry and entry[0] > now and i > read_end:
                    read_end, hit = i, hashes[i]
                    break
        read = cum[read_end] if read_end >= 0 else 0
        w5 = w1 = 0
        entries: list[tuple[str, str]] = []
        prev = read_end
        for bp in bps:
            if bp <= read_end or cum[bp] < minimum:
                continue
            ttl = "1h" if blocks[bp]["cache_control"].get("ttl") == "1h" else "5m"
            seg = cum[bp] - (cum[prev] if prev >= 0 else 0)
            if ttl == "1h":
                w1 += seg
            else:
                w5 += seg
            entries.append((hashes[bp], ttl))
            prev = bp
        return CachePlan(total=total, read=read, write_5m=w5, write_1h=w1, entries=entries, hit=hit)

    def commit(self, model: str, plan: CachePlan) -> None:
        now = self._clock()
        if plan.hit:
            _, ttl = self._entries[(model, plan.hit)]
            self._entries[(model, plan.hit)] = (now + TTL_SECONDS[ttl], ttl)
        for digest, ttl in plan.entries:
            self._entries[(model, digest)] = (now + TTL_SECONDS[ttl], ttl)

    def clear(self) -> None:
        self._entries.clear()


def breakpoint_count(body: dict[str, Any]) -> int:
    blocks = prompt_blocks(body)
    return sum(1 for b in blocks if isinstance(b.get("cache_control"), dict))


def usage_dict(plan: CachePlan, out_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": plan.input_tokens,
        "output_tokens": out_tokens,
        "cache_creation_input_tokens": plan.written,
        "cache_read_input_tokens": plan.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": plan.write_5m,
            "ephemeral_1h_input_tokens": plan.write_1h,
        },
        "service_tier": "standard",
    }
