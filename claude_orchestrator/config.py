"""orchestrator_config.json: pydantic models, defaults, loading, env overrides.

Unknown keys are rejected by name (extra="forbid"). Secrets (the Slack webhook URL, API keys) may come from
the environment or `.env`; placeholders such as ``your_api_key_here`` are never treated as real values.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from .errors import ConfigError
from .files import BadJSON, loads_json

CONFIG_FILENAME = "orchestrator_config.json"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelRole(_Section):
    model: str
    description: str = ""
    max_tokens: int = Field(16000, ge=1)
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None


class ModelsConfig(_Section):
    manager: ModelRole = ModelRole(
        model="claude-opus-5-5", description="Opus-class model: plans, expands and reviews"
    )
    worker: ModelRole = ModelRole(model="claude-sonnet-5-5", description="Sonnet-class model: executes tasks")
    research_effort: Literal["low", "medium", "high", "xhigh", "max"] = "high"


class RayConfig(_Section):
    address: str | None = Field(
        None,
        description="auto | HOST:PORT (a node of the cluster); null: a Ray instance started in this process",
    )
    worker_resources: dict[str, float] = Field(
        default_factory=dict,
        description='what each worker takes from its node: num_cpus, and custom resources such as {"claude": 1}',
    )
    forward_env: list[str] = Field(
        default_factory=list,
        description="variables sent to the nodes in the job's runtime_env (visible to the cluster's admins)",
    )


class ExecutionConfig(_Section):
    max_workers: int = Field(3, ge=1, le=64)
    worker_timeout: float = Field(1800, gt=0, description="seconds before a worker's process group is killed")
    max_retries: int = Field(3, ge=0)
    retry_backoff_seconds: float = Field(2.0, ge=0)
    default_backend: Literal["auto", "claude-code", "api", "build"] = "auto"
    max_turns: int = Field(30, ge=1)
    permission_mode: Literal["acceptEdits", "bypassPermissions", "default", "plan"] = "acceptEdits"
    allowed_tools: list[str] = ["Read", "Write", "Edit", "Glob", "Grep", "Bash"]
    command_timeout: float = Field(120, gt=0, description="timeout of one run_command in the api backend")
    shutdown_grace_seconds: float = Field(30, ge=0)
    tasks_file_wait_seconds: float = Field(
        30, gt=0, description="how long a run waits for an unreadable tasks.json before it stops"
    )
    exclusive_files: bool = Field(True, description="never run two tasks whose relevantFiles overlap at once")
    sandbox: Literal["on", "off"] = Field(
        "on",
        description="run the commands a model or a plan chooses in bubblewrap (refused where it cannot run)",
    )
    sandbox_network: bool = Field(
        False, description="network for model-chosen commands (run_command, post_install, a project's run)"
    )
    claude_code_sandbox: bool = Field(True, description="turn on Claude Code's own Bash sandbox in workers")
    claude_code_mcp: bool = Field(
        False,
        description="Claude Code workers start the project's (.mcp.json) and your settings' MCP servers",
    )
    claude_code_exclude_dynamic_prompt: bool = Field(
        True, description="per-directory parts of Claude Code's system prompt move to the first user message"
    )
    claude_code_stagger_seconds: float = Field(
        5.0, ge=0, description="a worker waits up to this long for one sharing its prompt to cache it"
    )
    claude_code_max_subagents: int | None = Field(4, ge=0, description="subagents per worker attempt")
    claude_code_setting_sources: list[Literal["user", "project", "local"]] = ["user", "project"]
    claude_code_skills: bool = Field(True, description="the project's skills are offered to workers")
    executor: Literal["local", "ray"] = Field("local", description="local threads, or a Ray cluster")
    ray: RayConfig = RayConfig()


class VerificationConfig(_Section):
    """The orchestrator runs each task's `metadata.verify` commands itself, before the review."""

    enabled: bool = Field(True, description="run the checks (run --no-verify turns them off)")
    timeout_seconds: float = Field(
        600, gt=0, description="seconds per check before its process group is killed"
    )
    output_chars: int = Field(4000, ge=200, description="characters of a failing check's output kept")


class MonitoringConfig(_Section):
    show_progress_bar: bool = True
    enable_opus_review: bool = True
    usage_warning_threshold: float = Field(80, ge=0, le=100)
    usage_critical_threshold: float = Field(95, ge=0, le=100)


class NotificationsConfig(_Section):
    slack_webhook_url: SecretStr | None = None
    notify_on_task_complete: bool = True
    notify_on_task_failed: bool = True
    notify_on_all_complete: bool = True
    notify_on_usage_warning: bool = True


class GitConfig(_Section):
    auto_commit: bool = True
    commit_message_prefix: str = "[orchestrator]"
    use_worktrees: bool = True
    branch_prefix: str = "orchestrator"
    sensitive_patterns: list[str] = [
        ".env",
        ".env.*",
        "*.pem",
        "*.key",
        "*.p12",
        "*.pfx",
        "*.crt",
        "id_rsa*",
        "id_ed25519*",
        "*.keystore",
        "credentials*.json",
    ]


class BudgetConfig(_Section):
    run_usd: float | None = Field(None, gt=0, description="stop new work before the run would exceed it")
    task_usd: float | None = Field(None, gt=0)


class RateLimitConfig(_Section):
    requests_per_minute: int | None = Field(None, gt=0)
    input_tokens_per_minute: int | None = Field(None, gt=0)
    output_tokens_per_minute: int | None = Field(None, gt=0)


class ModelPrice(_Section):
    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float


class LLMConfig(_Section):
    max_attempts: int = Field(6, ge=1, description="attempts per request, first included")
    max_total_wait: float = Field(300, ge=0, description="seconds of back-off per request, at most")
    request_timeout: float = Field(600, gt=0)
    structured_repair_attempts: int = Field(2, ge=0)
    stream_above_max_tokens: int = Field(8192, ge=1)
    prompt_caching: bool = True


class StackConfig(_Section):
    output_dir: str = "generated"
    allow_commands: bool = False
    step_timeout: float = Field(900, gt=0)
    max_file_bytes: int = Field(1_000_000, gt=0)
    plugins_dir: str | None = None


class OrchestratorConfig(_Section):
    models: ModelsConfig = ModelsConfig()
    execution: ExecutionConfig = ExecutionConfig()
    verification: VerificationConfig = VerificationConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    git: GitConfig = GitConfig()
    budgets: BudgetConfig = BudgetConfig()
    rate_limits: RateLimitConfig = RateLimitConfig()
    llm: LLMConfig = LLMConfig()
    stack: StackConfig = StackConfig()
    pricing: dict[str, ModelPrice] = {}

    def slack_webhook_url(self) -> str | None:
        """The webhook URL from config, else SLACK_WEBHOOK_URL; placeholders count as unset."""
        if self.notifications.slack_webhook_url is not None:
            value = self.notifications.slack_webhook_url.get_secret_value()
            if not is_placeholder(value):
                return value
        env = os.environ.get("SLACK_WEBHOOK_URL")
        return env if env and not is_placeholder(env) else None


def default_config_dict() -> dict[str, Any]:
    """The defaults as JSON-ready data (what `init` writes)."""
    return OrchestratorConfig().model_dump(mode="json")


def _format_validation(path: Path, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            parts.append(f"unknown key '{loc}'")
        else:
            parts.append(f"{loc}: {e['msg']}")
    return f"{path}: " + "; ".join(parts)


def load_config(path: Path | str | None = None, *, start: Path | None = None) -> OrchestratorConfig:
    """Load the config file (given, or found from `start` upward); defaults when there is none."""
    file = Path(path) if path is not None else find_config(start or Path.cwd())
    if file is None:
        return OrchestratorConfig()
    try:
        data = loads_json(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such config file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{file}: cannot read: {e}") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{file}: malformed JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except BadJSON as e:
        raise ConfigError(f"{file}: unusable JSON: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a JSON object")
    try:
        return OrchestratorConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation(file, e)) from None


def find_config(start: Path) -> Path | None:
    """orchestrator_config.json in `start` or a parent, stopping at the repository root."""
    here = start.resolve()
    for d in (here, *here.parents):
        cand = d / CONFIG_FILENAME
        if cand.is_file():
            return cand
        if (d / ".git").exists():
            return None
    return None


_PLACEHOLDER = re.compile(
    r"^(|your[_-].*|.*(placeholder|example|changeme|xxxx|here).*|<.*>|sk-ant-\.\.\.|\.\.\.)$", re.IGNORECASE
)


def is_placeholder(value: str) -> bool:
    """True for values like `your_api_key_here` that a template ships and no one should send."""
    return bool(_PLACEHOLDER.match(value.strip()))


def load_dotenv(path: Path, *, override: bool = False) -> list[str]:
    """Load KEY=VALUE lines into os.environ, skipping placeholders. Returns the keys set (never values)."""
    if not path.is_file():
        return []
    loaded = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or is_placeholder(value):
            continue
        if override or key not in os.environ:
            os.environ[key] = value
            loaded.append(key)
    return loaded
