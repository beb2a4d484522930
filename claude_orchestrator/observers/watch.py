"""A run watched from another terminal (`watch-run`, `status --follow`): its event log, followed as it grows,
folded into a snapshot and shown by the same live view the run shows (plain lines off a terminal). It only
reads: Ctrl-C here leaves the watcher, never the run."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from rich.console import Console

from ..events import RunFinished
from .display import LiveDisplay
from .eventlog import read_events
from .snapshot import SnapshotBuilder
from .text import PlainEventPrinter

POLL_S = 0.2


class _Gone:
    """True once the run's process has been seen gone twice in a row (so that lines it wrote just before
    it ended are read first)."""

    def __init__(self, run_path: Path) -> None:
        self.run_path, self.seen = run_path, 0

    def __call__(self) -> bool:
        from ..run.control import is_live

        self.seen = 0 if is_live(self.run_path) else self.seen + 1
        return self.seen >= 2


def watch_run(run_path: Path, *, console: Console | None = None, plain: bool = False, cfg: Any = None) -> str:
    """Show the run until it ends (or its process is gone); returns its last status."""
    console = console or Console()
    builder = SnapshotBuilder()
    printer = PlainEventPrinter(console.file) if plain or not console.is_terminal else None
    view = LiveDisplay(console, builder, cfg=cfg) if printer is None else contextlib.nullcontext()
    status = "ended without finishing (its process is gone)"
    try:
        with view:
            for e in read_events(
                run_path, follow=True, poll_s=POLL_S, stop=_Gone(run_path), until_finished=True
            ):
                builder.fold(e)
                if printer is not None:
                    printer(e)
                if isinstance(e, RunFinished):
                    status = e.status
    except KeyboardInterrupt:
        return "going on (you left the view)"
    return status
