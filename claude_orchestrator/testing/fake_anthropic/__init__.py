"""A loopback fake of the Anthropic Messages API (see server.py); `python -m` runs it standalone."""

from .limits import RateLimits
from .replies import (
    Reply,
    error_reply,
    json_reply,
    reset_reply,
    slow,
    stream_error_reply,
    text_reply,
    tool_use_reply,
    tool_uses_reply,
)
from .request import FakeRequest
from .server import DEFAULT_TEXT, Accounting, FakeAnthropic, Model
from .tokens import approx_tokens, count_input_tokens

__all__ = [
    "DEFAULT_TEXT",
    "Accounting",
    "FakeAnthropic",
    "FakeRequest",
    "Model",
    "RateLimits",
    "Reply",
    "approx_tokens",
    "count_input_tokens",
    "error_reply",
    "json_reply",
    "reset_reply",
    "slow",
    "stream_error_reply",
    "text_reply",
    "tool_use_reply",
    "tool_uses_reply",
]
