"""`claude-orchestrator log TASK`: one task's story in a run, readable: each attempt's transcript (turns,
tool calls with their arguments shortened, results), then what became of it (commit, review verdict, merge,
retries, the outcome and its cost). Read from the run folder: events.ndjson, tasks/<id>/transcript-N.jsonl and
result.json. Both transcript forms are read: Claude Code's messages and our api backend's Messages API turns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..events import (
    Event,
    RunWarning,
    TaskBlocked,
    TaskCommitted,
    TaskCompleted,
    TaskFailed,
    TaskMerged,
    TaskRetry,
    TaskReviewed,
    TaskStarted,
)
from .text import describe_event

WORKTREE = re.compile(r"\S*/\.taskmaster/worktrees/[^/\s]+/[^/\s]+/")  # a worktree's own prefix


def shorten(value: Any, limit: int = 70) -> str:
    """One line: strings quoted with their newlines escaped, worktree paths made relative, long values cut
    with their length said."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = WORKTREE.sub("", text)
    shown = json.dumps(text, ensure_ascii=False)[1:-1] if isinstance(value, str) else text
    if len(shown) <= limit:
        return f'"{shown}"' if isinstance(value, str) else shown
    cut = shown[: limit - 1] + "…"
    return (f'"{cut}"' if isinstance(value, str) else cut) + f" ({len(text)} chars)"


def _call(name: str, args: Any) -> str:
    if isinstance(args, dict):
        inner = ", ".join(f"{k}={shorten(v)}" for k, v in args.items())
    else:
        inner = shorten(args)
    return f"{name}({inner})"


def _result_text(content: Any) -> str:
    if isinstance(content, list):
        content = "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return str(content or "").strip()


def _blocks(obj: dict[str, Any]) -> list[dict[str, Any]]:
    content = obj.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def transcript_lines(path: Path) -> Iterator[str]:
    """The readable lines of one transcript file."""
    turn = 0
    first_user = True
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if not isinstance(obj, dict):
            continue
        kind = obj.get("type") or obj.get("role")
        if kind == "ResultMessage":
            cost = obj.get("total_cost_usd")
            what = "an error" if obj.get("is_error") else "done"
            yield f"  Claude Code ended: {what}, {obj.get('num_turns', '?')} turns, ${float(cost or 0):.2f}"
            continue
        if kind in ("AssistantMessage", "assistant"):
            if obj.get("parent_tool_use_id"):
                continue  # a sub-agent's turn: its tool call is shown
            turn += 1
            yield f"  turn {turn}"
        for b in _blocks(obj):
            if "name" in b and "input" in b:
                yield f"    → {_call(str(b['name']), b['input'])}"
            elif "tool_use_id" in b:
                mark = "✗" if b.get("is_error") else "←"
                yield f"    {mark} {shorten(_result_text(b.get('content')), 100)}"
            elif kind in ("AssistantMessage", "assistant") and b.get("text"):
                yield f"    says: {shorten(str(b['text']), 200)}"
            elif kind == "user" and first_user and b.get("text"):
                yield f"  prompt: {shorten(str(b['text']), 100)}"
        if kind == "user":
            first_user = False


def _transcript(run_path: Path, task_id: str, attempt: int) -> Path | None:
    folder = run_path / "tasks" / task_id.replace("/", "_")
    for name in (f"transcript-{attempt}.jsonl", "transcript.jsonl"):
        if (folder / name).is_file():
            return folder / name
    return None


def _outcome(e: Event) -> str | None:
    match e:
        case TaskCommitted() | TaskMerged() | TaskRetry() | TaskBlocked():
            return describe_event(e).split(" ", 2)[-1]
        case TaskReviewed():
            issues = "".join(f"\n    - {i}" for i in e.issues)
            return f"review: {(e.verdict or '?').upper()}{issues}"
        case TaskCompleted():
            commit = f", commit {e.commit[:12]}" if e.commit else ""
            return f"done: ${float(e.cost_usd or 0):.2f}, {e.turns or 0} turns, {float(e.duration_s or 0):.0f}s{commit}"
        case TaskFailed():
            return f"FAILED after {e.attempts or 1} attempt(s): {e.reason}"
        case RunWarning():
            return f"warning: {e.message}"
    return None


def task_log(run_path: Path, task_id: str, events: list[Event]) -> list[str]:
    """The task's story in the run at `run_path` (its events given in order)."""
    mine = [e for e in events if e.task_id == task_id]
    title = next((e.title for e in mine if isinstance(e, TaskStarted) and e.title), "")
    out = [f"Task {task_id}" + (f": {title}" if title else "") + f"  (run {run_path.name})"]
    if not mine:
        out.append("  no events for this task in this run")
    for e in mine:
        if isinstance(e, TaskStarted):
            out.append(f"attempt {e.attempt} on {e.backend or '?'} (worker {e.worker_id or '?'})")
            path = _transcript(run_path, task_id, e.attempt)
            out.extend(transcript_lines(path) if path is not None else ["  (no transcript)"])
        else:
            line = _outcome(e)
            if line is not None:
                out.append(line)
    return out
