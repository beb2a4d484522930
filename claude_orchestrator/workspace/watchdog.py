"""One thread that kills the git commands that outlive their timeout.

Cheaper than a timer thread per command, and the command itself is waited for without a timeout (Python's
``communicate(timeout=…)`` polls for the exit with short sleeps)."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class _Entry:
    __slots__ = ("deadline", "fired", "proc", "seq")

    def __init__(self, deadline: float, seq: int, proc: subprocess.Popen[bytes]) -> None:
        self.deadline, self.seq = deadline, seq
        self.proc: subprocess.Popen[bytes] | None = proc
        self.fired = False

    def __lt__(self, other: _Entry) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)


class Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, proc: subprocess.Popen[bytes], timeout: float) -> Iterator[Callable[[], bool]]:
        """Kill `proc` if it still runs `timeout` seconds from now; yields a function that tells whether
        that happened."""
        entry = _Entry(time.monotonic() + timeout, next(self._seq), proc)
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="git-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
        try:
            yield lambda: entry.fired
        finally:
            with self._cond:
                entry.proc = None  # dropped from the heap when it comes to the top

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0].proc is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0].deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                entry = heapq.heappop(self._heap)
                proc, entry.fired = entry.proc, True
            if proc is not None:
                with contextlib.suppress(OSError):  # gone meanwhile
                    proc.kill()


WATCHDOG = Watchdog()
