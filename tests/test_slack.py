import logging

import pytest

from claude_orchestrator import events as ev
from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.events import EventBus
from claude_orchestrator.observers.slack import SlackNotifier, message
from claude_orchestrator.observers.snapshot import UsagePanel
from claude_orchestrator.run.gate import UsageGuard
from claude_orchestrator.testing.fake_slack import FakeSlack, block_problems


@pytest.fixture
def slack():
    with FakeSlack() as s:
        yield s


@pytest.fixture
def cfg():
    return OrchestratorConfig()


def all_text(body) -> str:
    parts = [body.get("text", "")]
    for b in body["blocks"]:
        if "text" in b:
            parts.append(b["text"]["text"])
        parts += [el["text"] for el in b.get("elements", [])]
    return "\n".join(parts)


def run_bus(notifier):
    bus = EventBus()
    bus.subscribe(notifier)
    bus.emit(ev.RUN_STARTED, run_id="r1", total=3, ready=2, budget_usd=20)
    bus.emit(ev.TASK_STARTED, run_id="r1", task_id="1", title="Add login form", backend="api", worker_id="w1")
    bus.emit(ev.USAGE, run_id="r1", cost_usd=1.5)
    return bus


def test_completed_failed_and_finished_messages(slack, cfg):
    sleeps: list[float] = []
    with SlackNotifier(cfg, url=slack.url, sleep=sleeps.append) as n:
        bus = run_bus(n)
        bus.emit(ev.TASK_COMPLETED, run_id="r1", task_id="1", cost_usd=0.75, duration_s=65, turns=4,
                 commit="abc1234def", branch="orchestrator/r1/1")  # fmt: skip
        bus.emit(ev.TASK_STARTED, run_id="r1", task_id="2", title="Write tests", worker_id="w1")
        bus.emit(ev.TASK_FAILED, run_id="r1", task_id="2", reason="pytest: 3 failed", attempts=3,
                 blocked_dependents=["3"], branch="orchestrator/r1/2")  # fmt: skip
        bus.emit(
            ev.RUN_FINISHED, run_id="r1", status="failed", done=1, failed=1, cost_usd=2.5, duration_s=300
        )
        assert n.flush(10)
    assert len(slack.posts) == 3 and sleeps == []
    done, failed, finished = (all_text(p) for p in slack.posts)
    assert "Task 1: Add login form done" in done
    assert "completed after 1m 05s in 4 turns" in done
    assert "$0.75 for this task, $1.50 for the run of a $20.00 budget" in done
    assert "branch `orchestrator/r1/1`, commit `abc1234def`" in done
    assert "*Next:* review the commit; 2 task(s) still to run." in done
    assert "Task 2: Write tests failed" in failed and "after 3 attempt(s)" in failed
    assert "*Why:* pytest: 3 failed" in failed and "Blocked dependents: 3." in failed
    assert "tail-events --run r1 --task 2" in failed and "run `r1`" in failed
    assert "Run r1 failed" in finished and "1 done, 1 failed, 1 blocked" in finished and "$2.50" in finished


def test_429_with_retry_after_then_success(slack, cfg):
    slack.fail_next(429, retry_after=2)
    sleeps: list[float] = []
    n = SlackNotifier(cfg, url=slack.url, sleep=sleeps.append, backoff_s=0.5)
    assert n.post(message("hello", ["body"], "ctx")) is True
    assert [status for status, _ in slack.requests] == [429, 200]
    assert sleeps == [2.0]  # Retry-After honoured, not the backoff
    assert slack.posts[0]["blocks"][0]["text"]["text"] == "hello"


def test_500_then_success_backs_off(slack, cfg):
    slack.fail_next(500, times=2)
    sleeps: list[float] = []
    n = SlackNotifier(cfg, url=slack.url, sleep=sleeps.append, backoff_s=0.5)
    assert n.post(message("hi", ["x"], "c")) is True
    assert [s for s, _ in slack.requests] == [500, 500, 200]
    assert sleeps == [0.5, 1.0]


def test_permanent_failure_never_raises_and_never_logs_the_url(slack, cfg, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    slack.fail_always(500)
    sleeps: list[float] = []
    with SlackNotifier(cfg, url=slack.url, sleep=sleeps.append, max_attempts=3) as n:
        bus = run_bus(n)
        bus.emit(ev.TASK_FAILED, run_id="r1", task_id="1", reason="boom")  # must not raise
        assert n.flush(10)
    assert n.dropped == 1 and n.sent == 0
    assert len(slack.requests) == 3 and len(sleeps) == 2
    assert "Slack notification dropped after 3 attempt(s): HTTP 500" in caplog.text
    out = capsys.readouterr()
    secret = slack.path.rsplit("/", 1)[-1]
    for text in (caplog.text, out.out, out.err, repr(n)):
        assert slack.url not in text and secret not in text


def test_unreachable_slack_and_client_errors_are_dropped_quietly(cfg, caplog):
    caplog.set_level(logging.DEBUG)
    with FakeSlack() as s:
        url = s.url
    n = SlackNotifier(cfg, url=url, sleep=lambda _: None, max_attempts=2)
    assert n.post(message("x", ["y"], "z")) is False
    assert "dropped after 2 attempt(s)" in caplog.text and url not in caplog.text
    with FakeSlack() as s:  # a 4xx is not retried
        s.fail_next(403, body="invalid_token")
        n = SlackNotifier(cfg, url=s.url, sleep=lambda _: None)
        assert n.post(message("x", ["y"], "z")) is False
        assert len(s.requests) == 1


def test_messages_stay_within_slack_limits(slack, cfg):
    with SlackNotifier(cfg, url=slack.url) as n:
        bus = run_bus(n)
        bus.emit(ev.TASK_STARTED, run_id="r1", task_id="9", title="T" * 400)
        bus.emit(ev.TASK_FAILED, run_id="r1", task_id="9", reason="E" * 20_000,
                 blocked_dependents=[str(i) for i in range(2000)], branch="b" * 500)  # fmt: skip
        assert n.flush(10)
    assert [s for s, _ in slack.requests] == [200]
    body = slack.posts[0]
    assert block_problems(body) == []
    assert len(body["blocks"][0]["text"]["text"]) == 150
    big = message("h" * 1000, ["s" * 5000] * 100, "c" * 5000)
    assert len(big["blocks"]) <= 50 and block_problems(big) == []
    # the fake itself refuses what Slack would refuse
    assert block_problems({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]})


def test_notify_flags_are_respected(slack, cfg):
    cfg.notifications.notify_on_task_complete = False
    cfg.notifications.notify_on_all_complete = False
    with SlackNotifier(cfg, url=slack.url) as n:
        bus = run_bus(n)
        bus.emit(ev.TASK_COMPLETED, run_id="r1", task_id="1", cost_usd=0.1)
        bus.emit(ev.RUN_FINISHED, run_id="r1", status="completed", done=1)
        bus.emit(ev.TASK_FAILED, run_id="r1", task_id="2", reason="x")
        assert n.flush(10)
    assert len(slack.posts) == 1 and "failed" in slack.posts[0]["blocks"][0]["text"]["text"]


def test_usage_warning_reaches_slack_once_per_crossing(slack, cfg):
    bus = EventBus()
    with SlackNotifier(cfg, url=slack.url) as n:
        bus.subscribe(n)
        guard = UsageGuard(cfg, bus=bus, run_id="r1")
        guard.observe(UsagePanel(cost_usd=8.2, budget_usd=10))
        guard.observe(UsagePanel(cost_usd=8.9, budget_usd=10))
        guard.observe(UsagePanel(cost_usd=9.8, budget_usd=10))
        assert n.flush(10)
    heads = [p["blocks"][0]["text"]["text"] for p in slack.posts]
    assert heads == ["⚠️ Usage warn: budget at 82%", "⚠️ Usage critical: budget at 98%"]
    assert "new work has stopped" in all_text(slack.posts[1])


def test_from_config_reads_the_url_but_never_shows_it(slack, monkeypatch):
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    assert SlackNotifier.from_config(OrchestratorConfig()) is None
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/your_webhook_here")
    assert SlackNotifier.from_config(OrchestratorConfig()) is None  # a placeholder
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
    n = SlackNotifier.from_config(OrchestratorConfig())
    assert n is not None and slack.url not in repr(n)
    assert n.post(message("env", ["ok"], "c")) and len(slack.posts) == 1
