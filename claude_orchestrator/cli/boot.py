"""The console scripts' first code: Ctrl-C and SIGTERM while the program is still starting.

Python turns a Ctrl-C into a KeyboardInterrupt wherever the program happens to be, and during start-up
that is inside an import: a traceback, or an interruption swallowed by a callback. Here the signal is held
until the command runs (`release`, called as the command starts), and then raised there, where it is an
ordinary interruption: "Interrupted.", exit 130. From then on SIGTERM is handled like Ctrl-C.

When the command is over, the objects still alive are frozen (`gc.freeze`): the interpreter's last full
collection would otherwise walk every one of them (the anthropic SDK alone is most of a second) only to
find the program ending.
"""

from __future__ import annotations

import gc
import signal
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_held: list[int] = []


def _hold(signum: int, frame: Any) -> None:
    _held.append(signum)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def hold() -> None:
    """Hold SIGINT and SIGTERM until `release` (main thread only; elsewhere nothing changes)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _hold)
        signal.signal(signal.SIGTERM, _hold)


def release() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt from now on; one that came while held raises now."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is _hold:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
    if _held:
        _held.clear()
        raise KeyboardInterrupt


def claude_orchestrator() -> None:
    hold()
    from .main import main

    try:
        main()
    finally:
        gc.freeze()


def task_master() -> None:
    hold()
    from .taskmaster import main

    try:
        main()
    finally:
        gc.freeze()
