"""The run's event log: every event as one NDJSON line in <run_dir>/events.ndjson, flushed per line, and
a reader that yields events back (optionally following a growing file, like `tail -f`)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from ..events import Event, RunFinished, from_dict

log = logging.getLogger(__name__)

EVENTS_FILE = "events.ndjson"


def event_to_line(e: Event) -> str:
    return json.dumps(e.to_dict(), ensure_ascii=False, default=str, separators=(",", ":")) + "\n"


class EventLogWriter:
    """Observer appending each event to <run_dir>/events.ndjson. Thread-safe; a context manager."""

    def __init__(self, run_dir: Path | str) -> None:
        self.path = Path(run_dir) / EVENTS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file: IO[str] | None = self.path.open("a", encoding="utf-8")

    def __call__(self, event: Event) -> None:
        line = event_to_line(event)
        with self._lock:
            if self._file is None:
                return
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __enter__(self) -> EventLogWriter:
        return self

    def __exit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _parse(line: str, path: Path, lineno: int) -> Event | None:
    try:
        d = json.loads(line)
        if not isinstance(d, dict):
            raise ValueError("not an object")
        return from_dict(d)
    except (ValueError, TypeError) as e:
        log.warning("%s:%d: skipped a malformed event line (%s)", path, lineno, e)
        return None


def read_events(
    run_dir_or_file: Path | str,
    *,
    follow: bool = False,
    poll_s: float = 0.1,
    timeout: float | None = None,
    stop: threading.Event | Callable[[], bool] | None = None,
    until_finished: bool = False,
) -> Iterator[Event]:
    """Yield events from a run folder (or an events.ndjson path) in order.

    follow: keep waiting for new lines after the end (a partly written last line is held back until its
    newline arrives). Following ends when `stop` is set, after `timeout` seconds without a new event, or,
    with until_finished, after a RUN_FINISHED event. Malformed lines are skipped with a warning."""
    p = Path(run_dir_or_file)
    path = p if p.suffix == ".ndjson" or p.is_file() else p / EVENTS_FILE
    should_stop: Callable[[], bool]
    if stop is None:
        should_stop = lambda: False  # noqa: E731
    elif isinstance(stop, threading.Event):
        should_stop = stop.is_set
    else:
        should_stop = stop
    deadline = None if timeout is None else time.monotonic() + timeout
    while not path.exists():  # following a run that has not written yet
        if not follow or should_stop() or (deadline is not None and time.monotonic() >= deadline):
            return
        time.sleep(poll_s)
    lineno = 0
    with path.open("r", encoding="utf-8", errors="replace") as f:
        pending = ""
        while True:
            chunk = f.readline()
            if chunk:
                pending += chunk
                if not pending.endswith("\n"):
                    if follow:
                        continue  # wait for the rest of this line
                    chunk = ""  # at EOF with a torn last line: parse what is there
                else:
                    line, pending = pending, ""
                    lineno += 1
                    if line.strip():
                        e = _parse(line, path, lineno)
                        if e is not None:
                            yield e
                            if timeout is not None:
                                deadline = time.monotonic() + timeout
                            if until_finished and isinstance(e, RunFinished):
                                return
                    continue
            if not follow:
                if pending.strip():
                    e = _parse(pending, path, lineno + 1)
                    if e is not None:
                        yield e
                return
            if should_stop() or (deadline is not None and time.monotonic() >= deadline):
                return
            time.sleep(poll_s)


def tail_events(run_dir_or_file: Path | str, n: int) -> list[Event]:
    """The last n events of a finished or running log."""
    from collections import deque

    return list(deque(read_events(run_dir_or_file), maxlen=max(0, n)))
