"""Usage ledger: tokens and dollars of every response, per run, task, role and model; budgets.

Thread-safe. Subscribers (the live display, the event log) get each new `UsageRecord` as it is recorded.
Saved with the run as JSON (`save` / `load`); nothing secret is stored.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import BudgetConfig, ModelPrice
from ..errors import BudgetExceededError, ConfigError
from ..files import write_json
from .pricing import Pricing

log = logging.getLogger(__name__)
GROUP_KEYS = ("run_id", "task_id", "role", "model")


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def cache_read_input_tokens(self) -> int:
        return self.cache_read

    @property
    def total_input(self) -> int:
        """Every prompt token: uncached + written + read."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        """From the SDK's Usage object or the API's usage dict (writes without a TTL split count as 5m)."""
        get = usage.get if isinstance(usage, Mapping) else (lambda k, d=None: getattr(usage, k, d))
        created = int(get("cache_creation_input_tokens") or 0)
        split = get("cache_creation")
        sget = split.get if isinstance(split, Mapping) else (lambda k, d=None: getattr(split, k, d))
        w1 = int(sget("ephemeral_1h_input_tokens") or 0) if split is not None else 0
        return cls(
            input_tokens=int(get("input_tokens") or 0),
            output_tokens=int(get("output_tokens") or 0),
            cache_write_5m=max(0, created - w1),
            cache_write_1h=w1,
            cache_read=int(get("cache_read_input_tokens") or 0),
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class UsageRecord:
    role: str
    model: str
    usage: Usage
    cost_usd: float
    run_id: str = ""
    task_id: str | None = None
    request_id: str | None = None
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["usage"] = self.usage.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> UsageRecord:
        return cls(**{**d, "usage": Usage(**d["usage"])})


Subscriber = Callable[[UsageRecord], None]


class Ledger:
    def __init__(
        self,
        run_id: str = "",
        *,
        pricing: Pricing | Mapping[str, ModelPrice] | None = None,
        budgets: BudgetConfig | None = None,
    ) -> None:
        self.run_id = run_id
        self.pricing = pricing if isinstance(pricing, Pricing) else Pricing(pricing)
        self.budgets = budgets or BudgetConfig()
        self._records: list[UsageRecord] = []
        self._subscribers: list[Subscriber] = []
        self._lock = threading.RLock()

    def configure(
        self,
        *,
        pricing: Mapping[str, ModelPrice] | None = None,
        budgets: BudgetConfig | None = None,
        run_id: str | None = None,
    ) -> None:
        """Apply config price overrides and budgets (LLM.from_config calls this)."""
        with self._lock:
            if pricing:
                self.pricing = Pricing({**self.pricing.prices, **pricing})
            if budgets is not None:
                self.budgets = budgets
            if run_id is not None:
                self.run_id = run_id

    # ---- recording ----
    def record(
        self,
        *,
        role: str,
        model: str,
        usage: Usage | Any,
        task_id: str | None = None,
        request_id: str | None = None,
        run_id: str | None = None,
        inference_geo: str | None = None,
    ) -> UsageRecord:
        u = usage if isinstance(usage, Usage) else Usage.from_api(usage)
        rec = UsageRecord(
            role=role,
            model=model,
            usage=u,
            cost_usd=self.pricing.cost_usd(model, u, inference_geo=inference_geo),
            run_id=self.run_id if run_id is None else run_id,
            task_id=task_id,
            request_id=request_id,
        )
        with self._lock:
            self._records.append(rec)
            subscribers = list(self._subscribers)
        for cb in subscribers:
            try:
                cb(rec)
            except Exception:  # a display must never break a model call
                log.exception("usage subscriber %r failed", cb)
        return rec

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(record)` after each record; returns an unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # ---- queries ----
    def records(self, **filters: str | None) -> list[UsageRecord]:
        """Records matching every given filter among run_id, task_id, role, model."""
        bad = set(filters) - set(GROUP_KEYS)
        if bad:
            raise ValueError(f"unknown ledger filter(s): {', '.join(sorted(bad))}")
        with self._lock:
            recs = list(self._records)
        return [r for r in recs if all(getattr(r, k) == v for k, v in filters.items() if v is not None)]

    def usage(self, **filters: str | None) -> Usage:
        total = Usage()
        for r in self.records(**filters):
            total = total + r.usage
        return total

    def cost_usd(self, **filters: str | None) -> float:
        return sum(r.cost_usd for r in self.records(**filters))

    def totals(
        self, by: Iterable[str] = ("role", "model"), **filters: str | None
    ) -> dict[tuple[Any, ...], dict[str, Any]]:
        """{(values of `by`...): {requests, tokens..., cost_usd}} over the matching records."""
        keys = tuple(by)
        if set(keys) - set(GROUP_KEYS):
            raise ValueError(f"totals(by=...) takes fields of {GROUP_KEYS}")
        out: dict[tuple[Any, ...], dict[str, Any]] = {}
        for r in self.records(**filters):
            group = tuple(getattr(r, k) for k in keys)
            t = out.setdefault(group, {"requests": 0, **Usage().to_dict(), "cost_usd": 0.0})
            t["requests"] += 1
            t["cost_usd"] += r.cost_usd
            for k, v in r.usage.to_dict().items():
                t[k] += v
        return out

    # ---- budgets ----
    def ensure_budget(self, task_id: str | None = None, estimate_usd: float = 0.0) -> None:
        """Raise BudgetExceededError if spending `estimate_usd` more would pass the run or task budget."""
        checks = [("run", self.budgets.run_usd, self.cost_usd(run_id=self.run_id or None))]
        if task_id is not None:
            checks.append((f"task {task_id}", self.budgets.task_usd, self.cost_usd(task_id=task_id)))
        for scope, limit, spent in checks:
            if limit is not None and (spent >= limit or spent + estimate_usd > limit):
                raise BudgetExceededError(
                    f"budget: {scope} would exceed ${limit:.2f} (spent ${spent:.4f}, next request ~${estimate_usd:.4f})",
                    scope=scope,
                    limit_usd=limit,
                    spent_usd=spent,
                    estimate_usd=estimate_usd,
                )

    # ---- persistence ----
    def by_role_model(self) -> list[dict[str, Any]]:
        """`totals()` by role and model as rows ({role, model, requests, tokens..., cost_usd})."""
        return [{"role": k[0], "model": k[1], **v} for k, v in self.totals().items()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "cost_usd": self.cost_usd(),
            "usage": self.usage().to_dict(),
            "by_role_model": self.by_role_model(),
            "records": [r.to_dict() for r in self.records()],
        }

    def save(self, path: str | Path) -> Path:
        """Write atomically (a temporary file renamed into place)."""
        target = Path(path)
        write_json(target, self.to_dict(), indent=1, fsync=False)
        return target

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> Ledger:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            ledger = cls(str(data.get("run_id", "")), **kwargs)
            ledger._records = [UsageRecord.from_dict(r) for r in data.get("records", [])]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{path}: not a usage ledger: {e}") from None
        return ledger
