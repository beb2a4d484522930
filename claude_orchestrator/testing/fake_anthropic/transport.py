"""The fake API in-process: an ``httpx2.MockTransport`` that answers through the same `respond` as the
loopback server, with no socket and no thread. Hand it to the client, e.g.
``LLM.from_config(cfg, api_key="sk-test", transport=fake.transport())``.

Faults behave as they do over the socket: SSE frames are streamed, a reset raises the transport error a
dropped connection raises, and a reply slower than the client's read timeout raises ``ReadTimeout`` once
that timeout has passed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx2

from .exchange import respond

if TYPE_CHECKING:
    from .server import FakeAnthropic


def mock_transport(fake: FakeAnthropic) -> httpx2.MockTransport:
    def handle(request: httpx2.Request) -> httpx2.Response:
        timeout = (request.extensions.get("timeout") or {}).get("read")
        late: list[float] = []

        def wait(seconds: float) -> None:
            if timeout is not None and seconds > timeout:
                late.append(seconds)
                seconds = timeout  # the client stops waiting here
            time.sleep(seconds)

        headers = {k.lower(): v for k, v in request.headers.items()}
        path = request.url.raw_path.decode("ascii")
        answer = respond(fake, request.method, path, headers, request.content, wait=wait)
        if late:
            raise httpx2.ReadTimeout(f"no answer within {timeout} s", request=request)
        if answer.reset:
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if answer.frames is not None:
            return httpx2.Response(
                answer.status, headers=answer.headers, content=answer.frames, request=request
            )
        return httpx2.Response(answer.status, headers=answer.headers, content=answer.body, request=request)

    return httpx2.MockTransport(handle)
