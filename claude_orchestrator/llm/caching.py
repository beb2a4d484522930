"""Prompt-cache breakpoints: the stable prefix (tools, then system) and a moving breakpoint in the
conversation. At most 4 markers per request; the caller's own markers count toward the 4.

Breakpoints placed: the last tool, the last system block, the last block of the last message (written
for the next turn), and the last block of the previous user turn (the position the previous request
wrote, so a long tool loop always finds its prefix even when a turn adds more than 20 blocks).
"""

from __future__ import annotations

import copy
from typing import Any

MAX_BREAKPOINTS = 4
CACHEABLE = {"text", "image", "document", "tool_use", "tool_result", "search_result"}
EPHEMERAL: dict[str, str] = {"type": "ephemeral"}


def _count(obj: Any) -> int:
    if isinstance(obj, dict):
        return int("cache_control" in obj) + sum(_count(v) for k, v in obj.items() if k != "cache_control")
    if isinstance(obj, list):
        return sum(_count(v) for v in obj)
    return 0


def _mark_last(blocks: list[dict[str, Any]]) -> bool:
    for b in reversed(blocks):
        if isinstance(b, dict) and b.get("type", "text") in CACHEABLE:
            if "cache_control" not in b:
                b["cache_control"] = dict(EPHEMERAL)
            return True
    return False


def _blocks_of(msg: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(msg.get("content"), str):
        msg["content"] = [{"type": "text", "text": msg["content"]}]
    content = msg.get("content")
    return content if isinstance(content, list) else []


def apply_cache_breakpoints(
    system: str | list[dict[str, Any]] | None,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None,
) -> tuple[list[dict[str, Any]] | str | None, list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Copies of (system, messages, tools) with cache_control markers added; inputs are not modified."""
    tools_c = copy.deepcopy(tools) if tools else tools
    msgs_c = copy.deepcopy(messages)
    sys_c: list[dict[str, Any]] | str | None = copy.deepcopy(system)
    if isinstance(sys_c, str):
        sys_c = [{"type": "text", "text": sys_c}] if sys_c else None
    budget = MAX_BREAKPOINTS - _count(tools_c) - _count(sys_c) - _count(msgs_c)
    # stable prefix: tools + system cached together by one marker at its end
    if budget > 0 and sys_c:
        if _mark_last(sys_c):
            budget -= 1
    elif budget > 0 and tools_c:
        tools_c[-1].setdefault("cache_control", dict(EPHEMERAL))
        budget -= 1
    # moving breakpoint: the end of the conversation
    if budget > 0 and msgs_c and _mark_last(_blocks_of(msgs_c[-1])):
        budget -= 1
    # the previous user turn: where the last request wrote its cache entry
    if budget > 0 and len(msgs_c) >= 3:
        users = [i for i, m in enumerate(msgs_c[:-1]) if m.get("role") == "user"]
        if users and _mark_last(_blocks_of(msgs_c[users[-1]])):
            budget -= 1
    return sys_c, msgs_c, tools_c
