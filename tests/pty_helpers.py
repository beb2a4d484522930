"""A command in a real pseudo-terminal, as a person runs it: its controlling terminal is the pty (so the
kernel turns a Ctrl-C typed into it into SIGINT for the terminal's foreground process group), 120x40."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
# the child of the pty: a session of its own whose controlling terminal is the pty (as a shell does it)
IN_TERMINAL = (
    "import fcntl, os, sys, termios\n"
    "os.setsid()\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
)


class Terminal:
    """A command running in a pseudo-terminal of 120x40; what it writes is collected on a thread."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
        env.pop("NO_COLOR", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", IN_TERMINAL, *argv],
            cwd=cwd,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
        )
        os.close(slave)
        self._chunks: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the other side closed
                return
            if not data:
                return
            with self._lock:
                self._chunks.append(data.decode("utf-8", "replace"))

    @property
    def text(self) -> str:
        with self._lock:
            return ANSI.sub("", "".join(self._chunks))

    def wait_for(self, what: str | Callable[[str], bool], timeout: float = 120.0) -> str:
        test = (lambda t: what in t) if isinstance(what, str) else what
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text
            if test(text):
                return text
            if self.proc.poll() is not None:
                time.sleep(0.2)
                break
            time.sleep(0.05)
        raise AssertionError(f"never saw {what!r}; the terminal shows:\n{self.text[-3000:]}")

    def press_ctrl_c(self) -> None:
        os.write(self.master, b"\x03")  # the line discipline turns it into SIGINT for the foreground group

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.master)
