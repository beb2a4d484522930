"""Pricing formula, the usage ledger (totals, subscribers, persistence) and budgets."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from claude_orchestrator.config import BudgetConfig, ModelPrice
from claude_orchestrator.errors import BudgetExceededError, ConfigError
from claude_orchestrator.llm import Ledger, Pricing, Usage, cost_usd

CHECK = {
    "input_tokens": 11,
    "output_tokens": 7,
    "cache_creation_input_tokens": 5,
    "cache_read_input_tokens": 3,
}


def test_cost_formula_reproduces_the_cli_check() -> None:
    bin_price = ModelPrice(input=2, output=10, cache_write_5m=2.5, cache_write_1h=4, cache_read=0.10)
    assert cost_usd("claude-sonnet-5-5", CHECK, price=bin_price) == pytest.approx(0.0001048, abs=1e-12)
    # the default table uses the docs' $0.20 cache read for Sonnet 5.5
    assert cost_usd("claude-sonnet-5-5", CHECK) == pytest.approx(0.0001051, abs=1e-12)
    assert cost_usd("claude-sonnet-5-5", Usage.from_api(CHECK), price=bin_price) == pytest.approx(0.0001048)


def test_1h_writes_geo_and_model_resolution() -> None:
    usage = {
        "cache_creation_input_tokens": 1_000_000,
        "cache_creation": {"ephemeral_1h_input_tokens": 1_000_000},
    }
    assert cost_usd("claude-opus-5-5", usage) == pytest.approx(8.0)
    assert cost_usd("claude-opus-5-5", Usage(cache_write_1h=1_000_000)) == pytest.approx(8.0)
    assert cost_usd("claude-opus-5-5", Usage.from_api(usage)) == pytest.approx(8.0)
    p = Pricing()
    assert p.cost_usd("claude-opus-5-5", {"input_tokens": 1_000_000}, inference_geo="us") == pytest.approx(
        4.4
    )
    assert p.price("claude-sonnet-5-5-20260929").input == 2  # dated id
    assert p.price("anthropic.claude-opus-5-5").input == 4  # Bedrock id
    assert p.price("claude-haiku-5-5", prompt_tokens=150_000).input == 0.5  # long-prompt tier
    assert p.price("claude-3-haiku-legacy").input == 0.10  # family default
    with pytest.raises(ConfigError, match="no price for model 'gpt-9'"):
        p.price("gpt-9")
    custom = Pricing(
        {"my-model": ModelPrice(input=1, output=1, cache_write_5m=1, cache_write_1h=1, cache_read=1)}
    )
    assert custom.cost_usd("my-model", {"input_tokens": 10**6, "output_tokens": 10**6}) == pytest.approx(2.0)


def test_ledger_totals_filters_subscribers_and_threads() -> None:
    ledger = Ledger(run_id="run-1")
    got: list[str] = []
    unsubscribe = ledger.subscribe(lambda rec: got.append(rec.role))
    ledger.subscribe(lambda rec: 1 / 0)  # a broken subscriber never breaks recording

    def work(role: str, model: str, task: str) -> None:
        for _ in range(50):
            ledger.record(role=role, model=model, usage=CHECK, task_id=task)

    threads = [
        threading.Thread(target=work, args=a)
        for a in (
            ("manager", "claude-opus-5-5", "1"),
            ("worker", "claude-sonnet-5-5", "2"),
            ("worker", "claude-sonnet-5-5", "3"),
        )
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 150
    totals = ledger.totals()
    assert totals[("worker", "claude-sonnet-5-5")]["requests"] == 100
    assert totals[("worker", "claude-sonnet-5-5")]["input_tokens"] == 1100
    assert ledger.cost_usd(task_id="2") == pytest.approx(50 * 0.0001051)
    assert ledger.cost_usd() == pytest.approx(sum(v["cost_usd"] for v in totals.values()))
    assert ledger.usage(role="manager").cache_write_5m == 250
    unsubscribe()
    ledger.record(role="worker", model="claude-sonnet-5-5", usage=CHECK)
    assert len(got) == 150
    with pytest.raises(ValueError):
        ledger.records(colour="red")


def test_ledger_save_and_load(tmp_path: Path) -> None:
    ledger = Ledger(run_id="r")
    ledger.record(role="worker", model="claude-sonnet-5-5", usage=CHECK, task_id="4", request_id="req_1")
    path = ledger.save(tmp_path / "run" / "usage.json")
    data = json.loads(path.read_text())
    assert data["run_id"] == "r" and data["records"][0]["usage"]["cache_write_5m"] == 5
    assert data["by_role_model"][0]["role"] == "worker"
    again = Ledger.load(path)
    assert again.records() == ledger.records() and again.cost_usd() == ledger.cost_usd()
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ConfigError):
        Ledger.load(tmp_path / "bad.json")


def test_budgets() -> None:
    ledger = Ledger(budgets=BudgetConfig(run_usd=0.001, task_usd=0.0003))
    ledger.ensure_budget("a", estimate_usd=0.0002)
    ledger.record(role="worker", model="claude-sonnet-5-5", usage=CHECK, task_id="a")
    ledger.record(role="worker", model="claude-sonnet-5-5", usage=CHECK, task_id="a")
    with pytest.raises(BudgetExceededError, match=r"task a would exceed \$0.00"):
        ledger.ensure_budget("a", estimate_usd=0.0001)
    ledger.ensure_budget("b", estimate_usd=0.0002)
    with pytest.raises(BudgetExceededError, match="run would exceed"):
        ledger.ensure_budget("b", estimate_usd=0.0009)
    assert Usage(1, 2, 3, 4, 5) + Usage(1, 1, 1, 1, 1) == Usage(2, 3, 4, 5, 6)
    assert Usage(1, 2, 3, 4, 5).total_input == 13
