"""LLM: every model call of the orchestrator — streaming, structured output, retries, admission control,
prompt caching, usage ledger and recording. Build it with `LLM.from_config(cfg)`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import anthropic
import httpx2
import pydantic

from ..config import OrchestratorConfig
from ..credentials import API_KEY_VAR, AUTH_TOKEN_VAR, detect_credentials, usable
from ..errors import ConfigError, StructuredOutputError
from .caching import apply_cache_breakpoints
from .ratelimit import RateLimiter
from .record import Recorder
from .retry import RetryPolicy, call_with_retries, describe, retry_after_s
from .structured import InvalidAnswer, parse_answer, repair_prompt, schema_instructions
from .usage import Ledger, Usage

M = TypeVar("M", bound=pydantic.BaseModel)
RetryListener = Callable[[dict[str, Any]], None]


@dataclass
class Response:
    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: Usage
    request_id: str | None
    model: str
    cost_usd: float = 0.0
    attempts: int = 1

    @property
    def text(self) -> str:
        return "".join(b.get("text", "") for b in self.content if b.get("type") == "text")

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [b for b in self.content if b.get("type") == "tool_use"]

    def assistant_message(self) -> dict[str, Any]:
        """This reply as the assistant turn of the next request."""
        return {"role": "assistant", "content": self.content}


def _block_dict(block: Any) -> dict[str, Any]:
    d = block.model_dump(mode="json", exclude_none=True)
    d.pop("parsed_output", None)
    return dict(d)


def _approx_tokens(obj: Any) -> int:
    return len(json.dumps(obj, separators=(",", ":"), default=str)) // 4 + 1


@dataclass
class _Attempt:
    count: int = 0
    headers: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class LLM:
    def __init__(
        self,
        client: anthropic.Anthropic,
        *,
        ledger: Ledger | None = None,
        recorder: Recorder | None = None,
        limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        stream_above: int = 8192,
        prompt_caching: bool = True,
        repair_attempts: int = 2,
        owns_client: bool = True,
    ) -> None:
        self.client = client
        self.ledger = ledger if ledger is not None else Ledger()
        self.recorder = recorder
        self.limiter = limiter if limiter is not None else RateLimiter()
        self.policy = policy or RetryPolicy()
        self.stream_above = stream_above
        self.prompt_caching = prompt_caching
        self.repair_attempts = repair_attempts
        self._retry_listeners: list[RetryListener] = []
        self._lock = threading.Lock()
        self._owns_client = owns_client  # False: `client` is shared and `close` leaves it open

    @classmethod
    def from_config(
        cls,
        cfg: OrchestratorConfig,
        *,
        ledger: Ledger | None = None,
        recorder: Recorder | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        transport: httpx2.BaseTransport | None = None,
        share: LLM | None = None,
    ) -> LLM:
        """Credentials: `api_key`, else the rule of :mod:`claude_orchestrator.credentials` (an API key, a
        token, Bedrock, Vertex); ConfigError when none. `transport` replaces the network (an in-process
        fake: `FakeAnthropic.transport()`). With `share`, its SDK client (connections, TLS set-up: ~0.1 s
        of CPU to make) is used instead of a new one; closing the new LLM leaves it open."""
        if share is not None:
            client = share.client
        else:
            common: dict[str, Any] = {"max_retries": 0, "timeout": cfg.llm.request_timeout}
            http = httpx2.Client(transport=transport) if transport is not None else None
            if http is not None:
                common["http_client"] = http
            try:
                client = _client(api_key, base_url, common)
            except ConfigError:
                if http is not None:
                    http.close()
                raise
        led = ledger if ledger is not None else Ledger()
        led.configure(pricing=cfg.pricing, budgets=cfg.budgets)
        return cls(
            client,
            ledger=led,
            recorder=recorder,
            limiter=RateLimiter(cfg.rate_limits),
            policy=RetryPolicy(max_attempts=cfg.llm.max_attempts, max_total_wait=cfg.llm.max_total_wait),
            stream_above=cfg.llm.stream_above_max_tokens,
            prompt_caching=cfg.llm.prompt_caching,
            repair_attempts=cfg.llm.structured_repair_attempts,
            owns_client=share is None,
        )

    def on_retry(self, listener: RetryListener) -> Callable[[], None]:
        """Call `listener({model, role, task_id, attempt, wait_s, error})` before each retry."""
        with self._lock:
            self._retry_listeners.append(listener)
        return lambda: self._retry_listeners.remove(listener) if listener in self._retry_listeners else None

    # ---- requests ----
    def create(
        self,
        *,
        role: str,
        model: str,
        system: str | list[dict[str, Any]],
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        max_tokens: int,
        task_id: str | None = None,
        effort: str | None = None,
        cache: bool = True,
        output_format: dict[str, Any] | None = None,
    ) -> Response:
        """One model turn. Raises BudgetExceededError before sending, LLMError for a refused request,
        RetriesExhaustedError when transient failures outlive the retry bounds."""
        use_cache = cache and self.prompt_caching
        sys_p, msgs, tls = (
            apply_cache_breakpoints(system, messages, tools) if use_cache else (system, messages, tools)
        )
        body: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": msgs}
        if sys_p:
            body["system"] = sys_p
        if tls:
            body["tools"] = tls
        output_config: dict[str, Any] = {}
        if effort:
            output_config["effort"] = effort
        if output_format:
            output_config["format"] = output_format
        if output_config:
            body["output_config"] = output_config
        estimate = self._estimate_input(system, messages, tools, use_cache)
        price = self.ledger.pricing.price(model)
        self.ledger.ensure_budget(task_id, estimate * price.input / 1_000_000)
        stream = max_tokens > self.stream_above
        att = _Attempt()

        def attempt() -> Any:
            att.count += 1
            return self._send(body, stream, model, estimate, role, task_id)

        def notify(n: int, exc: BaseException, wait_s: float) -> None:
            info = {"model": model, "role": role, "task_id": task_id, "attempt": n, "wait_s": wait_s}
            info["error"] = describe(exc)
            for listener in list(self._retry_listeners):
                listener(info)

        msg = call_with_retries(attempt, self.policy, on_retry=notify)
        usage = Usage.from_api(msg.usage)
        rec = self.ledger.record(
            role=role,
            model=msg.model or model,
            usage=usage,
            task_id=task_id,
            request_id=getattr(msg, "_request_id", None),
            inference_geo=getattr(msg.usage, "inference_geo", None) or None,
        )
        return Response(
            content=[_block_dict(b) for b in msg.content],
            stop_reason=msg.stop_reason,
            usage=usage,
            request_id=rec.request_id,
            model=msg.model or model,
            cost_usd=rec.cost_usd,
            attempts=att.count,
        )

    def _estimate_input(self, system: Any, messages: list[dict[str, Any]], tools: Any, cached: bool) -> int:
        """Tokens the server will likely bill as input: the whole prompt, or with caching only what
        follows the previous user turn (the prefix before it was written by the previous request)."""
        users = [i for i, m in enumerate(messages[:-1]) if m.get("role") == "user"]
        if cached and users and len(messages) >= 3:
            return _approx_tokens(messages[users[-1] + 1 :])
        return _approx_tokens([system, messages, tools])

    def _send(
        self, body: dict[str, Any], stream: bool, model: str, est: int, role: str, task_id: str | None
    ) -> Any:
        ticket = self.limiter.acquire(model, est)
        headers: Any = None
        charged: int | None = None
        out = 0
        t0 = time.monotonic()
        try:
            if stream:
                with self.client.messages.stream(**body) as s:
                    headers = s.response.headers
                    msg = s.get_final_message()
                    if getattr(msg, "_request_id", None) is None:
                        msg._request_id = s.request_id
            else:
                raw = self.client.messages.with_raw_response.create(**body)
                headers = raw.headers
                msg = raw.parse()
            u = msg.usage
            charged = int(u.input_tokens or 0) + int(u.cache_creation_input_tokens or 0)
            out = int(u.output_tokens or 0)
            if self.recorder is not None:
                self.recorder.record(
                    {**body, "stream": stream},
                    response=msg.model_dump(mode="json", exclude_none=True),
                    request_id=getattr(msg, "_request_id", None),
                    elapsed_s=time.monotonic() - t0,
                    role=role,
                    task_id=task_id,
                )
            return msg
        except anthropic.APIError as exc:
            status = getattr(exc, "status_code", 0)
            if isinstance(exc, anthropic.APIStatusError):
                headers = exc.response.headers
                after = retry_after_s(exc)
                if status == 429 and after:
                    self.limiter.pause(model, after)
            if self.recorder is not None:
                body_obj = getattr(exc, "body", None)
                err: dict[str, Any] = body_obj if isinstance(body_obj, dict) else {"message": describe(exc)}
                self.recorder.record(
                    {**body, "stream": stream},
                    status=status,
                    error=err,
                    retry_after=headers.get("retry-after") if headers is not None else None,
                    request_id=getattr(exc, "request_id", None),
                    elapsed_s=time.monotonic() - t0,
                    role=role,
                    task_id=task_id,
                )
            raise
        finally:
            self.limiter.release(
                model, headers, ticket=ticket, input_tokens=est, charged_input=charged, output_tokens=out
            )

    def structured(
        self,
        schema: type[M],
        *,
        role: str,
        model: str,
        system: str,
        prompt: str,
        task_id: str | None = None,
        effort: str | None = None,
        max_tokens: int = 16000,
        native: bool = True,
    ) -> M:
        """An instance of `schema` from the model: structured outputs (output_config.format) when
        `native`, the schema in the system prompt either way; JSON in text, fenced or not, is accepted.
        An invalid answer is sent back with the validation error, up to `repair_attempts` times."""
        fmt = {"type": "json_schema", "schema": anthropic.transform_schema(schema)} if native else None
        system_full = f"{system}\n\n{schema_instructions(schema)}" if system else schema_instructions(schema)
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        problem = ""
        for _ in range(self.repair_attempts + 1):
            resp = self.create(
                role=role,
                model=model,
                system=system_full,
                messages=messages,
                max_tokens=max_tokens,
                task_id=task_id,
                effort=effort,
                output_format=fmt,
            )
            try:
                return parse_answer(schema, resp.text)
            except InvalidAnswer as e:
                problem = str(e)
                if resp.stop_reason == "max_tokens":
                    problem += " (the answer was cut off at max_tokens)"
            text_only = [b for b in resp.content if b.get("type") == "text"] or [
                {"type": "text", "text": "(empty)"}
            ]
            messages = [
                *messages,
                {"role": "assistant", "content": text_only},
                {"role": "user", "content": repair_prompt(problem)},
            ]
        what = getattr(schema, "answer_name", None)  # a name for people; else the schema's own
        head = f"the model gave no valid {what}" if what else f"{schema.__name__}: no valid answer"
        raise StructuredOutputError(
            f"{head} after {self.repair_attempts + 1} attempt(s): {problem}",
            schema=schema.__name__,
            problem=problem,
        )

    def count_tokens(
        self, *, model: str, messages: list[dict[str, Any]], system: Any = None, tools: Any = None
    ) -> int:
        kwargs: dict[str, Any] = {"model": model, "messages": messages}
        if system:
            kwargs["system"] = system
        if tools:
            kwargs["tools"] = tools
        return int(
            call_with_retries(lambda: self.client.messages.count_tokens(**kwargs), self.policy).input_tokens
        )

    def close(self) -> None:
        if self._owns_client:
            self.client.close()


def _client(api_key: str | None, base_url: str | None, common: dict[str, Any]) -> anthropic.Anthropic:
    """The SDK client for `api_key`, else for the source the credential rule picks in os.environ."""
    env = os.environ
    creds = detect_credentials(env)
    url = base_url or creds.base_url
    if usable(api_key) or creds.kind == "api_key":
        key = api_key if usable(api_key) else env[API_KEY_VAR]
        return anthropic.Anthropic(api_key=key, base_url=url, **common)
    if creds.kind == "auth_token":
        return anthropic.Anthropic(auth_token=env[AUTH_TOKEN_VAR], base_url=url, **common)
    try:
        if creds.kind == "bedrock":
            return cast(
                anthropic.Anthropic, anthropic.AnthropicBedrock(aws_region=env.get("AWS_REGION"), **common)
            )
        if creds.kind == "vertex":
            vertex: dict[str, Any] = {
                "region": env.get("CLOUD_ML_REGION"),
                "project_id": env.get("ANTHROPIC_VERTEX_PROJECT_ID"),
            }
            return cast(
                anthropic.Anthropic,
                anthropic.AnthropicVertex(**{k: v for k, v in vertex.items() if v}, **common),
            )
    except ValueError as e:  # e.g. no AWS region
        raise ConfigError(f"{creds.describe()}, but the client cannot be built: {e}") from None
    raise ConfigError(
        "no Anthropic credentials: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) in the environment or .env"
    )
