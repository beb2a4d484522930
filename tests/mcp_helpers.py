"""Helpers for the MCP tests: a synchronous session on the SDK's own in-process client (or a stdio
subprocess), and results split into Task Master's envelope."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio.from_thread
from mcp.client.stdio import StdioServerParameters

try:  # mcp >= 2
    from mcp import Client
except ImportError:  # mcp 1.x: no Client; a ClientSession over memory streams or stdio instead
    Client = None


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
        return Result(bool(getattr(r, "is_error", None) or getattr(r, "isError", False)), texts[0])

    def tool_names(self) -> list[str]:
        return [t.name for t in self.portal.call(self.client.list_tools).tools]

    def tools(self) -> list[Any]:
        return list(self.portal.call(self.client.list_tools).tools)


def input_schema(tool: Any) -> dict[str, Any]:
    return dict(getattr(tool, "input_schema", None) or tool.inputSchema)


@asynccontextmanager
async def _connect(server: Any) -> AsyncIterator[Any]:
    if Client is not None:
        async with Client(server) as client:
            yield client
        return
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client
    from mcp.shared.memory import create_connected_server_and_client_session

    if isinstance(server, StdioServerParameters):
        async with stdio_client(server) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            yield s
    else:
        async with create_connected_server_and_client_session(server._mcp_server) as s:
            yield s


@contextmanager
def session(server: Any) -> Iterator[Session]:
    """`server`: our server (in-process, over memory streams) or StdioServerParameters (a subprocess)."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(_connect(server)) as client,
    ):
        yield Session(client, portal)
