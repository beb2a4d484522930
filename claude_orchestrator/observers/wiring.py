"""Wire the observer side of a run in one call: snapshot builder, NDJSON event log, Slack and the display.
They only listen; nothing here decides anything for the run (the admission gate, run/gate.py, is fed by its
own sources).

    with run_observers(bus, cfg, run_path, no_progress=args.no_progress) as obs:
        scheduler.run()                              # publishes events; the observers show and log them
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..events import EventBus
from .eventlog import EventLogWriter
from .snapshot import SnapshotBuilder
from .text import PlainEventPrinter

if TYPE_CHECKING:
    from rich.console import Console

    from .slack import SlackNotifier


@dataclass
class Observers:
    builder: SnapshotBuilder
    eventlog: EventLogWriter
    slack: SlackNotifier | None
    run_path: Path


@contextlib.contextmanager
def run_observers(
    bus: EventBus,
    cfg: Any,
    run_path: Path,
    *,
    console: Console | None = None,
    no_progress: bool = False,
    slack: bool = True,
) -> Iterator[Observers]:
    """Subscribe the observers in a safe order (builder first, so others see current state) and take
    them down on exit (Slack drains its queue, bounded by its own timeouts)."""
    from .slack import SlackNotifier

    builder = SnapshotBuilder()
    with contextlib.ExitStack() as stack:
        stack.callback(bus.subscribe(builder))
        log = stack.enter_context(EventLogWriter(run_path))
        stack.callback(bus.subscribe(log))
        notifier = SlackNotifier.from_config(cfg, builder=builder) if slack else None
        if notifier is not None:
            stack.callback(notifier.close)
            stack.callback(bus.subscribe(notifier))
        if console is None and (no_progress or not cfg.monitoring.show_progress_bar):
            stack.callback(bus.subscribe(PlainEventPrinter()))  # plain lines on stdout: no Rich to load
        else:
            from .display import open_display

            stack.enter_context(
                open_display(bus, cfg, console=console, builder=builder, no_progress=no_progress)
            )
        yield Observers(builder, log, notifier, Path(run_path))
