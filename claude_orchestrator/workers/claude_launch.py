"""How a Claude Code worker is launched, beyond the basics in claude_code.py: its session (a new one with an
id chosen here, so the run journals it before the CLI starts, or an interrupted one resumed), the options
that make many parallel workers cheaper (a system prompt without per-directory parts, so workers in
different worktrees share a cached prefix; a capped number of subagents; the task's budget), and which of
the project's settings, CLAUDE.md and skills the worker loads.

Never passed: ``--worktree``/``-w`` (we own the worktrees and the commits) and background mode.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ..config import OrchestratorConfig
from ..confine.policy import claude_code_sandbox_missing
from ..errors import OrchestratorError
from .own_session import launcher

EXCLUDE_DYNAMIC = "exclude-dynamic-system-prompt-sections"
FORBIDDEN_ARGS = frozenset(
    {"worktree", "w", "bg", "background", "tmux", "remote-control", "cloud", "teleport"}
)
SUBAGENT_TOOLS = ("Agent", "Task")  # the tool that starts a subagent (named Task in older CLIs)


@functools.lru_cache(maxsize=8)
def cli_flags(cli: str) -> frozenset[str]:
    """The long options the CLI's --help lists (empty when it cannot say)."""
    try:
        out = subprocess.run([cli, "--help"], capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(w.strip(",").lstrip("-") for w in out.split() if w.startswith("--"))


def session_file(session_id: str, env: dict[str, str]) -> Path | None:
    """Where Claude Code keeps the session's conversation, if it does (its config folder, any project)."""
    base = env.get("CLAUDE_CONFIG_DIR") or os.environ.get("CLAUDE_CONFIG_DIR")
    home = env.get("HOME") or os.environ.get("HOME") or str(Path.home())
    root = Path(base) if base else Path(home) / ".claude"
    return next((root / "projects").glob(f"*/{session_id}.jsonl"), None) if root.is_dir() else None


@dataclass
class SubagentCap:
    """A PreToolUse hook that lets a worker start at most `limit` subagents (nested ones included)."""

    limit: int
    started: int = 0
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    async def __call__(self, data: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        with self._lock:
            if self.started < self.limit:
                self.started += 1
                return {}
            self.refused += 1
        reason = (
            f"Refused: at most {self.limit} subagent(s) per worker; do the rest of the work yourself "
            "with your own tools."
        )
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }
        }


@dataclass(frozen=True)
class Launch:
    """One attempt's session and the extra ClaudeAgentOptions keywords."""

    session_id: str
    resumed: bool
    options: dict[str, Any]
    cap: SubagentCap | None = None


def launch(
    cfg: OrchestratorConfig,
    cli: str | None,
    *,
    resume: str | None,
    env: dict[str, str],
    budget_usd: float | None,
) -> Launch:
    """The session (`resume` when its conversation is still on disk, else a new one) and the options."""
    from claude_agent_sdk import HookMatcher

    ex = cfg.execution
    extra: dict[str, str | None] = {}
    if ex.claude_code_exclude_dynamic_prompt and cli and EXCLUDE_DYNAMIC in cli_flags(cli):
        extra[EXCLUDE_DYNAMIC] = None
    check_args(extra)
    kw: dict[str, Any] = {"extra_args": extra, "setting_sources": list(ex.claude_code_setting_sources)}
    if ex.claude_code_skills and "project" in ex.claude_code_setting_sources:
        kw["skills"] = "all"
    if budget_usd is not None:
        kw["max_budget_usd"] = round(max(budget_usd, 0.01), 4)
    cap = None
    if ex.claude_code_max_subagents == 0:
        kw["disallowed_tools"] = list(SUBAGENT_TOOLS)
    elif ex.claude_code_max_subagents is not None:
        cap = SubagentCap(ex.claude_code_max_subagents)
        hook = cast(Any, cap)  # an async callable of the SDK's hook signature
        kw["hooks"] = {"PreToolUse": [HookMatcher(matcher="|".join(SUBAGENT_TOOLS), hooks=[hook])]}
    if resume and session_file(resume, env) is not None:
        return Launch(resume, True, {**kw, "resume": resume}, cap)
    sid = str(uuid.uuid4())
    return Launch(sid, False, {**kw, "session_id": sid}, cap)


def prefix_key(model: str, system: str, options: Any, workdir: Path) -> str:
    """Workers share a cached prompt prefix when model and system prompt match and the system prompt holds
    no per-directory part (with the option that moves those out; without it, each worktree has its own)."""
    shared = EXCLUDE_DYNAMIC in (options.extra_args or {})
    digest = hashlib.sha256(system.encode()).hexdigest()[:16]
    return f"{model}|{digest}|{'' if shared else workdir}"


def check_args(extra: dict[str, str | None]) -> None:
    """Refuse, loudly, the CLI options that would take the worktree or the session out of our hands."""
    bad = sorted(k for k in extra if k.lstrip("-") in FORBIDDEN_ARGS)
    if bad:
        raise OrchestratorError(
            f"refusing to pass {', '.join('--' + b for b in bad)} to a Claude Code worker"
        )


def claude_code_sandbox(cfg: OrchestratorConfig) -> tuple[dict[str, Any] | None, bool]:
    """(Claude Code's ``sandbox`` settings for worker sessions or None, whether Bash is withheld).

    With ``execution.sandbox`` "on" and ``execution.claude_code_sandbox`` true, Bash commands run in Claude
    Code's own sandbox: writes only in the worktree (its .git read-only), no fallback to unsandboxed
    commands, no network unless ``execution.sandbox_network``. Where that sandbox cannot run, the Bash tool
    is withheld (as the api backend refuses its commands). Either setting off: Bash runs unconfined."""
    ex = cfg.execution
    if not ex.claude_code_sandbox or ex.sandbox == "off":
        return None, False
    if claude_code_sandbox_missing() is not None:
        return None, True
    settings: dict[str, Any] = {
        "enabled": True,
        "autoAllowBashIfSandboxed": True,
        "allowUnsandboxedCommands": False,
        "failIfUnavailable": True,
    }
    if not ex.sandbox_network:
        settings["network"] = {"allowedDomains": [], "allowLocalBinding": False}
    return settings, False


def own_session(cli: Path | None) -> str | None:
    """The CLI started in a session of its own (workers/own_session.py); a missing one as it is, for the
    SDK's own clear error."""
    if cli is None:
        return None
    return str(launcher(cli) if Path(cli).is_file() else cli)
