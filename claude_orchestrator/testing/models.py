"""Scripted models for the fake Anthropic API: functions of the request that return a `Reply`.

Clients such as the Claude Code CLI send side requests (a title or quota check on a small model, no
tools) next to the main tool loop, so these models route by what a request contains, never by order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from .fake_anthropic.replies import Reply, text_reply, tool_use_reply
from .fake_anthropic.request import FakeRequest

Matcher = Callable[[FakeRequest], bool]
Model = Callable[[FakeRequest], Reply]


def is_side_request(req: FakeRequest) -> bool:
    """A request that is not part of the agent loop: no tools offered (CLI titles, quota checks)."""
    return not req.tools


def has_tool(name: str) -> Matcher:
    return lambda req: req.has_tool(name)


def user_says(fragment: str) -> Matcher:
    """The last user text contains `fragment` (case-insensitive)."""
    return lambda req: fragment.lower() in req.last_user_text.lower()


def after_tool(name: str | None = None) -> Matcher:
    """The last message carries tool results (for a tool called `name`, when given)."""

    def match(req: FakeRequest) -> bool:
        results = req.tool_results
        if not results or name is None:
            return bool(results)
        ids = {r.get("tool_use_id") for r in results}
        for msg in req.messages:
            content = msg.get("content")
            for b in content if isinstance(content, list) else []:
                if isinstance(b, dict) and b.get("type") == "tool_use" and b.get("id") in ids:
                    return b.get("name") == name
        return False

    return match


class Router:
    """First matching rule answers; `default` otherwise. Rules are (matcher, reply or model)."""

    def __init__(self, *rules: tuple[Matcher, Reply | Model], default: Reply | Model | None = None) -> None:
        self.rules = list(rules)
        self.default = default if default is not None else text_reply("ok")
        self.seen: list[tuple[int, FakeRequest]] = []  # (rule index, -1 for default)
        self._lock = threading.Lock()

    def __call__(self, req: FakeRequest) -> Reply:
        for i, (match, answer) in enumerate(self.rules):
            if match(req):
                with self._lock:
                    self.seen.append((i, req))
                return answer(req) if callable(answer) else answer
        with self._lock:
            self.seen.append((-1, req))
        return self.default(req) if callable(self.default) else self.default


def tool_loop(steps: Sequence[Reply], final: Reply | None = None, *, side: Reply | None = None) -> Model:
    """The agent loop's answer depends on how many assistant turns the conversation holds: turn n gets
    ``steps[n]``, later turns get ``final``. Stateless, so retries and extra requests do not shift it.
    Requests without tools get ``side``."""
    last = final or text_reply("Done.")
    side_reply = side or text_reply("ok")

    def model(req: FakeRequest) -> Reply:
        if is_side_request(req):
            return side_reply
        return steps[req.turn] if req.turn < len(steps) else last

    return model


def write_file_model(file_path: str, content: str, final_text: str = "Wrote the file.") -> Router:
    """For Claude Code: answer the main request with Write {file_path, content}, and the request that
    carries its tool result with ``final_text``; side requests get a short text."""
    return Router(
        (after_tool("Write"), text_reply(final_text)),
        (has_tool("Write"), tool_use_reply("Write", {"file_path": file_path, "content": content})),
        default=text_reply("ok"),
    )


class Script:
    """Replies in order, one per request. Past the end it answers a 400 ``invalid_request_error`` naming
    the request (not retried, so a test with one reply too few fails at once, not after backoff) and
    keeps the request in `unexpected`. `assert_complete()` raises when replies were left unused or a
    request came past the end."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        self._replies = list(replies)
        self._given = 0
        self._lock = threading.Lock()
        self.calls: list[FakeRequest] = []
        self.unexpected: list[FakeRequest] = []

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def __call__(self, req: FakeRequest) -> Reply:
        with self._lock:
            self.calls.append(req)
            if self._replies:
                self._given += 1
                return self._replies.pop(0)
            self.unexpected.append(req)
            given = self._given
        return Reply(
            status=400,
            error_type="invalid_request_error",
            error_message=f"script exhausted: all {given} scripted replies were used before {req.describe()}",
        )

    @property
    def remaining(self) -> int:
        return len(self._replies)

    def assert_complete(self) -> None:
        """Raise AssertionError unless every reply was used and no request came past the end."""
        with self._lock:
            left, extra, given = list(self._replies), list(self.unexpected), self._given
        problems = []
        if left:
            labels = ", ".join(f"#{given + i + 1} {r.describe()}" for i, r in enumerate(left))
            problems.append(f"{len(left)} scripted replies never requested: {labels}")
        if extra:
            problems.append(
                f"{len(extra)} requests past the script: " + "; ".join(r.describe() for r in extra)
            )
        if problems:
            raise AssertionError("script incomplete: " + "; ".join(problems))


def echo_model(req: FakeRequest) -> Reply:
    """Answers with the last user text, for smoke tests."""
    return text_reply(req.last_user_text or "(empty)")


__all__ = [
    "Router",
    "Script",
    "after_tool",
    "echo_model",
    "has_tool",
    "is_side_request",
    "tool_loop",
    "user_says",
    "write_file_model",
]
