"""The HTTP plumbing the loopback fakes share (Slack, GitHub): a threaded server on 127.0.0.1 at a free port,
run on a daemon thread, that hands each request to the fake and writes its answer back. Nothing is logged:
a path or a header may hold a secret."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar

# (method, path with query, request headers, body) -> (status, extra headers, body)
Respond = Callable[[str, str, Message, bytes], tuple[int, dict[str, str], bytes]]
F = TypeVar("F", bound="LoopbackFake")


def _handler(respond: Respond, content_type: str, methods: Iterable[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            status, headers, data = respond(self.command, self.path, self.headers, raw)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    for method in methods:  # any other method gets http.server's 501
        setattr(Handler, f"do_{method}", Handler._serve)
    return Handler


class LoopbackFake:
    """A fake service as a context manager: while open, `respond` answers `METHODS` on a loopback port and
    every answer has `CONTENT_TYPE`. Subclasses set the three class attributes and define `respond`."""

    NAME = "fake"  # the server thread's name
    CONTENT_TYPE = "application/json; charset=utf-8"
    METHODS: tuple[str, ...] = ("GET",)

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def respond(
        self, method: str, path: str, headers: Message, raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    @property
    def url_base(self) -> str:
        """http://127.0.0.1:PORT (no trailing slash)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self: F) -> F:
        self._server = ThreadingHTTPServer(
            ("127.0.0.1", 0), _handler(self.respond, self.CONTENT_TYPE, self.METHODS)
        )
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=self.NAME, daemon=True
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
