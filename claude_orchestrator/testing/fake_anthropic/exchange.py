"""One request in, one `Answer` out: the fake API's behaviour, apart from any transport.

The loopback server (handler.py) writes an `Answer` to its socket; the in-process transport
(transport.py) turns it into an ``httpx2.Response``. Both call `respond`, so a test gets the same answers,
headers, streams and faults either way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .replies import error_body, message_json, new_id, sse_frames
from .request import FakeRequest
from .tokens import count_input_tokens

if TYPE_CHECKING:
    from .server import FakeAnthropic

MODELS = ("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5")
SECRET_HEADERS = ("x-api-key", "authorization")


@dataclass
class Answer:
    """What the fake sends back: a status, headers, and a JSON body or a stream of SSE frames; or nothing
    at all when the connection is to be reset."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    frames: Iterator[bytes] | None = None  # sent as produced (chunked on the socket)
    reset: bool = False


def respond(
    fake: FakeAnthropic,
    method: str,
    path: str,
    headers: dict[str, str],
    raw: bytes,
    *,
    wait: Callable[[float], None] = time.sleep,
) -> Answer:
    """Answer one request. `headers` have lower-case names; `wait` passes the model's time (latency and a
    reply's delay) and may be replaced by a transport that enforces its client's read timeout."""
    if method == "HEAD":
        return Answer(200, {"request-id": new_id("req")})
    if method == "GET":
        if path.split("?")[0] == "/v1/models":
            models = [{"type": "model", "id": m, "display_name": m} for m in MODELS]
            return _json(fake, 200, {"data": models, "has_more": False})
        return _json(fake, 404, error_body("not_found_error", f"no route {path}", new_id("req")))
    request_id = new_id("req")
    try:
        body = json.loads(raw or b"{}")
        if not isinstance(body, dict):
            raise ValueError("body must be an object")
    except ValueError as e:
        err = error_body("invalid_request_error", f"invalid JSON body: {e}", request_id)
        return _json(fake, 400, err, request_id=request_id)
    shown = {k: ("***" if k in SECRET_HEADERS else v) for k, v in headers.items()}
    req = FakeRequest(method, path, shown, body, request_id=request_id)
    fake._record(req)
    return _messages(fake, req, _key(headers), wait)


def _key(headers: dict[str, str]) -> str:
    return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()


def _messages(fake: FakeAnthropic, req: FakeRequest, key: str, wait: Callable[[float], None]) -> Answer:
    rid, model = req.request_id, req.model
    if not key or (fake.api_key is not None and key != fake.api_key):
        fake._finish(req, 401)
        return _json(fake, 401, error_body("authentication_error", "invalid x-api-key", rid), model, rid)
    if req.endpoint == "/v1/messages/count_tokens":
        fake._finish(req, 200)
        return _json(fake, 200, {"input_tokens": count_input_tokens(req.body)}, model, rid)
    if req.endpoint != "/v1/messages":
        fake._finish(req, 404)
        err = error_body("not_found_error", f"no route {req.endpoint}", rid)
        return _json(fake, 404, err, model, rid)
    reply, usage, extra = fake.handle_messages(req)
    if fake.latency or reply.delay:  # the model's time, after admission
        wait(fake.latency + reply.delay)
    fake.commit_cache(req)
    with fake._lock:
        rl = fake.limiter.headers(model)
    headers = {**rl, **extra, **reply.headers}
    if reply.fault == "reset":
        fake._finish(req, 0)
        return Answer(0, reset=True)
    if reply.status != 200:
        fake._finish(req, reply.status)
        err = error_body(reply.error_type or "api_error", reply.error_message, rid, reply.error_code)
        return _json(fake, reply.status, err, model, rid, headers)
    if reply.fault == "stream_error" and not req.stream:
        fake._finish(req, 529)
        err = error_body(reply.error_type or "overloaded_error", reply.error_message, rid)
        return _json(fake, 529, err, model, rid, headers)
    usage = usage or {"input_tokens": 0, "output_tokens": 0}
    msg_id = new_id("msg")
    fake._finish(req, 200)
    if not req.stream:
        return _json(
            fake, 200, message_json(reply, msg_id=msg_id, model=model, usage=usage), model, rid, headers
        )
    stream_headers = {"content-type": "text/event-stream", "cache-control": "no-cache", "request-id": rid}
    frames = sse_frames(reply, msg_id=msg_id, model=model, usage=usage, request_id=rid)
    return Answer(200, {**stream_headers, **headers}, frames=frames)


def _json(
    fake: FakeAnthropic,
    status: int,
    data: dict[str, Any],
    model: str = "",
    request_id: str = "",
    headers: dict[str, str] | None = None,
) -> Answer:
    """A JSON answer; rate-limit headers ride on every response, as with the real API."""
    out = {"content-type": "application/json", "request-id": request_id or new_id("req")}
    if not headers or "anthropic-ratelimit-requests-limit" not in headers:
        with fake._lock:
            out.update(fake.limiter.headers(model))
    out.update(headers or {})
    return Answer(status, out, body=json.dumps(data).encode())
