"""The HTTP side of the fake API: routes, auth, JSON and chunked SSE responses, connection resets."""

from __future__ import annotations

import json
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from .replies import error_body, message_json, new_id, sse_frames
from .request import FakeRequest
from .tokens import count_input_tokens

if TYPE_CHECKING:
    from .server import FakeAnthropic


class Handler(BaseHTTPRequestHandler):
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

    _model = ""

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("request-id", new_id("req"))
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
        self._model = req.model
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
        if "anthropic-ratelimit-requests-limit" not in headers:  # on every response
            with self.fake._lock:
                headers = {**self.fake.limiter.headers(self._model), **headers}
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)
