"""Cost of the observer side: folding events, rendering a frame, the NDJSON log, a Slack post.

python bench/bench_observers.py
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from rich.console import Console

from claude_orchestrator import events as ev
from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.events import Event
from claude_orchestrator.observers.display import render
from claude_orchestrator.observers.eventlog import EventLogWriter, read_events
from claude_orchestrator.observers.slack import SlackNotifier, message
from claude_orchestrator.observers.snapshot import SnapshotBuilder
from claude_orchestrator.testing.fake_slack import FakeSlack


def sample_events(n_tasks: int = 200) -> list[Event]:
    out = [
        Event(ev.RUN_STARTED, "r", data={"total": n_tasks, "ready": n_tasks, "workers": 8, "budget_usd": 50})
    ]
    for i in range(n_tasks):
        tid = str(i)
        out.append(
            Event(
                ev.TASK_STARTED,
                "r",
                tid,
                {"title": f"task {i} " * 5, "backend": "api", "worker_id": f"w{i % 8}"},
            )
        )
        for turn in range(1, 6):
            out.append(
                Event(
                    ev.TASK_PROGRESS, "r", tid, {"phase": "editing", "turns": turn, "cost_usd": 0.01 * turn}
                )
            )
        out.append(Event(ev.USAGE, "r", None, {"tokens_in": 1000 * i, "cost_usd": 0.05 * i}))
        out.append(Event(ev.TASK_COMPLETED, "r", tid, {"cost_usd": 0.05, "duration_s": 30, "commit": "abc"}))
    return out


def timed(fn, repeat: int = 1) -> float:
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def main() -> None:
    evs = sample_events()
    b = SnapshotBuilder()
    dt = timed(lambda: [b.fold(e) for e in evs])
    print(f"fold: {len(evs) / dt:,.0f} events/s ({len(evs)} events)")

    b = SnapshotBuilder()
    for e in evs[: len(evs) // 2]:
        b.fold(e)
    for w in range(8):  # mid-run: 8 workers busy
        b.fold(
            Event(
                ev.TASK_STARTED, "r", f"x{w}", {"title": "busy " * 20, "backend": "api", "worker_id": f"w{w}"}
            )
        )
    assert len(b.snapshot().workers) == 8
    print(f"snapshot: {timed(b.snapshot, 2000) * 1e6:.0f} µs")
    for width in (80, 200):
        con = Console(width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor")
        frame = timed(lambda con=con, width=width: con.print(render(b.snapshot(), width)), 200)
        print(f"render+print frame at {width} cols: {frame * 1e3:.2f} ms")

    with tempfile.TemporaryDirectory() as d:
        with EventLogWriter(Path(d)) as w:
            dt = timed(lambda: [w(e) for e in evs])
        print(f"event log write (flush per line): {len(evs) / dt:,.0f} events/s")
        dt = timed(lambda: list(read_events(Path(d))))
        print(f"event log read: {len(evs) / dt:,.0f} events/s")

    with FakeSlack() as slack:
        n = SlackNotifier(OrchestratorConfig(), url=slack.url)
        body = message("bench", ["x" * 500], "ctx")
        dt = timed(lambda: n.post(body), 50)
        print(f"slack post to the loopback fake: {dt * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
