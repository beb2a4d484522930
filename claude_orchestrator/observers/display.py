"""Rich live view of a run. `render(snapshot)` is a pure function; `LiveDisplay` refreshes it a few times
a second and routes logging through the same console; `PlainEventPrinter` prints one line per event when
stdout is not a terminal. The display only observes: it never drives work."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from types import TracebackType
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..events import EventBus
from .snapshot import RunSnapshot, SnapshotBuilder, UsagePanel, WorkerRow
from .text import PlainEventPrinter

log = logging.getLogger(__name__)


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:  # None, NaN, negative
        return "--:--"
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def fmt_tokens(n: float) -> str:
    n = max(0.0, float(n))
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.1f}{unit}"
    return str(int(n))


def _level_style(pct: float | None, warn: float, crit: float) -> str:
    if pct is None:
        return ""
    if pct >= crit:
        return "bold red"
    if pct >= warn:
        return "bold yellow"
    return ""


def _line(*parts: tuple[str, str] | str) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    for p in parts:
        if isinstance(p, tuple):
            t.append(p[0], style=p[1])
        else:
            t.append(p)
    return t


def _header(s: RunSnapshot, width: int) -> Text:
    eta = f"~{fmt_duration(s.eta_seconds)}" if s.eta_seconds is not None else "?"
    status_style = "green" if s.status in ("running", "done", "completed") else "bold red"
    status, hint = s.status, ""
    if s.status == "stopped":
        status_style = "bold yellow"
    left = s.stop_left
    if left is not None:
        status_style = "bold yellow"
        status = f"stopping ({left:.0f}s left)" if left >= 0.5 else "stopping now"
        hint = " Ctrl-C again stops now" if left >= 0.5 else ""
    head: list[tuple[str, str] | str] = [
        ("claude-orchestrator " if width >= 100 else "", "bold cyan"),
        (f"run {s.run_id or '?'} ", "bold"),
        (status, status_style),
    ]
    if hint:
        return _line(*head, (f" -{hint}", "yellow"), f"  elapsed {fmt_duration(s.elapsed)}")
    if s.finished_at is not None:
        return _line(*head, f"  took {fmt_duration(s.elapsed)}")
    return _line(
        *head,
        f"  elapsed {fmt_duration(s.elapsed)}  ETA {eta}",
        (f" ({s.critical_path_remaining} on {'critical' if width >= 100 else 'crit.'} path)", "dim"),
    )


def _progress(s: RunSnapshot, width: int) -> Table:
    t = s.tasks
    total = max(t.total, 0)
    pct = 100.0 * t.finished / total if total else 100.0
    label = f" {t.finished}/{total} finished ({pct:.0f}%)"
    grid = Table.grid(expand=True)
    grid.add_column(ratio=1)
    grid.add_column(no_wrap=True, width=len(label))
    bar_w = max(5, width - len(label) - 1)
    bar = ProgressBar(total=float(total or 1), completed=float(t.finished if total else 1), width=bar_w)
    grid.add_row(bar, Text(label, no_wrap=True))
    return grid


def _counts(s: RunSnapshot) -> Text:
    t = s.tasks
    return _line(
        ("ready ", "dim"),
        (str(t.ready), "cyan"),
        ("  running ", "dim"),
        (str(t.running), "blue"),
        ("  waiting ", "dim"),
        str(t.waiting),
        ("  blocked ", "dim"),
        (str(t.blocked), "magenta" if t.blocked else ""),
        ("  done ", "dim"),
        (str(t.done), "green"),
        ("  failed ", "dim"),
        (str(t.failed), "bold red" if t.failed else ""),
        ("  retries ", "dim"),
        (str(s.retries), "yellow" if s.retries else ""),
        *_check_parts(s),
    )


def _check_parts(s: RunSnapshot) -> list[tuple[str, str]]:
    c = s.checks
    if not (c.verified or c.failed or c.unchecked):
        return []
    return [
        ("  verified ", "dim"),
        (str(c.verified), "green" if c.verified else ""),
        ("  checks failed ", "dim"),
        (str(c.failed), "bold red" if c.failed else ""),
        ("  no checks ", "dim"),
        (str(c.unchecked), ""),
    ]


def _workers(s: RunSnapshot, width: int) -> RenderableType:
    if not s.workers:
        return Text("no workers running", style="dim", no_wrap=True)
    wide = width >= 100
    table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, show_edge=False)
    table.add_column("task", ratio=1, no_wrap=True, overflow="ellipsis", min_width=8)
    if wide:
        nodes = any(w.node for w in s.workers)
        table.add_column("backend", no_wrap=True, overflow="ellipsis", max_width=32 if nodes else 12)
    table.add_column("phase", no_wrap=True, overflow="ellipsis", max_width=22 if wide else 12)
    table.add_column("turn", justify="right", no_wrap=True)
    table.add_column("tok in/out", justify="right", no_wrap=True)
    table.add_column("$", justify="right", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    for w in s.workers:
        table.add_row(*_worker_cells(w, s.now, wide))
    return table


def _worker_cells(w: WorkerRow, now: float, wide: bool) -> list[str]:
    title = " ".join(str(w.title).split())  # no newlines or tabs in a row
    task = f"{w.task_id} {title}".strip()
    if w.attempt > 1:
        task += f" (try {w.attempt})"
    cells = [task]
    if wide:
        cells.append(f"{w.backend or '-'} @ {w.node}" if w.node else w.backend or "-")
    elapsed = now - w.started_at if w.started_at else None
    cells += [
        w.phase_text(now, short=not wide),
        str(w.turns),
        f"{fmt_tokens(w.tokens_in)}/{fmt_tokens(w.tokens_out)}",
        f"{w.cost_usd:.2f}",
        fmt_duration(elapsed),
    ]
    return cells


def _usage(u: UsagePanel, warn: float, crit: float) -> Panel:
    lines: list[Text] = [
        _line(
            ("tokens ", "dim"),
            f"{fmt_tokens(u.tokens_in)} in / {fmt_tokens(u.tokens_out)} out",
            ("  cache ", "dim"),
            f"{fmt_tokens(u.cache_read)} read / {fmt_tokens(u.cache_write)} write",
        )
    ]
    bpct = u.budget_pct
    if u.budget_usd:
        lines.append(
            _line(
                ("cost ", "dim"),
                (f"${u.cost_usd:.2f} of ${u.budget_usd:.2f} ({bpct:.0f}%)", _level_style(bpct, warn, crit)),
            )
        )
    else:
        lines.append(_line(("cost ", "dim"), f"${u.cost_usd:.2f}", ("  (no budget set)", "dim")))
    extra: list[tuple[str, str] | str] = []
    if u.ratelimit_headroom is not None:
        free = 100.0 * u.ratelimit_headroom
        extra += [("rate-limit headroom ", "dim"), (f"{free:.0f}%", _level_style(100 - free, warn, crit))]
    if u.usage_window_pct is not None:
        w = u.usage_window_pct
        extra += [("  Claude Code window ", "dim"), (f"{w:.0f}% used", _level_style(w, warn, crit))]
    if extra:
        lines.append(_line(*extra))
    style = _level_style(u.peak_pct, warn, crit)
    title = "usage" + (" - WARNING" if style == "bold yellow" else " - CRITICAL" if style else "")
    return Panel(Group(*lines), title=title, title_align="left", border_style=style or "dim", box=box.ROUNDED)


def render(
    snapshot: RunSnapshot, width: int = 80, *, warn_pct: float = 80.0, critical_pct: float = 95.0
) -> RenderableType:
    """The whole live view for one snapshot. Never raises: a broken snapshot renders as a note."""
    try:
        s = snapshot
        recent = [Text(" ".join(line.split()), no_wrap=True, overflow="ellipsis") for line in s.recent_events]
        parts: list[RenderableType] = [
            _header(s, width),
            _progress(s, width),
            _counts(s),
            _workers(s, width),
            _usage(s.usage, warn_pct, critical_pct),
        ]
        if recent:
            parts.append(Panel(Group(*recent), title="events", title_align="left", border_style="dim"))
        return Group(*parts)
    except Exception as e:  # the display must never take the run down
        log.debug("render failed", exc_info=True)
        return Text(f"(display unavailable: {type(e).__name__})", style="dim")


class LiveDisplay:
    """Refreshes a rich.live.Live from `builder.snapshot()`; a context manager. While active, log records
    go through a RichHandler on the same console so they print above the live view."""

    def __init__(
        self,
        console: Console,
        builder: SnapshotBuilder,
        *,
        cfg: Any = None,
        refresh_per_second: float = 4.0,
        log_level: int = logging.INFO,
    ) -> None:
        self.console = console
        self.builder = builder
        mon = getattr(cfg, "monitoring", None)
        self.warn = float(getattr(mon, "usage_warning_threshold", 80.0))
        self.crit = float(getattr(mon, "usage_critical_threshold", 95.0))
        self._live = Live(
            console=console,
            get_renderable=self.renderable,
            refresh_per_second=refresh_per_second,
            transient=False,
        )
        self._log_level = log_level
        self._handler: logging.Handler | None = None
        self._removed: list[logging.Handler] = []

    def renderable(self) -> RenderableType:
        return render(self.builder.snapshot(), self.console.width, warn_pct=self.warn, critical_pct=self.crit)

    def __enter__(self) -> LiveDisplay:
        from rich.logging import RichHandler

        root = logging.getLogger()
        # terminal handlers would scribble over the live view; park them while it is up
        self._removed = [
            h
            for h in root.handlers
            if type(h) is logging.StreamHandler and getattr(h, "stream", None) in (sys.stderr, sys.stdout)
        ]
        for h in self._removed:
            root.removeHandler(h)
        self._handler = RichHandler(console=self.console, level=self._log_level, show_path=False)
        root.addHandler(self._handler)
        self._live.start(refresh=True)
        return self

    def __exit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._live.stop()
        finally:
            root = logging.getLogger()
            if self._handler is not None:
                root.removeHandler(self._handler)
                self._handler = None
            for h in self._removed:
                root.addHandler(h)
            self._removed = []

    def refresh(self) -> None:
        self._live.refresh()


@contextlib.contextmanager
def open_display(
    bus: EventBus,
    cfg: Any = None,
    *,
    console: Console | None = None,
    builder: SnapshotBuilder | None = None,
    no_progress: bool = False,
) -> Iterator[SnapshotBuilder]:
    """Attach the right observer for this terminal: the live view when stdout is a terminal and
    monitoring.show_progress_bar is on (and not --no-progress), else plain lines. Yields the builder."""
    console = console or Console()
    own = builder is None
    b = builder or SnapshotBuilder()
    unsub_b = bus.subscribe(b) if own else None
    show = bool(getattr(getattr(cfg, "monitoring", None), "show_progress_bar", True)) and not no_progress
    try:
        if show and console.is_terminal:
            with LiveDisplay(console, b, cfg=cfg):
                yield b
        else:
            unsub = bus.subscribe(PlainEventPrinter(console.file))
            try:
                yield b
            finally:
                unsub()
    finally:
        if unsub_b is not None:
            unsub_b()
