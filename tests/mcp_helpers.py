"""Helpers for the MCP tests: a synchronous session on the SDK's own in-process client (or a stdio
subprocess), and results split into Task Master's envelope."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio.from_thread
from mcp import Client


@dataclass
class Result:
    is_error: bool
    text: str

    @property
    def body(self) -> dict[str, Any]:
        assert not self.is_error, self.text
        out = json.loads(self.text)
        assert isinstance(out, dict)
        return out

    @property
    def data(self) -> Any:
        return self.body["data"]


class Session:
    def __init__(self, client: Any, portal: Any) -> None:
        self.client, self.portal = client, portal

    def call(self, name: str, args: dict[str, Any] | None = None) -> Result:
        r = self.portal.call(self.client.call_tool, name, args or {})
        texts = [b.text for b in r.content if getattr(b, "type", "") == "text"]
        assert len(texts) == 1, r.content
        return Result(bool(r.is_error), texts[0])

    def tool_names(self) -> list[str]:
        return [t.name for t in self.portal.call(self.client.list_tools).tools]

    def tools(self) -> list[Any]:
        return list(self.portal.call(self.client.list_tools).tools)


@contextmanager
def session(server: Any) -> Iterator[Session]:
    """`server`: an MCPServer (in-process, over memory streams) or StdioServerParameters (a subprocess)."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(Client(server)) as client,
    ):
        yield Session(client, portal)
