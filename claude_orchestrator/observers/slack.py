"""Slack notifications through an incoming webhook (slack_sdk's WebhookClient).

An observer: it posts when a task completes or fails, when the run finishes, and on usage warnings, each
as configured by notifications.notify_on_*. Posting happens on a background thread so a slow Slack never
slows the run; 429 (honouring Retry-After) and 5xx are retried with bounded backoff; a notification that
still fails is logged (never with the URL) and dropped. The webhook URL is never printed, logged or stored.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ..events import Event, RunFinished, RunWarning, TaskCompleted, TaskFailed, TaskStarted
from .snapshot import SnapshotBuilder

log = logging.getLogger(__name__)

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FALLBACK_TEXT = 3000


def clip(s: str, n: int) -> str:
    s = str(s)
    return s if len(s) <= n else s[: max(0, n - 1)] + "…"


def _silent_logger() -> logging.Logger:
    # slack_sdk logs the full URL at DEBUG when its logger's level is NOTSET; give it a mute one
    lg = logging.getLogger("claude_orchestrator.observers.slack.sdk")
    lg.setLevel(logging.CRITICAL + 10)
    lg.propagate = False
    if not lg.handlers:
        lg.addHandler(logging.NullHandler())
    return lg


def _dur(seconds: Any) -> str:
    try:
        s = int(float(seconds))
    except (TypeError, ValueError):
        return "?"
    m, sec = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {sec:02d}s" if m else f"{sec}s"


def message(header: str, sections: list[str], context: str) -> dict[str, Any]:
    """A message body within Slack's limits (blocks, header and section lengths)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(header, MAX_HEADER), "emoji": True}}
    ]
    for s in sections[: MAX_BLOCKS - 2]:
        if s.strip():
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(s, MAX_SECTION)}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(context, MAX_SECTION)}]})
    text = clip(header + "\n" + "\n".join(sections), MAX_FALLBACK_TEXT)
    return {"text": text, "blocks": blocks}


class SlackNotifier:
    """Observer posting run news to Slack. Use `from_config` (None when no webhook is configured)."""

    def __init__(
        self,
        cfg: Any,
        *,
        url: str,
        builder: SnapshotBuilder | None = None,
        max_attempts: int = 4,
        backoff_s: float = 1.0,
        max_delay_s: float = 30.0,
        timeout_s: int = 10,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from slack_sdk.webhook import WebhookClient

        self.cfg = cfg
        self._client = WebhookClient(url, timeout=timeout_s, logger=_silent_logger(), retry_handlers=[])
        self._url = url
        self._own_builder = builder is None
        self.builder = builder or SnapshotBuilder()
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.max_delay_s = max_delay_s
        self._sleep = sleep
        self._titles: dict[str, str] = {}
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.dropped = 0

    @classmethod
    def from_config(cls, cfg: Any, **kwargs: Any) -> SlackNotifier | None:
        url = cfg.slack_webhook_url()
        return cls(cfg, url=url, **kwargs) if url else None

    def __repr__(self) -> str:  # never show the URL
        return f"<SlackNotifier sent={self.sent} dropped={self.dropped}>"

    # -- observing -----------------------------------------------------------------------------
    def __call__(self, e: Event) -> None:
        if self._own_builder:
            self.builder.fold(e)
        match e:
            case TaskStarted(title=t) | TaskCompleted(title=t) | TaskFailed(title=t) if (
                t and e.task_id is not None
            ):
                self._titles[e.task_id] = t
        body = self.build(e)
        if body is not None:
            self._ensure_thread()
            self._queue.put(body)

    def build(self, e: Event) -> dict[str, Any] | None:
        """The message for an event, or None when it is not one we notify about."""
        n = self.cfg.notifications
        match e:
            case TaskCompleted() if n.notify_on_task_complete:
                return self._completed(e)
            case TaskFailed() if n.notify_on_task_failed:
                return self._failed(e)
            case RunFinished() if n.notify_on_all_complete:
                return self._finished(e)
            case RunWarning(source="usage") if n.notify_on_usage_warning:
                return self._usage_warning(e)
        return None

    def _cost_line(self, task_cost: float | None = None) -> str:
        u = self.builder.snapshot().usage
        run = f"${u.cost_usd:.2f} for the run" + (f" of a ${u.budget_usd:.2f} budget" if u.budget_usd else "")
        if task_cost is None:
            return f"*Cost so far:* {run}"
        return f"*Cost so far:* ${task_cost:.2f} for this task, {run}"

    def _name(self, e: Event) -> str:
        title = self._titles.get(str(e.task_id), "")
        return f"Task {e.task_id}" + (f": {title}" if title else "")

    def _context(self, e: Event) -> str:
        return f"claude-orchestrator · run `{e.run_id or '?'}`"

    def _where(self, branch: str | None, commit: str | None) -> str:
        parts = []
        if branch:
            parts.append(f"branch `{clip(branch, 200)}`")
        if commit:
            parts.append(f"commit `{clip(commit, 40)}`")
        return "*Where:* " + (", ".join(parts) if parts else "no commit recorded")

    def _completed(self, e: TaskCompleted) -> dict[str, Any]:
        t = self.builder.snapshot().tasks
        left = t.ready + t.running + t.waiting
        turns = f" in {e.turns} turns" if e.turns else ""
        happened = f"*What happened:* {self._name(e)} completed after {_dur(e.duration_s)}{turns}."
        nxt = "review the commit" + (
            f"; {left} task(s) still to run." if left else "; this was the last task."
        )
        return message(
            f"✅ {self._name(e)} done",
            [happened, self._cost_line(e.cost_usd), self._where(e.branch, e.commit), f"*Next:* {nxt}"],
            self._context(e),
        )

    def _failed(self, e: TaskFailed) -> dict[str, Any]:
        blocked = list(e.blocked_dependents)
        why = f"*Why:* {clip(e.reason or 'no reason given', 1500)}"
        attempts = f" after {e.attempts or 1} attempt(s)"
        happened = f"*What happened:* {self._name(e)} failed{attempts}."
        if blocked:
            happened += f" Blocked dependents: {clip(', '.join(blocked), 500)}."
        nxt = (
            f"*Next:* read `claude-orchestrator tail-events --run {e.run_id} --task {e.task_id}`, fix the cause, "
            f"then set task {e.task_id} back to pending and run again."
        )
        return message(
            f"❌ {self._name(e)} failed",
            [happened, why, self._cost_line(e.cost_usd), self._where(e.branch, e.commit), nxt],
            self._context(e),
        )

    def _finished(self, e: RunFinished) -> dict[str, Any]:
        status = e.status or "finished"
        done, failed = e.done or 0, e.failed or 0
        t = self.builder.snapshot().tasks
        icon = "🏁" if failed == 0 and t.blocked == 0 else "⚠️"
        happened = f"*What happened:* run {status} in {_dur(e.duration_s)}: {done} done, {failed} failed"
        happened += f", {t.blocked} blocked." if t.blocked else "."
        cost = f"*Cost:* ${float(e.cost_usd or self.builder.snapshot().usage.cost_usd):.2f}"
        c = self.builder.snapshot().checks
        if c.verified or c.failed or c.unchecked:
            happened += f"\n*Checks:* {c.verified} verified, {c.failed} failed verification, {c.unchecked} without checks."
        if failed or t.blocked:
            nxt = (
                "*Next:* `claude-orchestrator status` lists the failures and "
                f"`claude-orchestrator tail-events --run {e.run_id}` shows what happened; fix the causes, then "
                "`claude-orchestrator run` again."
            )
        elif status == "stopped":
            nxt = "*Next:* `claude-orchestrator run` resumes the run where it stopped."
        else:
            nxt = "*Next:* nothing: every task is done. `claude-orchestrator status` has the details."
        return message(f"{icon} Run {e.run_id} {status}", [happened, cost, nxt], self._context(e))

    def _usage_warning(self, e: RunWarning) -> dict[str, Any]:
        crit = self.cfg.monitoring.usage_critical_threshold
        level = e.level or "warn"
        nxt = (
            "*Next:* new work has stopped; raise `budgets.run_usd` or wait for the usage window to reset."
            if level == "critical"
            else f"*Next:* new work stops at {crit:.0f}%; raise `budgets.run_usd` or pause the run if needed."
        )
        return message(
            f"⚠️ Usage {level}: {clip(e.metric or 'usage', 40)} at {e.pct or 0:.0f}%",
            [f"*What happened:* {clip(e.message, 1500)}", self._cost_line(), nxt],
            self._context(e),
        )

    # -- delivery ------------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._drain, name="slack-notifier", daemon=True)
            self._thread.start()

    def _drain(self) -> None:
        while True:
            body = self._queue.get()
            try:
                if body is None:
                    return
                self.post(body)
            finally:
                self._queue.task_done()

    def _safe(self, text: str) -> str:
        return text.replace(self._url, "<webhook>") if self._url else text

    def post(self, body: dict[str, Any]) -> bool:
        """Send one message now, retrying 429/5xx/connection errors; True when Slack accepted it."""
        delay = self.backoff_s
        for attempt in range(1, self.max_attempts + 1):
            wait: float | None = None
            try:
                resp = self._client.send_dict(body)
            except Exception as exc:  # network trouble: retry, then give up quietly
                problem = f"{type(exc).__name__}: {self._safe(str(exc))}"
                wait = delay
            else:
                if resp.status_code == 200:
                    self.sent += 1
                    return True
                problem = f"HTTP {resp.status_code} {self._safe(clip(str(resp.body), 200))}"
                if resp.status_code == 429:
                    headers = {k.lower(): v for k, v in (resp.headers or {}).items()}
                    try:
                        wait = float(headers.get("retry-after", delay))
                    except (TypeError, ValueError):
                        wait = delay
                elif resp.status_code >= 500:
                    wait = delay
            if wait is None or attempt == self.max_attempts:
                log.warning("Slack notification dropped after %d attempt(s): %s", attempt, problem)
                self.dropped += 1
                return False
            log.info("Slack notification attempt %d failed (%s); retrying in %.1fs", attempt, problem, wait)
            self._sleep(min(max(0.0, wait), self.max_delay_s))
            delay = min(delay * 2, self.max_delay_s)
        return False  # pragma: no cover - the loop always returns

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued notification has been sent or dropped."""
        q = self._queue
        with q.all_tasks_done:
            return q.all_tasks_done.wait_for(lambda: q.unfinished_tasks == 0, timeout)

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def __enter__(self) -> SlackNotifier:
        return self

    def __exit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
