"""The socket side of the fake API: reads a request, asks `exchange.respond`, writes the `Answer` (JSON with a
length, SSE frames chunked, or a TCP reset)."""

from __future__ import annotations

import socket
import struct
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from .exchange import Answer, respond

if TYPE_CHECKING:
    from .server import FakeAnthropic


class Handler(BaseHTTPRequestHandler):
    fake: FakeAnthropic
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._write(respond(self.fake, self.command, self.path, headers, raw))

    do_HEAD = do_GET = do_POST = _answer

    def _write(self, answer: Answer) -> None:
        if answer.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        try:
            self.send_response(answer.status)
            if answer.frames is None:
                self.send_header("content-length", str(len(answer.body)))
            else:
                self.send_header("transfer-encoding", "chunked")
            for k, v in answer.headers.items():
                self.send_header(k, v)
            self.end_headers()
            if answer.frames is None:
                self.wfile.write(answer.body)
                return
            for frame in answer.frames:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
            self.close_connection = True
