"""`task-master list --watch`: redraw the listing whenever tasks.json (or the tag's report) changes."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import click

POLL_S = 0.25


def _signature(path: Any) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def watch_list(c: Any, *, compact: bool, **view: Any) -> None:
    """Print the listing, then again after every change, until Ctrl-C. A file caught half-written is
    reported in one line and read again on the next change."""
    from ..errors import OrchestratorError
    from .taskmaster_view import list_output

    path = c.store.tasks_path
    last: object = object()
    try:
        while True:
            sig = _signature(path)
            if sig != last:
                last = sig
                try:
                    text = list_output(c, compact=compact, **view)
                except OrchestratorError as e:
                    text = f"Error: {e}"
                if sys.stdout.isatty():
                    click.clear()
                click.echo(text)
                click.echo(f"\nWatching {path} for changes (Ctrl-C to stop)")
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        return
