"""The Claude Code backend: the real CLI driven through claude_agent_sdk.query().

The async query runs in the worker's thread (``asyncio.run``). Credentials reach the CLI through its
environment, never argv, and other secrets are blanked (credentials.claude_code_env). Every process the CLI
starts carries the marker variable of the process package, so a timeout or a cancel kills the whole tree (the CLI and
anything its Bash tool left running), not just the CLI.
Files changed are determined by the engine from git, not here.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import IO, Any, cast

from ..config import OrchestratorConfig
from ..credentials import claude_code_env
from ..environment import find_claude_cli
from ..errors import OrchestratorError
from ..events import TaskProgress, TaskSession
from ..llm.pricing import Pricing
from ..process import MARKER_VAR, kill_tree, signal_pids, tree_pids
from .base import WorkContext, WorkResult, WorkUnit
from .claude_launch import Launch, claude_code_sandbox, launch, own_session, prefix_key
from .prompting import build_resume_prompt, build_worker_prompt
from .stagger import StartStagger

DEFAULT_PAUSE_S = 300.0  # pause when a rejection names no reset time
STDERR_LINES = 40

RateLimitCallback = Callable[[float, str], None]


# --- rate_limit_event ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimitNotice:
    """A subscription rate-limit state change reported by Claude Code (reference §8)."""

    status: str  # allowed | allowed_warning | rejected
    resets_at: float | None
    rate_limit_type: str | None
    utilization: float | None = None

    @property
    def rejected(self) -> bool:
        return self.status == "rejected"


def _num(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def parse_rate_limit(obj: Any) -> RateLimitNotice | None:
    """A RateLimitEvent of the SDK, or a raw stream-json ``rate_limit_event`` dict; None for anything else."""
    if isinstance(obj, Mapping):
        if obj.get("type") != "rate_limit_event" or not isinstance(obj.get("rate_limit_info"), Mapping):
            return None
        info = obj["rate_limit_info"]
        status = info.get("status")
        if not isinstance(status, str):
            return None
        rtype = info.get("rateLimitType")
        return RateLimitNotice(
            status=status,
            resets_at=_num(info.get("resetsAt")),
            rate_limit_type=rtype if isinstance(rtype, str) else None,
            utilization=_num(info.get("utilization")),
        )
    info = getattr(obj, "rate_limit_info", None)
    status = getattr(info, "status", None)
    if not isinstance(status, str):
        return None
    return RateLimitNotice(
        status=status,
        resets_at=_num(getattr(info, "resets_at", None)),
        rate_limit_type=getattr(info, "rate_limit_type", None),
        utilization=_num(getattr(info, "utilization", None)),
    )


# --- one run's state -----------------------------------------------------------------------------


def _jsonable(msg: Any) -> dict[str, Any]:
    data = asdict(msg) if is_dataclass(msg) and not isinstance(msg, type) else {"value": repr(msg)}
    return {"type": type(msg).__name__, **data}


@dataclass
class _Run:
    ctx: WorkContext
    transcript: IO[str] | None = None
    usage_by_msg: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # in, out, est. $
    result: Any = None  # the ResultMessage
    session_id: str | None = None
    error: BaseException | None = None
    stopped: str | None = None  # "timeout" | "cancelled"
    assistant_errors: list[str] = field(default_factory=list)
    rate_limit: RateLimitNotice | None = None
    prefix: str = ""  # the prompt prefix it shares with other workers (the start stagger's key)
    subagents_refused: int = 0
    stderr: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=STDERR_LINES))

    @property
    def turns(self) -> int:
        return len(self.usage_by_msg)

    def tokens(self) -> tuple[int, int]:
        return sum(u[0] for u in self.usage_by_msg.values()), sum(u[1] for u in self.usage_by_msg.values())

    def cost_estimate(self) -> float:
        return sum(u[2] for u in self.usage_by_msg.values())

    def write(self, msg: Any) -> None:
        if self.transcript is not None:
            self.transcript.write(json.dumps(_jsonable(msg), default=str) + "\n")
            self.transcript.flush()


def _tokens_in(usage: Mapping[str, Any]) -> int:
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    return sum(int(usage.get(k) or 0) for k in keys)


def _result_error(r: Any) -> str:
    """One line saying why an error ResultMessage failed the task, in words (not the protocol's fields)."""
    errors = "; ".join(str(e) for e in (r.errors or []) if e)
    if r.subtype == "error_max_turns":
        return f"Claude Code stopped at the turn limit: {errors or 'max turns reached'}"
    why = []
    if r.api_error_status:
        why.append(f"the API answered {r.api_error_status}")
    if r.subtype and r.subtype.startswith("error_"):  # "success" with is_error says nothing more
        why.append(r.subtype.removeprefix("error_").replace("_", " "))
    reason = str(r.terminal_reason or "").replace("_", " ")
    if reason and reason not in ("completed", "api error") and not why:
        why.append(f"it stopped: {reason}")
    detail = errors or (r.result or "").strip()
    head = "Claude Code ended with an error" + (f" ({'; '.join(why)})" if why else "")
    return head + (f": {detail[:500]}" if detail else "")


class ClaudeCodeWorker:
    name = "claude-code"

    def __init__(
        self,
        cfg: OrchestratorConfig,
        *,
        cli_path: Path | None = None,
        env: dict[str, str] | None = None,
        on_rate_limit: RateLimitCallback | None = None,
        on_rate_info: Callable[[RateLimitNotice], None] | None = None,
        project_root: Path | None = None,
    ) -> None:
        self.cfg = cfg
        self.cli_path = cli_path
        self.env = dict(env or {})
        self.on_rate_limit = on_rate_limit
        self.on_rate_info = on_rate_info  # every usage-window notice (display: the Claude Code window)
        self.project_root = project_root
        self._pricing = Pricing(cfg.pricing)
        self._stagger = StartStagger(cfg.execution.claude_code_stagger_seconds)

    def build_env(self, ctx: WorkContext, token: str) -> dict[str, str]:
        """The CLI's environment overrides (merged over os.environ by the SDK): its credential by the one
        rule, other secrets blanked (credentials.claude_code_env). Secrets stay out of argv."""
        env = {**self.env, **ctx.env}
        env.update(claude_code_env({**os.environ, **env}))
        env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
        env["DISABLE_AUTOUPDATER"] = "1"
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            env["IS_SANDBOX"] = "1"
        env[MARKER_VAR] = token
        return env

    def _options(self, system: str, ctx: WorkContext, env: dict[str, str], run: _Run, how: Launch) -> Any:
        from claude_agent_sdk import ClaudeAgentOptions

        ex = self.cfg.execution
        cli = self.cli_path or find_claude_cli()
        kw: dict[str, Any] = dict(how.options)
        if self.cfg.models.worker.effort is not None:
            kw["effort"] = self.cfg.models.worker.effort
        sandbox, no_bash = claude_code_sandbox(self.cfg)
        if sandbox is not None:
            kw["sandbox"] = sandbox
        tools = [t for t in ex.allowed_tools if not (no_bash and t == "Bash")]
        if no_bash:
            kw["disallowed_tools"] = [*kw.get("disallowed_tools", []), "Bash"]
        return ClaudeAgentOptions(
            cwd=str(ctx.workdir),
            permission_mode=ex.permission_mode,
            allowed_tools=tools,
            max_turns=ex.max_turns,
            model=self.cfg.models.worker.model,
            system_prompt={"type": "preset", "preset": "claude_code", "append": system},
            env=env,
            cli_path=own_session(cli),
            stderr=run.stderr.append,
            strict_mcp_config=not ex.claude_code_mcp,  # no MCP servers started per task unless asked
            **kw,
        )

    # --- messages ---
    def _on_message(self, msg: Any, run: _Run) -> None:
        from claude_agent_sdk import AssistantMessage, RateLimitEvent, ResultMessage

        run.write(msg)
        run.session_id = getattr(msg, "session_id", None) or run.session_id
        if isinstance(msg, AssistantMessage):
            if msg.error:
                run.assistant_errors.append(str(msg.error))
            if msg.parent_tool_use_id is None:
                self._stagger.warmed(run.prefix)  # its prompt prefix is in the cache now
                key = msg.message_id or msg.uuid or str(len(run.usage_by_msg))
                u = msg.usage or {}
                cost = self._estimate(msg.model, u)
                run.usage_by_msg[key] = (_tokens_in(u), int(u.get("output_tokens") or 0), cost)
                tin, tout = run.tokens()
                run.ctx.report(
                    TaskProgress(
                        phase="working",
                        turns=run.turns,
                        tokens_in=tin,
                        tokens_out=tout,
                        cost_usd=round(run.cost_estimate(), 6),
                    )
                )
        elif isinstance(msg, RateLimitEvent):
            self._on_rate_limit(parse_rate_limit(msg), run)
        elif isinstance(msg, ResultMessage):
            run.result = msg

    def _estimate(self, model: str, usage: Mapping[str, Any]) -> float:
        """Live cost estimate of one turn (the result's total_cost_usd is the final figure)."""
        try:
            return self._pricing.cost_usd(model or self.cfg.models.worker.model, usage)
        except OrchestratorError:  # a model without a known price
            return 0.0

    def _on_rate_limit(self, notice: RateLimitNotice | None, run: _Run) -> None:
        if notice is not None and self.on_rate_info is not None:
            self.on_rate_info(notice)
        if notice is None or not notice.rejected:
            return
        run.rate_limit = notice
        if self.on_rate_limit is not None:
            resets = notice.resets_at or time.time() + DEFAULT_PAUSE_S
            self.on_rate_limit(resets, notice.rate_limit_type or "unknown")

    # --- the async drive ---
    async def _drive(self, prompt: str, options: Any, run: _Run, token: str, deadline: float) -> None:
        import anyio
        from claude_agent_sdk import query

        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                while True:
                    if run.ctx.cancel.is_set():
                        run.stopped = "cancelled"
                    elif time.monotonic() >= deadline:
                        run.stopped = "timeout"
                    if run.stopped:
                        signal_pids(tree_pids(None, token), signal.SIGTERM)
                        tg.cancel_scope.cancel()
                        return
                    await anyio.sleep(0.05)

            tg.start_soon(watch)
            try:
                gen = cast("AsyncGenerator[Any, None]", query(prompt=prompt, options=options))
                async with aclosing(gen) as stream:
                    async for msg in stream:
                        self._on_message(msg, run)
            except Exception as e:  # ResultError after an error result, ProcessError, CLI errors
                run.error = e
            finally:
                tg.cancel_scope.cancel()

    def run(self, unit: WorkUnit, ctx: WorkContext) -> WorkResult:
        start = time.monotonic()
        timeout = ctx.timeout_s if ctx.timeout_s is not None else self.cfg.execution.worker_timeout
        token = uuid.uuid4().hex
        system, user = build_worker_prompt(unit, self.project_root)
        tpath = getattr(ctx, "transcript_path", None)
        run = _Run(ctx=ctx)
        if ctx.cancel.is_set():
            return WorkResult.failure("cancelled")
        if self.cli_path is None and find_claude_cli() is None:
            return WorkResult.failure("the Claude Code CLI was not found (install claude-agent-sdk)")
        ctx.report(TaskProgress(phase="starting", turns=0, tokens_in=0, tokens_out=0, cost_usd=0.0))
        try:
            if tpath:
                Path(tpath).parent.mkdir(parents=True, exist_ok=True)
                run.transcript = open(tpath, "w", encoding="utf-8")  # noqa: SIM115
            env = self.build_env(ctx, token)
            cli = self.cli_path or find_claude_cli()
            how = launch(
                self.cfg,
                str(cli) if cli else None,
                resume=ctx.resume_session,
                env=env,
                budget_usd=ctx.budget_usd,
            )
            if how.resumed:  # it keeps its system prompt: this attempt's words go in the user message
                user = build_resume_prompt(unit, self.project_root)
            options = self._options(system, ctx, env, run, how)
            ctx.journal(
                TaskSession(
                    session_id=how.session_id,
                    workdir=str(ctx.workdir),
                    backend=self.name,
                    candidate=unit.candidate or None,
                    resumed=True if how.resumed else None,
                )
            )
            run.prefix = prefix_key(self.cfg.models.worker.model, system, options, ctx.workdir)
            self._stagger.wait(run.prefix, ctx.cancel)
            asyncio.run(self._drive(user, options, run, token, start + timeout))
            run.subagents_refused = how.cap.refused if how.cap is not None else 0
        finally:
            kill_tree(None, token, grace=2.0)  # the CLI and whatever its tools left running
            if run.transcript is not None:
                run.transcript.close()
        return self._result(run, timeout, time.monotonic() - start, str(tpath) if tpath else None)

    def _result(self, run: _Run, timeout: float, duration: float, tpath: str | None) -> WorkResult:
        tin, tout = run.tokens()
        r = run.result
        cost = 0.0
        turns = run.turns
        data: dict[str, Any] = {}
        if r is not None:
            cost = float(r.total_cost_usd or 0.0)
            turns = int(r.num_turns or turns)
            if r.usage:
                tin, tout = _tokens_in(r.usage), int(r.usage.get("output_tokens") or 0)
            data.update(subtype=r.subtype, terminal_reason=r.terminal_reason, stop_reason=r.stop_reason)
            if r.model_usage:  # per-model usage, so the engine's ledger can attribute it
                data["model_usage"] = dict(r.model_usage)
            if r.api_error_status:
                data["api_error_status"] = r.api_error_status
        if run.rate_limit is not None:
            data["rate_limit"] = asdict(run.rate_limit)
        if run.assistant_errors:
            data["assistant_errors"] = list(run.assistant_errors)
        if run.subagents_refused:
            data["subagents_refused"] = run.subagents_refused
        if (
            run.rate_limit is not None
            or "rate_limit" in run.assistant_errors
            or data.get("api_error_status") == 429
        ):
            data["rate_limited"] = True
        common: dict[str, Any] = dict(
            cost_usd=cost,
            tokens_in=tin,
            tokens_out=tout,
            turns=turns,
            duration_s=duration,
            session_id=(r.session_id if r is not None else None) or run.session_id,
            transcript_path=tpath,
            data=data,
        )
        run.ctx.report(TaskProgress(phase="done", turns=turns, tokens_in=tin, tokens_out=tout, cost_usd=cost))
        if run.stopped == "timeout":
            return WorkResult.failure(f"Claude Code timed out after {timeout:g}s", **common)
        if run.stopped == "cancelled":
            return WorkResult.failure("cancelled", **common)
        if r is not None and r.is_error:
            return WorkResult.failure(_result_error(r), **common)
        if r is None:
            why = f"{type(run.error).__name__}: {run.error}" if run.error else "no result message"
            tail = " | ".join(list(run.stderr)[-5:])
            return WorkResult.failure(
                f"Claude Code failed: {why[:500]}" + (f" [stderr: {tail[:500]}]" if tail else ""), **common
            )
        if run.error is not None:  # a success result followed by a non-zero exit
            return WorkResult.failure(f"Claude Code exited abnormally: {str(run.error)[:500]}", **common)
        return WorkResult(ok=True, summary=(r.result or "").strip(), **common)
