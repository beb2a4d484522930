"""The one retry policy of the LLM layer (tenacity; the SDK's own retries are off: max_retries=0).

Why here and not in the SDK: the SDK cannot retry an error that arrives inside a 200 stream (a mid-stream
``overloaded_error``), and its retries would bypass rate-limit admission. One loop here retries every
transient failure the same way, re-enters admission on each attempt, and bounds attempts and total wait.

Retried, by exception type: 408, 409, 429, 5xx (529 and 503 included), connection and timeout errors, and
a mid-stream error event of a transient type; ``x-should-retry`` overrides the status. Not retried: a
connection refused by a loopback address (nothing listens there: a local proxy or fake that is not running). Waits honour
``retry-after-ms`` / ``retry-after``, else back off 0.5 s × 2ⁿ (cap 8 s) with up to 25% jitter.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import anthropic
from tenacity import RetryCallState, Retrying, retry_if_exception

from ..errors import LLMError, RetriesExhaustedError

T = TypeVar("T")
TRANSIENT_STREAM_TYPES = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}
RETRY_STATUSES = {408, 409, 429}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    max_total_wait: float = 300.0
    base_s: float = 0.5
    cap_s: float = 8.0


def _headers(exc: BaseException) -> dict[str, str]:
    resp = getattr(exc, "response", None)
    if resp is None:
        return {}
    try:
        return {k.lower(): v for k, v in resp.headers.items()}
    except Exception:
        return {}


def refused_locally(exc: BaseException) -> str | None:
    """The ``host[:port]`` of a loopback address that refused the connection (nothing listens there)."""
    if not isinstance(exc, anthropic.APIConnectionError) or isinstance(exc, anthropic.APITimeoutError):
        return None
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ConnectionRefusedError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return None
    url = exc.request.url
    try:
        loopback = url.host == "localhost" or ipaddress.ip_address(url.host).is_loopback
    except ValueError:
        return None
    return url.netloc.decode("ascii") if loopback else None


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, anthropic.APIConnectionError):  # includes APITimeoutError
        return refused_locally(exc) is None
    if not isinstance(exc, anthropic.APIStatusError):
        return False
    if exc.status_code == 200:  # an error event inside a 200 stream
        return (exc.type or "") in TRANSIENT_STREAM_TYPES
    should = _headers(exc).get("x-should-retry")
    if should in ("true", "false"):
        return should == "true"
    return exc.status_code in RETRY_STATUSES or exc.status_code >= 500


def retry_after_s(exc: BaseException) -> float | None:
    h = _headers(exc)
    try:
        if "retry-after-ms" in h:
            return max(0.0, float(h["retry-after-ms"]) / 1000)
        if "retry-after" in h:
            return max(0.0, float(h["retry-after"]))
    except ValueError:
        try:
            from datetime import datetime, timezone

            when = parsedate_to_datetime(h["retry-after"])
            return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
        except (TypeError, ValueError, KeyError):
            return None
    return None


def describe(exc: BaseException) -> str:
    """One line naming the failure without secrets."""
    if isinstance(exc, anthropic.APIStatusError):
        status = "mid-stream" if exc.status_code == 200 else str(exc.status_code)
        rid = f", request {exc.request_id}" if exc.request_id else ""
        return f"{status} {exc.type or 'error'}: {exc.api_message or exc.message}{rid}"
    if isinstance(exc, anthropic.APITimeoutError):
        return "request timed out"
    if isinstance(exc, anthropic.APIConnectionError):
        where = refused_locally(exc)
        if where is not None:
            return f"connection refused by {where}: nothing listens there (check ANTHROPIC_BASE_URL)"
        return f"connection error: {exc.__cause__ or exc.message}"
    return f"{type(exc).__name__}: {exc}"


def to_llm_error(exc: BaseException) -> LLMError:
    """A non-retryable SDK error as our error type (status and request id in its fields)."""
    fields: dict[str, Any] = {}
    if isinstance(exc, anthropic.APIStatusError):
        fields = {"status": exc.status_code, "request_id": exc.request_id, "type": exc.type}
    return LLMError(f"model request failed: {describe(exc)}", **fields)


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run `fn` until it succeeds, raises a non-retryable error (as LLMError), or the bounds are hit
    (RetriesExhaustedError). `on_retry(attempt, exc, wait_s)` is called before each wait."""

    def wait(rs: RetryCallState) -> float:
        exc = rs.outcome.exception() if rs.outcome else None
        after = retry_after_s(exc) if exc else None
        if after is not None:
            return float(after)
        n = rs.attempt_number - 1
        return float(min(policy.base_s * 2**n, policy.cap_s) * (1 - 0.25 * random.random()))

    def stop(rs: RetryCallState) -> bool:
        total = rs.idle_for + (rs.upcoming_sleep or 0.0)
        return rs.attempt_number >= policy.max_attempts or total > policy.max_total_wait

    def before_sleep(rs: RetryCallState) -> None:
        if on_retry and rs.outcome is not None:
            exc = rs.outcome.exception()
            if exc is not None:
                on_retry(rs.attempt_number, exc, rs.upcoming_sleep or 0.0)

    kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
    retrying = Retrying(
        retry=retry_if_exception(is_retryable),
        wait=wait,
        stop=stop,
        before_sleep=before_sleep,
        reraise=True,
        **kwargs,
    )
    try:
        return retrying(fn)
    except anthropic.APIError as exc:
        if not is_retryable(exc):
            raise to_llm_error(exc) from exc
        attempts = retrying.statistics.get("attempt_number", 1)
        raise RetriesExhaustedError(
            f"model request failed after {attempts} attempt(s): {describe(exc)}",
            attempts=attempts,
            status=getattr(exc, "status_code", None),
        ) from exc
