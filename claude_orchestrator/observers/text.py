"""One readable line per event: used by the live display's event list, the plain printer (CI, pipes),
`tail-events` and Slack. Pure functions; no Rich here so CLI paths stay light."""

from __future__ import annotations

from typing import Any

from .. import events as ev
from ..events import Event


def _num(v: Any, default: float = 0.0) -> float:
    """A float from loosely typed event data (None, strings, garbage give `default`)."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def _int(v: Any) -> int:
    return int(_num(v))


def describe_event(e: Event) -> str:
    """One readable line for an event (used by the display, plain printer and tail-events)."""
    d = e.data
    tid = f"task {e.task_id}" if e.task_id is not None else ""
    k = e.kind
    if k == ev.RUN_STARTED:
        return f"run {e.run_id} started: {_int(d.get('total'))} tasks, {_int(d.get('ready'))} ready"
    if k == ev.RUN_FINISHED:
        cost = f", ${_num(d.get('cost_usd')):.2f}" if d.get("cost_usd") is not None else ""
        return (
            f"run {e.run_id} {d.get('status', 'finished')}: {_int(d.get('done'))} done, "
            f"{_int(d.get('failed'))} failed{cost}, {_num(d.get('duration_s')):.0f}s"
        )
    if k == ev.TASK_COMMITTED:
        return f"{tid} committed {str(d.get('commit') or '')[:12]} on {d.get('branch') or '?'}"
    if k == ev.TASK_REVIEWED:
        issues = d.get("issues") or []
        why = f": {'; '.join(map(str, issues))}" if issues else ""
        fu = d.get("follow_ups") or []
        more = f" (+{len(fu)} follow-up)" if fu else ""
        return f"{tid} review {str(d.get('verdict', '?')).upper()}{why}{more}"
    if k == ev.TASK_MERGED:
        return f"{tid} merged into {d.get('target') or '?'} @ {str(d.get('commit') or '')[:12]}"
    if k == ev.TASK_STARTED:
        att = _int(d.get("attempt") or 1)
        extra = f" (attempt {att})" if att > 1 else ""
        return f"{tid} started on {d.get('backend', '?')}{extra}: {d.get('title', '')}".rstrip(": ")
    if k == ev.TASK_PROGRESS:
        return (
            f"{tid} {d.get('phase', 'working')} (turn {_int(d.get('turns'))}, ${_num(d.get('cost_usd')):.2f})"
        )
    if k == ev.TASK_RETRY:
        return f"{tid} retry {_int(d.get('attempt'))} in {_num(d.get('delay_s')):.0f}s: {d.get('reason', '')}"
    if k == ev.TASK_COMPLETED:
        where = d.get("commit") or d.get("branch") or ""
        where = f" @ {str(where)[:12]}" if where else ""
        return f"{tid} done in {_num(d.get('duration_s')):.0f}s, ${_num(d.get('cost_usd')):.2f}{where}"
    if k == ev.TASK_FAILED:
        blocked = d.get("blocked_dependents") or []
        tail = f"; blocks {', '.join(map(str, blocked))}" if blocked else ""
        return f"{tid} FAILED after {_int(d.get('attempts') or 1)} attempt(s): {d.get('reason', '?')}{tail}"
    if k == ev.TASK_BLOCKED:
        by = d.get("blocked_by")
        by_s = ", ".join(map(str, by)) if isinstance(by, list) else str(by if by is not None else "?")
        return f"{tid} blocked by {by_s}: {d.get('reason', '')}".rstrip(": ")
    if k == ev.USAGE:
        return f"usage: ${_num(d.get('cost_usd')):.2f}, {_int(d.get('tokens_in'))} in / {_int(d.get('tokens_out'))} out"
    if k == ev.RATE_LIMITED:
        util = d.get("utilization")
        pct = f" {100 * _num(util):.0f}%" if util is not None else ""
        return (
            f"rate limit {d.get('status', '')}{pct} ({d.get('rate_limit_type') or d.get('backend') or '?'})"
        )
    if k in (ev.WARNING, ev.LOG):
        prefix = "WARNING: " if k == ev.WARNING else ""
        return f"{prefix}{tid + ': ' if tid else ''}{d.get('message', '')}"
    rest = ", ".join(f"{a}={b}" for a, b in d.items())
    return f"{k} {tid} {rest}".strip()
