"""FakeAnthropic: a loopback Messages API server for tests, benchmarks and offline replay.

A reply comes from, in order: the replay file (matched by request key), the queue (`enqueue`), the
model function (`model(request) -> Reply`), else a short default text. Every request is recorded in
`.requests`; successful replies are summed in `.accounting`.

The same fake answers over a loopback socket (`start()`, `base_url`: for the Claude Code CLI, subprocesses
and anything configured by URL) or in-process (`transport()`: an httpx2 transport for the client, no
socket, no thread). Both go through `exchange.respond`.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...llm.record import load_exchanges, request_key
from .handler import Handler
from .limits import Limiter, RateLimits, retry_after_header
from .replies import (
    Reply,
    reset_reply,
    stream_error_reply,
    text_reply,
)
from .request import FakeRequest
from .tokens import MAX_BREAKPOINTS, CachePlan, PromptCache, breakpoint_count, usage_dict
from .tokens import output_tokens as count_output

if TYPE_CHECKING:
    import httpx2

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
        self._cache_plans: dict[int, CachePlan] = {}
        limits = dataclasses.replace(rate_limits or RateLimits())
        per_model = {m: dataclasses.replace(lim) for m, lim in (per_model_limits or {}).items()}
        if window_s is not None:
            for lim in (limits, *per_model.values()):
                lim.window_s = window_s
        self.limiter = Limiter(limits=limits, per_model=per_model)
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
        handler = type("BoundHandler", (Handler,), {"fake": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-anthropic", daemon=True
        )  # a short poll interval: stop() returns within 50 ms
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def transport(self) -> httpx2.MockTransport:
        """This fake as an in-process httpx2 transport (no server needed; see transport.py)."""
        from .transport import mock_transport

        return mock_transport(self)

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

    def assert_complete(self) -> None:
        """Raise AssertionError when enqueued replies were never requested, then run the model's own
        `assert_complete()` when it has one (a `Script`)."""
        with self._lock:
            left = list(self._queue)
        if left:
            labels = ", ".join(r.describe() for r in left)
            raise AssertionError(f"{len(left)} enqueued replies never requested: {labels}")
        check = getattr(self.model, "assert_complete", None)
        if callable(check):
            check()

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
        # max_tokens 0 only pre-warms the cache: no script consumed, no output
        reply = Reply(stop_reason="max_tokens") if body.get("max_tokens") == 0 else self._choose(req)
        if reply.is_error:
            return reply, None, {}
        out = count_output(reply.content)
        usage = reply.usage or usage_dict(plan, out)
        with self._lock:
            self._cache_plans[id(req)] = plan  # committed when the answer starts (commit_cache)
            self.limiter.charge_output(model, int(usage.get("output_tokens") or 0))
            self.accounting.add_usage(reply.model or model, usage)
        return reply, usage, {}

    def commit_cache(self, req: FakeRequest) -> None:
        """The request's prompt is in the cache from now on: as with the API, once its answer starts (after
        the model's time), so requests sent at the same moment all write rather than read."""
        with self._lock:
            plan = self._cache_plans.pop(id(req), None)
            if plan is not None:
                self.cache.commit(req.model, plan)


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
