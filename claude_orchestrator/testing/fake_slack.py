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
from email.message import Message
from typing import Any

from .loopback import LoopbackFake


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


class FakeSlack(LoopbackFake):
    NAME = "fake-slack"
    CONTENT_TYPE = "text/plain; charset=utf-8"
    METHODS = ("POST",)

    def __init__(self) -> None:
        super().__init__()
        self.path = f"/services/T{secrets.token_hex(4).upper()}/B{secrets.token_hex(4).upper()}/{secrets.token_hex(12)}"
        self.posts: list[dict[str, Any]] = []  # accepted message bodies
        self.requests: list[tuple[int, dict[str, Any] | None]] = []  # every request: (status answered, body)
        self._script: deque[tuple[int, dict[str, str], str]] = deque()
        self._always: tuple[int, dict[str, str], str] | None = None
        self._cond = threading.Condition()

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
        return self.url_base + self.path  # the path is a secret: the server logs nothing

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

    def respond(
        self, method: str, path: str, headers: Message, raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        status, extra, text = self._answer(path, raw)
        return status, extra, text.encode()
