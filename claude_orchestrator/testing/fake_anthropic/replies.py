"""Scripted replies of the fake Anthropic API and their wire forms (JSON message, SSE frames).

A `Reply` is either a message (content blocks + stop reason) or a fault: an HTTP error status, a
mid-stream ``event: error``, a reset connection, or a slow first byte (``delay``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

_ids = itertools.count(1)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def new_id(prefix: str) -> str:
    return f"{prefix}_fake{next(_ids):08d}"


@dataclass
class Reply:
    """One answer of the fake. ``content`` holds API content blocks as dicts."""

    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None  # default: "tool_use" when a tool_use block is present, else "end_turn"
    model: str | None = None  # default: the requested model
    usage: dict[str, Any] | None = None  # replaces the computed usage (replay)
    status: int = 200
    error_type: str | None = None
    error_message: str = ""
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None  # None | "stream_error" | "reset"
    delay: float = 0.0  # seconds before the first byte

    @property
    def is_error(self) -> bool:
        return self.status != 200 or self.fault is not None

    def describe(self) -> str:
        """A short label for messages: the status or fault, else each content block in brief."""
        if self.status != 200:
            return f"{self.status} {self.error_type or 'error'}"
        if self.fault is not None:
            return self.fault
        parts = []
        for b in self.content:
            if b.get("type") == "text":
                text = str(b.get("text", ""))
                short = text if len(text) <= 40 else text[:37] + "..."
                parts.append(f"text {short!r}")
            elif b.get("type") == "tool_use":
                parts.append(f"tool_use {b.get('name')}")
            else:
                parts.append(str(b.get("type")))
        return " + ".join(parts) or "empty message"

    def final_stop_reason(self) -> str:
        if self.stop_reason:
            return self.stop_reason
        return "tool_use" if any(b.get("type") == "tool_use" for b in self.content) else "end_turn"


def text_reply(text: str, *, thinking: str | None = None, stop_reason: str | None = None) -> Reply:
    blocks: list[dict[str, Any]] = []
    if thinking is not None:
        blocks.append({"type": "thinking", "thinking": thinking, "signature": "sig-fake"})
    blocks.append({"type": "text", "text": text})
    return Reply(content=blocks, stop_reason=stop_reason)


def tool_use_reply(
    name: str, input: dict[str, Any], *, text: str | None = None, id: str | None = None
) -> Reply:
    blocks: list[dict[str, Any]] = []
    if text:
        blocks.append({"type": "text", "text": text})
    blocks.append({"type": "tool_use", "id": id or new_id("toolu"), "name": name, "input": input})
    return Reply(content=blocks)


def tool_uses_reply(calls: list[tuple[str, dict[str, Any]]], *, text: str | None = None) -> Reply:
    """Several parallel tool calls in one reply."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    blocks += [{"type": "tool_use", "id": new_id("toolu"), "name": n, "input": i} for n, i in calls]
    return Reply(content=blocks)


def json_reply(obj: Any, *, fenced: bool = False) -> Reply:
    body = json.dumps(obj)
    return text_reply(f"```json\n{body}\n```" if fenced else body)


def error_reply(
    status: int,
    message: str | None = None,
    *,
    error_type: str | None = None,
    retry_after: float | None = None,
    should_retry: bool | None = None,
    error_code: str | None = None,
) -> Reply:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
    if should_retry is not None:
        headers["x-should-retry"] = "true" if should_retry else "false"
    etype = error_type or ERROR_TYPES.get(status, "api_error")
    return Reply(
        status=status,
        error_type=etype,
        error_message=message or etype.replace("_", " "),
        error_code=error_code,
        headers=headers,
    )


def stream_error_reply(error_type: str = "overloaded_error", message: str = "Overloaded") -> Reply:
    """A 200 stream that breaks with ``event: error`` after the first text delta (JSON: a 529)."""
    return Reply(
        content=[{"type": "text", "text": "partial"}],
        fault="stream_error",
        error_type=error_type,
        error_message=message,
    )


def reset_reply() -> Reply:
    """Close the connection with a TCP reset before any byte of a response."""
    return Reply(fault="reset")


def slow(reply: Reply, delay: float) -> Reply:
    """The same reply, its first byte sent after ``delay`` seconds."""
    return replace(reply, delay=delay)


def error_body(
    error_type: str, message: str, request_id: str, error_code: str | None = None
) -> dict[str, Any]:
    err: dict[str, Any] = {"type": error_type, "message": message}
    if error_code:
        err["details"] = {"error_code": error_code}
    return {"type": "error", "error": err, "request_id": request_id}


def message_json(reply: Reply, *, msg_id: str, model: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": reply.model or model,
        "content": reply.content,
        "stop_reason": reply.final_stop_reason(),
        "stop_sequence": None,
        "usage": usage,
    }


def _frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _chunks(s: str, n: int = 24) -> list[str]:
    return [s[i : i + n] for i in range(0, len(s), n)] or [""]


def sse_frames(
    reply: Reply, *, msg_id: str, model: str, usage: dict[str, Any], request_id: str
) -> Iterator[bytes]:
    """The exact event sequence of the real API (reference §1); a fault ends it with ``event: error``."""
    start_usage = dict(usage, output_tokens=1)
    msg = message_json(reply, msg_id=msg_id, model=model, usage=start_usage)
    msg.update(content=[], stop_reason=None)
    yield _frame("message_start", {"type": "message_start", "message": msg})
    for i, block in enumerate(reply.content):
        kind = block.get("type")
        if kind == "text":
            start: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": c} for c in _chunks(block.get("text", ""))]
        elif kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": c} for c in _chunks(block.get("thinking", ""))]
            deltas.append({"type": "signature_delta", "signature": block.get("signature", "sig-fake")})
        elif kind == "tool_use":
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": c}
                for c in _chunks(json.dumps(block.get("input", {})), 16)
            ]
        else:
            start, deltas = block, []
        yield _frame(
            "content_block_start", {"type": "content_block_start", "index": i, "content_block": start}
        )
        if i == 0:
            yield _frame("ping", {"type": "ping"})
        for d in deltas:
            yield _frame("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d})
            if reply.fault == "stream_error":
                err = error_body(reply.error_type or "overloaded_error", reply.error_message, request_id)
                yield _frame("error", err)
                return
        yield _frame("content_block_stop", {"type": "content_block_stop", "index": i})
    delta = {"stop_reason": reply.final_stop_reason(), "stop_sequence": None}
    yield _frame(
        "message_delta",
        {"type": "message_delta", "delta": delta, "usage": {"output_tokens": usage["output_tokens"]}},
    )
    yield _frame("message_stop", {"type": "message_stop"})
