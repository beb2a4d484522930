"""The admission gate answers hold_reason() from its sources — the ledger, the latest Claude Code usage-window
notice, the pause-until of a rejection, refusals — and stops new work when waiting cannot help."""

from __future__ import annotations

from typing import Any

import pytest

from claude_orchestrator.config import BudgetConfig, ModelPrice, OrchestratorConfig
from claude_orchestrator.events import EventBus, RateLimited, RunEvent, RunWarning
from claude_orchestrator.llm import Ledger
from claude_orchestrator.run.gate import AdmissionGate
from claude_orchestrator.workers.claude_code import RateLimitNotice

PRICE = {"m": ModelPrice(input=1.0, output=1.0, cache_write_5m=1.0, cache_write_1h=1.0, cache_read=1.0)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(budget: float | None = 10.0) -> tuple[AdmissionGate, Ledger, list[RunEvent], list[float], Clock]:
    cfg = OrchestratorConfig()
    bus = EventBus()
    seen: list[Any] = []
    bus.subscribe(seen.append)
    ledger = Ledger("r1", pricing=PRICE, budgets=BudgetConfig(run_usd=budget))
    clock = Clock()
    gate = AdmissionGate(cfg, ledger, bus=bus, budget_usd=budget, clock=clock)
    stops: list[float] = []
    gate.attach(stops.append, "r1")
    return gate, ledger, seen, stops, clock


def spend(ledger: Ledger, usd: float) -> None:
    ledger.record(role="worker", model="m", usage={"input_tokens": int(usd * 1_000_000), "output_tokens": 0})


def warnings(seen: list[Any]) -> list[str]:
    return [e.message for e in seen if isinstance(e, RunWarning)]


def test_the_ledger_feeds_the_gate_warn_then_stop():
    gate, ledger, seen, stops, _ = make(budget=10.0)
    assert gate.hold_reason() is None
    spend(ledger, 8.1)
    assert ledger.cost_usd() == pytest.approx(8.1)
    assert gate.hold_reason() is None  # past the warning threshold: a warning, work goes on
    assert warnings(seen) == ["budget at 81% ($8.10 of $10.00); consider pausing or raising the budget"]
    spend(ledger, 1.5)
    assert gate.hold_reason() == "usage past the critical threshold"
    assert gate.hold_reason() == "usage past the critical threshold"
    assert stops == [OrchestratorConfig().execution.worker_timeout]  # stopped once: budgets do not refill
    assert warnings(seen)[1:] == [
        "budget at 96% ($9.60 of $10.00); stopping new work",
        "no new work: usage past the critical threshold",
    ]


def test_a_spent_budget_stops_new_work():
    gate, ledger, seen, stops, _ = make(budget=10.0)
    spend(ledger, 10.0)
    reason = gate.hold_reason()
    assert reason is not None and reason.startswith("budget: run would exceed $10.00") and len(stops) == 1


def test_the_latest_usage_window_notice_feeds_the_gate():
    gate, _, seen, stops, _ = make(budget=None)
    gate.note_rate_info(
        RateLimitNotice("allowed_warning", resets_at=2000.0, rate_limit_type="five_hour", utilization=0.5)
    )
    assert gate.hold_reason() is None and gate.reading().usage_window_pct == 50.0
    published = [e for e in seen if isinstance(e, RateLimited)]
    assert published[0].usage_window_pct == 50.0 and published[0].run_id == "r1"  # for the display
    gate.note_rate_info(
        RateLimitNotice("allowed_warning", resets_at=2000.0, rate_limit_type="five_hour", utilization=0.97)
    )
    assert gate.hold_reason() == "usage past the critical threshold" and len(stops) == 1
    assert "usage window at 97%" in warnings(seen)[0]


def test_a_rejection_pauses_until_its_reset_then_work_resumes():
    gate, _, seen, stops, clock = make()
    gate.note_rate_limit(clock.now + 60, "five_hour")
    reason = gate.hold_reason()
    assert reason is not None and reason.startswith("Claude Code usage limit (five_hour) until ")
    assert warnings(seen) == [f"pausing new work: {reason}"]
    clock.now += 61
    assert gate.hold_reason() is None and stops == []  # a pause is not a stop


def test_a_refusal_stops_the_run_once_and_holds_work():
    gate, _, seen, stops, _ = make()
    gate.refuse("the API refused the credentials (401): invalid x-api-key")
    gate.refuse("the API refused the credentials (401): invalid x-api-key")  # from another worker
    assert gate.hold_reason() == "the API refused the credentials (401): invalid x-api-key"
    assert warnings(seen) == ["stopping the run: the API refused the credentials (401): invalid x-api-key"]
    assert stops == [5.0, 5.0] and gate.refusals == [
        "the API refused the credentials (401): invalid x-api-key"
    ]
