"""The API backend: our own tool loop on the Messages API through the LLM layer, with sandboxed tools.

The model gets the worker prompt and the Sandbox tools (read/write/edit files, list, grep, run a command),
all confined to ctx.workdir. The loop ends at end_turn or the turn limit; a refused tool call goes back
to the model as an ``is_error`` tool_result; a budget stop, a cancel or the timeout ends the task with a
clear reason. Usage is recorded by the LLM layer's ledger (role "worker", task_id = the unit id).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from ..config import OrchestratorConfig
from ..confine import CommandPolicy
from ..errors import BudgetExceededError, OrchestratorError
from ..events import TaskProgress
from .base import WorkContext, WorkResult, WorkUnit
from .prompting import build_worker_prompt
from .sandbox import Sandbox

ROLE = "worker"
CUT_OFF_NOTE = "Your reply was cut off at the output limit. Continue where you stopped, more briefly."


def _get(obj: Any, key: str, default: Any = None) -> Any:
    return obj.get(key, default) if isinstance(obj, Mapping) else getattr(obj, key, default)


def block_dict(block: Any) -> dict[str, Any]:
    """An API content block (SDK object or dict) as a plain dict fit to send back."""
    if isinstance(block, Mapping):
        return dict(block)
    dump = getattr(block, "model_dump", None)
    if callable(dump):
        return dict(dump(mode="json", exclude_none=True))
    raise TypeError(f"not a content block: {block!r}")


def usage_tokens(usage: Any) -> tuple[int, int]:
    """(every prompt token incl. cache writes and reads, output tokens) of a usage object or dict."""
    if usage is None:
        return 0, 0
    tin = sum(
        int(_get(usage, k) or 0)
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return tin, int(_get(usage, "output_tokens") or 0)


def _text_of(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text").strip()


class ApiAgentWorker:
    name = "api"

    def __init__(self, llm: Any, cfg: OrchestratorConfig, *, project_root: Path | None = None) -> None:
        self.llm = llm
        self.cfg = cfg
        self.project_root = project_root

    def run(self, unit: WorkUnit, ctx: WorkContext) -> WorkResult:
        start = time.monotonic()
        tpath = getattr(ctx, "transcript_path", None)
        transcript: IO[str] | None = None
        done = threading.Event()
        try:
            loop = _Loop(self, unit, ctx, start)
        except OrchestratorError as e:  # e.g. the workdir is not a directory
            return WorkResult.failure(f"cannot start: {e}", duration_s=time.monotonic() - start)
        try:
            if tpath:
                Path(tpath).parent.mkdir(parents=True, exist_ok=True)
                transcript = open(tpath, "w", encoding="utf-8")  # noqa: SIM115
            loop.transcript = transcript
            watcher = threading.Thread(
                target=loop.watch, args=(done,), name=f"api-watch-{unit.unit_id}", daemon=True
            )
            watcher.start()
            ok, summary, error = loop.run()
        finally:
            done.set()
            if transcript is not None:
                transcript.close()
        tin, tout = loop.tokens
        ctx.report(
            TaskProgress(phase="done", turns=loop.turns, tokens_in=tin, tokens_out=tout, cost_usd=loop.cost)
        )
        common: dict[str, Any] = dict(
            summary=summary,
            cost_usd=loop.cost,
            tokens_in=tin,
            tokens_out=tout,
            turns=loop.turns,
            duration_s=time.monotonic() - start,
            transcript_path=str(tpath) if tpath else None,
            data={
                "stop_reason": loop.stop_reason,
                "tool_calls": loop.tool_calls,
                "tool_errors": loop.tool_errors,
                **({"api_error_status": loop.api_error_status} if loop.api_error_status else {}),
            },
        )
        return WorkResult(ok=True, **common) if ok else WorkResult.failure(error or "failed", **common)


class _Loop:
    """One task's conversation: state and steps."""

    def __init__(self, worker: ApiAgentWorker, unit: WorkUnit, ctx: WorkContext, start: float) -> None:
        self.w, self.unit, self.ctx = worker, unit, ctx
        ex = worker.cfg.execution
        self.max_turns = ex.max_turns
        timeout = ctx.timeout_s if ctx.timeout_s is not None else ex.worker_timeout
        self.deadline = start + timeout
        self.timeout = timeout
        env = {**os.environ, **ctx.env}  # the sandbox scrubs credentials from it
        self.halt = threading.Event()  # set on cancel or at the deadline; kills a running command
        root = worker.project_root
        self.sandbox = Sandbox(
            ctx.workdir,
            command_timeout=ex.command_timeout,
            cancel=self.halt,
            env=env,
            policy=CommandPolicy.from_config(worker.cfg),
            protect=(root / ".git",) if root is not None else (),
        )
        self.transcript: IO[str] | None = None
        self.turns = 0
        self.tokens = (0, 0)
        self.cost = 0.0
        self.stop_reason: str | None = None
        self.tool_calls = 0
        self.tool_errors = 0
        self.messages: list[dict[str, Any]] = []
        self.api_error_status: Any = None

    def _append(self, msg: dict[str, Any]) -> None:
        self.messages.append(msg)
        if self.transcript is not None:
            self.transcript.write(json.dumps(msg, default=str) + "\n")
            self.transcript.flush()

    def _report(self, phase: str) -> None:
        tin, tout = self.tokens
        self.ctx.report(
            TaskProgress(phase=phase, turns=self.turns, tokens_in=tin, tokens_out=tout, cost_usd=self.cost)
        )

    def _stop(self) -> str | None:
        if self.ctx.cancel.is_set():
            return "cancelled"
        if self.halt.is_set() or time.monotonic() >= self.deadline:
            return f"timed out after {self.timeout:g}s"
        return None

    def watch(self, done: threading.Event) -> None:
        """Sets `halt` when the task is cancelled or out of time (until `done`)."""
        while not done.is_set():
            if self.ctx.cancel.wait(0.05) or time.monotonic() >= self.deadline:
                self.halt.set()
                return

    def run(self) -> tuple[bool, str, str | None]:
        """(ok, summary, error)."""
        system, user = build_worker_prompt(self.unit, self.w.project_root)
        model = self.w.cfg.models.worker
        tools = self.sandbox.tool_specs()
        self._append({"role": "user", "content": user})
        self._report("starting")
        last_text = ""
        while True:
            stop = self._stop()
            if stop:
                return False, last_text, stop
            if self.turns >= self.max_turns:
                return False, last_text, f"reached the turn limit ({self.max_turns}) before finishing"
            try:
                resp = self.w.llm.create(
                    role=ROLE,
                    model=model.model,
                    system=system,
                    messages=self.messages,
                    tools=tools,
                    max_tokens=model.max_tokens,
                    task_id=self.unit.unit_id,
                    effort=model.effort,
                )
            except BudgetExceededError as e:
                return False, last_text, f"budget exceeded, task stopped: {e}"
            except OrchestratorError as e:
                self.api_error_status = e.fields.get("status")
                return False, last_text, f"model call failed: {e}"
            self.turns += 1
            tin, tout = usage_tokens(_get(resp, "usage"))
            self.tokens = (self.tokens[0] + tin, self.tokens[1] + tout)
            self.cost += float(_get(resp, "cost_usd", 0.0) or 0.0)
            blocks = [block_dict(b) for b in _get(resp, "content", None) or []]
            self.stop_reason = _get(resp, "stop_reason")
            self._append({"role": "assistant", "content": blocks})
            self._report("working")
            last_text = _text_of(blocks) or last_text
            uses = [b for b in blocks if b.get("type") == "tool_use"]
            if uses:
                self._append({"role": "user", "content": self._run_tools(uses)})
                continue
            if self.stop_reason == "max_tokens":
                self._append({"role": "user", "content": CUT_OFF_NOTE})
                continue
            if self.stop_reason == "pause_turn":
                continue
            if self.stop_reason == "refusal":
                return False, last_text, "the model refused the task"
            return True, last_text, None

    def _run_tools(self, uses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results = []
        for use in uses:
            self.tool_calls += 1
            stop = self._stop()
            if stop:
                text, is_error = f"not run: {stop}", True
            else:
                text, is_error = self._dispatch(str(use.get("name")), use.get("input"))
            self.tool_errors += int(is_error)
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": use.get("id"), "content": text}
            if is_error:
                result["is_error"] = True
            results.append(result)
        return results

    def _dispatch(self, name: str, tool_input: Any) -> tuple[str, bool]:
        try:  # the sandbox answers refusals and bad input as (text, True) itself
            return self.sandbox.dispatch(name, tool_input)
        except OrchestratorError as e:
            return str(e), True
