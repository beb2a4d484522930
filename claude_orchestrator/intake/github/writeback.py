"""Write-back: when a task imported from a GitHub issue with `--write-back` is done in a run, one comment
on its issue (commit, cost, review verdict) and, with `--close`, the issue closed.

An observer on the run's event bus: it only notes what the run reports (reviews, completions) and queues
the comment; a thread of its own talks to GitHub, so a slow API never holds the run up, and the run's
decisions never depend on it. What was posted is kept in `.taskmaster/intake/github-writeback.json`, so a
resumed run never comments twice.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import events as ev
from ...errors import OrchestratorError
from ...files import write_json
from ...taskmaster.model import Subtask, TagData, Task
from ..merge import source_key

log = logging.getLogger(__name__)

LEDGER = Path("intake") / "github-writeback.json"  # under .taskmaster/


@dataclass(frozen=True)
class Target:
    key: str  # owner/repo#N
    mode: str  # comment | close

    @property
    def path(self) -> str:
        repo, number = self.key.rsplit("#", 1)
        return f"/repos/{repo}/issues/{number}"


def write_back_targets(tag: TagData) -> dict[str, Target]:
    """Task id ("3", "3.1") -> its issue, for tasks imported from GitHub with write-back on."""
    out: dict[str, Target] = {}
    units: list[Task | Subtask] = []
    for t in tag.tasks:
        units += [t, *t.subtasks]
    for unit in units:
        key = source_key(unit.extra)
        src = unit.extra["metadata"]["source"] if key else {}
        if key and key[0] == "github" and src.get("writeBack") in ("comment", "close"):
            out[unit.uid] = Target(key[2], src["writeBack"])
    return out


def comment_text(task_id: str, e: ev.TaskCompleted, verdict: str | None) -> str:
    lines = [f"Task {task_id} is done (claude-orchestrator run `{e.run_id}`).", ""]
    if e.subtasks:
        lines.append(f"- Subtasks done: {', '.join(e.subtasks)}")
    if e.commit:
        lines.append(f"- Commit: `{e.commit[:12]}`" + (f" on `{e.branch}`" if e.branch else ""))
    if e.cost_usd is not None:
        lines.append(f"- Cost: ${e.cost_usd:.4f}")
    lines.append(f"- Review: {verdict or 'not reviewed'}")
    return "\n".join(lines)


class WriteBack:
    """Subscribe an instance to a run's bus; `close()` waits (bounded) for the queued posts."""

    def __init__(self, gh: Any, targets: dict[str, Target], ledger: Path) -> None:
        self.gh, self.targets, self.ledger_path = gh, targets, ledger
        self.verdicts: dict[str, str] = {}
        self.notices: list[str] = []
        self.posted: list[str] = []  # issue keys commented on by this instance
        self._queue: queue.Queue[tuple[str, ev.TaskCompleted] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="github-write-back", daemon=True)
        self._thread.start()

    def __call__(self, event: ev.Event) -> None:
        tid = getattr(event, "task_id", None)
        if tid not in self.targets:
            return
        if isinstance(event, ev.TaskReviewed):
            self.verdicts[tid] = event.verdict
        elif isinstance(event, ev.TaskCompleted):
            self._queue.put((tid, event))

    def _ledger(self) -> dict[str, Any]:
        try:
            data = json.loads(self.ledger_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            tid, event = job
            target = self.targets[tid]
            try:
                self._post(tid, target, event)
            except OrchestratorError as e:
                self.notices.append(f"write-back to {target.key} failed: {e}")
            except Exception as e:  # never let the poster die silently
                log.exception("write-back to %s failed", target.key)
                self.notices.append(f"write-back to {target.key} failed: {type(e).__name__}")

    def _post(self, tid: str, target: Target, event: ev.TaskCompleted) -> None:
        ledger = self._ledger()
        entry = dict(ledger.get(target.key) or {})
        if not entry.get("comment_id"):
            body = comment_text(tid, event, self.verdicts.get(tid))
            comment = self.gh.post(f"{target.path}/comments", {"body": body})
            entry.update(comment_id=comment.get("id"), task_id=tid, run_id=event.run_id)
            ledger[target.key] = entry
            write_json(self.ledger_path, ledger)
            self.posted.append(target.key)
        if target.mode == "close" and not entry.get("closed"):
            self.gh.patch(target.path, {"state": "closed", "state_reason": "completed"})
            entry["closed"] = True
            ledger[target.key] = entry
            write_json(self.ledger_path, ledger)

    def close(self, timeout: float = 60.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.notices.append("write-back to GitHub did not finish in time; some issues were not updated")


@contextmanager
def github_write_back(
    bus: Any, tm_dir: Path, tag: TagData, *, enabled: bool = True
) -> Iterator[WriteBack | None]:
    """While the block runs, comment on (and close) the issues of tasks imported with --write-back as
    they finish. Nothing to do -> None; write-back asked for but no token -> InputError before the run."""
    targets = write_back_targets(tag) if enabled else {}
    if not targets:
        yield None
        return
    from .client import GitHub

    gh = GitHub()
    wb = WriteBack(gh, targets, tm_dir / LEDGER)
    unsubscribe = bus.subscribe(wb)
    try:
        yield wb
    finally:
        unsubscribe()
        wb.close()
        gh.close()
