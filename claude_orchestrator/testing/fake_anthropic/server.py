"""FakeAnthropic: a loopback Messages API server for tests, benchmarks and offline replay.

A reply comes from, in order: the replay file (matched by request key), the queue (`enqueue`), the
model function (`model(request) -> Reply`), else a short default text. Every request is recorded in
`.requests`; successful replies are summed in `.accounting`.
"""

from __future__ import annotations

import collections
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ...llm.record import load_exchanges, request_key
from .limits import Limiter, RateLimits, retry_after_header
from .replies import (
    Reply,
    error_body,
    message_json,
    new_id,
    reset_reply,
    sse_frames,
    stream_error_reply,
    text_reply,
)
from .request import FakeRequest
from .tokens import MAX_BREAKPOINTS, CachePlan, PromptCache, breakpoint_count, count_input_tokens, usage_dict
from .tokens import output_tokens as count_output

Model = Callable[[FakeRequest], Reply]
DEFAULT_TEXT = "Hello from fake server."
USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def _empty_totals() -> dict[str, int]:
    return dict.fromkeys((*USAGE_KEYS, "cache_write_5m", "cache_write_1h", "requests", "ok"), 0)


class Accounting:
    """Totals of what the fake answered: usage of every completed reply, counts of errors by status."""

    def __init__(self) -> None:
        self.totals = _empty_totals()
        self.by_model: dict[str, dict[str, int]] = collections.defaultdict(_empty_totals)
        self.errors: collections.Counter[int] = collections.Counter()

    def add_request(self, model: str) -> None:
        for t in (self.totals, self.by_model[model]):
            t["requests"] += 1

    def add_usage(self, model: str, usage: dict[str, Any]) -> None:
        cc = usage.get("cache_creation") or {}
        for t in (self.totals, self.by_model[model]):
            t["ok"] += 1
            for k in USAGE_KEYS:
                t[k] += int(usage.get(k) or 0)
            t["cache_write_5m"] += int(cc.get("ephemeral_5m_input_tokens") or 0)
            t["cache_write_1h"] += int(cc.get("ephemeral_1h_input_tokens") or 0)

    def __getitem__(self, key: str) -> int:
        return self.totals[key]


class FakeAnthropic:
    def __init__(
        self,
        model: Model | None = None,
        replies: list[Reply] | None = None,
        *,
        rate_limits: RateLimits | None = None,
        per_model_limits: dict[str, RateLimits] | None = None,
        window_s: float | None = None,
        latency: float = 0.0,
        replay: str | Path | None = None,
        api_key: str | None = None,
        min_cache_tokens: dict[str, int] | int = 1024,
        clock: Callable[[], float] = time.monotonic,
        default_text: str = DEFAULT_TEXT,
        port: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.model = model
        self.latency = latency
        self.api_key = api_key
        self.default_text = default_text
        self.requests: list[FakeRequest] = []
        self.accounting = Accounting()
        self.cache = PromptCache(min_cache_tokens, clock)  # `clock` drives cache TTLs
        limits = rate_limits or RateLimits()
        if window_s is not None:
            limits.window_s = window_s
            for lim in (per_model_limits or {}).values():
                lim.window_s = window_s
        self.limiter = Limiter(limits=limits, per_model=dict(per_model_limits or {}))
        self._queue: collections.deque[Reply] = collections.deque(replies or [])
        self._replay: dict[str, collections.deque[Reply]] = {}
        if replay is not None:
            self.load_replay(replay)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----
    def start(self) -> FakeAnthropic:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-anthropic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeAnthropic is not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- scripting ----
    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def fail_next(self, *faults: Reply) -> None:
        """Put faults at the head of the queue (answered before anything queued)."""
        with self._lock:
            self._queue.extendleft(reversed(faults))

    @property
    def pending(self) -> int:
        return len(self._queue)

    def load_replay(self, path: str | Path) -> int:
        n = 0
        for line in load_exchanges(path):
            reply = _replayed(line)
            self._replay.setdefault(line["key"], collections.deque()).append(reply)
            n += 1
        return n

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> bool:
        """Block until at least `n` requests have been recorded."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.requests) >= n, timeout)

    # ---- request handling (called from handler threads) ----
    def _record(self, req: FakeRequest) -> None:
        with self._changed:
            req.index = len(self.requests)
            self.requests.append(req)
            self._changed.notify_all()

    def _finish(self, req: FakeRequest, status: int) -> None:
        """Note how a request was answered (0: connection reset)."""
        with self._lock:
            req.status = status
            if status != 200:
                self.accounting.errors[status] += 1

    def _choose(self, req: FakeRequest) -> Reply:
        with self._lock:
            if self._replay:
                queue = self._replay.get(request_key(req.body))
                if queue:
                    return queue.popleft()
                return Reply(
                    status=400,
                    error_type="invalid_request_error",
                    error_message="replay: no recorded answer for this request",
                )
            if self._queue:
                return self._queue.popleft()
        if self.model is not None:
            return self.model(req)
        return text_reply(self.default_text)

    def handle_messages(self, req: FakeRequest) -> tuple[Reply, dict[str, Any] | None, dict[str, str]]:
        """Decide the answer: (reply, usage or None for errors, extra headers)."""
        body, model = req.body, req.model
        for field in ("model", "messages", "max_tokens"):
            if field not in body:
                return _invalid(f"{field}: Field required"), None, {}
        if breakpoint_count(body) > MAX_BREAKPOINTS:
            n = breakpoint_count(body)
            msg = f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {n}."
            return _invalid(msg), None, {}
        with self._lock:
            self.accounting.add_request(model)
            plan: CachePlan = self.cache.plan(body)
            wait = self.limiter.admit(model, plan.input_tokens + plan.written)
        if wait is not None:
            reply = Reply(
                status=429,
                error_type="rate_limit_error",
                error_message="Number of requests or tokens has exceeded your per-window rate limit",
            )
            return reply, None, {"retry-after": retry_after_header(wait), "x-should-retry": "true"}
        reply = self._choose(req)
        if reply.is_error:
            return reply, None, {}
        out = count_output(reply.content)
        usage = reply.usage or usage_dict(plan, out)
        with self._lock:
            self.cache.commit(model, plan)
            self.limiter.charge_output(model, int(usage.get("output_tokens") or 0))
            self.accounting.add_usage(reply.model or model, usage)
        return reply, usage, {}


def _replayed(line: dict[str, Any]) -> Reply:
    """The Reply that reproduces one recorded exchange."""
    status = int(line.get("status", 200))
    if "error" not in line:
        resp = line["response"]
        content = list(resp.get("content") or [])
        return Reply(
            content=content,
            stop_reason=resp.get("stop_reason"),
            model=resp.get("model"),
            usage=resp.get("usage"),
        )
    if status == 0:
        return reset_reply()
    err = line["error"].get("error", line["error"]) if isinstance(line["error"], dict) else {}
    etype, message = str(err.get("type", "api_error")), str(err.get("message", ""))
    if status == 200:
        return stream_error_reply(etype, message)
    reply = Reply(status=status, error_type=etype, error_message=message)
    if line.get("retry_after"):
        reply.headers["retry-after"] = str(line["retry_after"])
    return reply


def _invalid(message: str) -> Reply:
    return Reply(status=400, error_type="invalid_request_error", error_message=message)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeAnthropic
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _headers(self) -> dict[str, str]:
        out = {k.lower(): v for k, v in self.headers.items()}
        for k in ("x-api-key", "authorization"):
            if k in out:
                out[k] = "***"
        return out

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/v1/models":
            data = {
                "data": [
                    {"type": "model", "id": m, "display_name": m}
                    for m in ("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5")
                ],
                "has_more": False,
            }
            return self._json(200, data, {})
        self._json(404, error_body("not_found_error", f"no route {self.path}", new_id("req")), {})

    def do_POST(self) -> None:
        fake = self.fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        request_id = new_id("req")
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be an object")
        except ValueError as e:
            return self._json(
                400,
                error_body("invalid_request_error", f"invalid JSON body: {e}", request_id),
                {},
                request_id,
            )
        req = FakeRequest("POST", self.path, self._headers(), body, request_id=request_id)
        fake._record(req)
        key = (
            self.headers.get("x-api-key")
            or (self.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        )
        if not key or (fake.api_key is not None and key != fake.api_key):
            fake._finish(req, 401)
            return self._json(
                401, error_body("authentication_error", "invalid x-api-key", request_id), {}, request_id
            )
        endpoint = req.endpoint
        if endpoint == "/v1/messages/count_tokens":
            fake._finish(req, 200)
            return self._json(200, {"input_tokens": count_input_tokens(body)}, {}, request_id)
        if endpoint != "/v1/messages":
            fake._finish(req, 404)
            return self._json(
                404, error_body("not_found_error", f"no route {endpoint}", request_id), {}, request_id
            )
        reply, usage, extra = fake.handle_messages(req)
        if fake.latency or reply.delay:  # the model's time, after admission
            time.sleep(fake.latency + reply.delay)
        with fake._lock:
            rl = fake.limiter.headers(req.model)
        headers = {**rl, **extra, **reply.headers}
        if reply.fault == "reset":
            fake._finish(req, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if reply.status != 200:
            fake._finish(req, reply.status)
            err = error_body(
                reply.error_type or "api_error", reply.error_message, request_id, reply.error_code
            )
            return self._json(reply.status, err, headers, request_id)
        model = req.model
        msg_id = new_id("msg")
        if reply.fault == "stream_error" and not req.stream:
            fake._finish(req, 529)
            return self._json(
                529,
                error_body(reply.error_type or "overloaded_error", reply.error_message, request_id),
                headers,
                request_id,
            )
        usage = usage or {"input_tokens": 0, "output_tokens": 0}
        fake._finish(req, 200)
        if not req.stream:
            return self._json(
                200, message_json(reply, msg_id=msg_id, model=model, usage=usage), headers, request_id
            )
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", request_id)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            for frame in sse_frames(reply, msg_id=msg_id, model=model, usage=usage, request_id=request_id):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, status: int, data: dict[str, Any], headers: dict[str, str], request_id: str = "") -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.send_header("request-id", request_id or new_id("req"))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)
