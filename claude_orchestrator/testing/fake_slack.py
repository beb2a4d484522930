"""A loopback stand-in for a Slack incoming webhook.

    with FakeSlack() as slack:
        slack.fail_next(429, retry_after=1)      # then 200 "ok"
        notifier = SlackNotifier(cfg, url=slack.url)
        ...
        slack.wait_for_posts(1, timeout=5)
        slack.posts[0]["blocks"]

It answers like Slack: 200 "ok"; 400 "invalid_payload" for non-JSON or no text/blocks; 400 "invalid_blocks"
when a message breaks Block Kit limits (≤50 blocks, header ≤150 chars, section text ≤3000, ≤10 fields of
≤2000); 404 "no_service" on a wrong path. Scripted failures (429 with retry-after, 5xx) come first.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


def block_problems(body: dict[str, Any]) -> list[str]:
    """Why Slack would refuse this message body (empty list: it would accept it)."""
    blocks = body.get("blocks")
    if not body.get("text") and not blocks:
        return ["no text or blocks"]
    problems: list[str] = []
    if blocks is None:
        return problems
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    if len(blocks) > 50:
        problems.append(f"{len(blocks)} blocks (max 50)")
    for i, b in enumerate(blocks):
        kind = b.get("type") if isinstance(b, dict) else None
        text = b.get("text") if isinstance(b, dict) else None
        s = text.get("text", "") if isinstance(text, dict) else ""
        if kind == "header" and (len(s) > 150 or text.get("type") != "plain_text"):  # type: ignore[union-attr]
            problems.append(f"block {i}: header text longer than 150 or not plain_text")
        elif kind == "section":
            fields = b.get("fields") or []
            if not s and not fields:
                problems.append(f"block {i}: section without text or fields")
            if len(s) > 3000:
                problems.append(f"block {i}: section text {len(s)} chars (max 3000)")
            if len(fields) > 10 or any(len(f.get("text", "")) > 2000 for f in fields):
                problems.append(f"block {i}: too many or too long fields")
        elif kind == "context":
            if len(b.get("elements") or []) > 10:
                problems.append(f"block {i}: more than 10 context elements")
        elif kind not in ("divider", "header", "section", "context"):
            problems.append(f"block {i}: unsupported type {kind!r}")
    return problems


class FakeSlack:
    def __init__(self) -> None:
        self.path = f"/services/T{secrets.token_hex(4).upper()}/B{secrets.token_hex(4).upper()}/{secrets.token_hex(12)}"
        self.posts: list[dict[str, Any]] = []  # accepted message bodies
        self.requests: list[tuple[int, dict[str, Any] | None]] = []  # every request: (status answered, body)
        self._script: deque[tuple[int, dict[str, str], str]] = deque()
        self._always: tuple[int, dict[str, str], str] | None = None
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting -----------------------------------------------------------------------------
    def fail_next(
        self, status: int, *, retry_after: float | None = None, times: int = 1, body: str = ""
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        text = body or {429: "rate_limited", 500: "internal_error", 503: "service_unavailable"}.get(
            status, "error"
        )
        with self._cond:
            self._script.extend([(status, headers, text)] * times)

    def fail_always(self, status: int, body: str = "internal_error") -> None:
        with self._cond:
            self._always = (status, {}, body)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.requests) >= n, timeout)

    def wait_for_posts(self, n: int, timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.posts) >= n, timeout)

    # -- server --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def _answer(self, path: str, raw: bytes) -> tuple[int, dict[str, str], str]:
        body: dict[str, Any] | None = None
        try:
            parsed = json.loads(raw.decode("utf-8"))
            body = parsed if isinstance(parsed, dict) else None
        except (UnicodeDecodeError, ValueError):
            body = None
        with self._cond:
            if path != self.path:
                answer: tuple[int, dict[str, str], str] = (404, {}, "no_service")
            elif self._script:
                answer = self._script.popleft()
            elif self._always is not None:
                answer = self._always
            elif body is None:
                answer = (400, {}, "invalid_payload")
            elif block_problems(body):
                answer = (400, {}, "invalid_blocks")
            else:
                answer = (200, {}, "ok")
                self.posts.append(body)
            self.requests.append((answer[0], body))
            self._cond.notify_all()
        return answer

    def __enter__(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                status, headers, text = fake._answer(self.path, self.rfile.read(n))
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # the path is a secret: never log it
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
