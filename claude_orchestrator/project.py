"""Project set-up (`init`) and the environment report (`check`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .config import CONFIG_FILENAME, default_config_dict, find_config, load_config
from .credentials import claude_code_logged_in, detect_credentials
from .environment import claude_cli_version, find_claude_cli, git_toplevel, has_commit
from .errors import OrchestratorError
from .files import create_text, write_text

ENV_EXAMPLE = """\
# Copy to .env and fill in. Placeholder values below are ignored, never sent.
ANTHROPIC_API_KEY=your_api_key_here
# ANTHROPIC_AUTH_TOKEN=your_token_here
# ANTHROPIC_BASE_URL=https://api.anthropic.com
# SLACK_WEBHOOK_URL=your_webhook_url_here
"""

GITIGNORE_LINES = [
    "# claude-orchestrator run artifacts",
    ".env",
    ".taskmaster/runs/",
    ".taskmaster/worktrees/",
    "generated/",
]


def init_orchestrator(root: Path, name: str | None = None) -> list[Path]:
    """Create .taskmaster/ (as task-master init does), the config, .env.example and .gitignore lines.

    Existing files are kept as they are. Returns the paths created or changed."""
    from .taskmaster.store import init_project

    root = root.resolve()
    if not root.is_dir():
        raise OrchestratorError(f"{root}: not a directory")
    created = list(init_project(root, name or root.name))
    cfg = root / CONFIG_FILENAME
    if create_text(cfg, json.dumps(default_config_dict(), indent=2) + "\n"):
        created.append(cfg)
    if create_text(root / ".env.example", ENV_EXAMPLE):
        created.append(root / ".env.example")
    gi = root / ".gitignore"
    existing = gi.read_text(encoding="utf-8").splitlines() if gi.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in existing]
    if missing:
        body = "\n".join(existing + ([""] if existing else []) + missing) + "\n"
        write_text(gi, body)
        created.append(gi)
    return created


@dataclass(frozen=True)
class CheckLine:
    name: str
    ok: bool
    detail: str
    required: bool = True  # a line that is not ok fails the check; else it is a warning

    @property
    def mark(self) -> str:
        return "ok  " if self.ok else ("FAIL" if self.required else "warn")


def _git_line(root: Path) -> CheckLine:
    top = git_toplevel(root)
    if top is None:
        return CheckLine(
            "git",
            False,
            "not a git repository: tasks will run in this folder, one at a time "
            "where their files overlap (`git init` for worktrees and commits)",
            required=False,
        )
    if not has_commit(top):
        return CheckLine("git", False, f"{top} has no commit yet: make a first commit before `run`")
    return CheckLine("git", True, str(top))


def run_checks(root: Path, *, probe_cli: bool = True) -> list[CheckLine]:
    """Each line ok, or what to do. Never prints or returns a secret's value."""
    lines: list[CheckLine] = []
    cfg_path = find_config(root)
    try:
        load_config(cfg_path) if cfg_path else load_config(None, start=root)
        lines.append(
            CheckLine("config", True, str(cfg_path) if cfg_path else "no orchestrator_config.json; defaults")
        )
    except OrchestratorError as e:
        lines.append(CheckLine("config", False, str(e)))

    lines.append(_git_line(root))

    cli = find_claude_cli()
    if cli is None:
        lines.append(
            CheckLine(
                "claude-code",
                False,
                "CLI not found (`pip install claude-agent-sdk`); tasks run on the api backend",
                required=False,
            )
        )
    else:
        version = claude_cli_version(cli) if probe_cli else None
        detail = f"{cli}" + (f" ({version})" if version else "")
        lines.append(CheckLine("claude-code", True, detail))

    creds = detect_credentials()
    if creds.available:
        detail = creds.describe()
        if creds.base_url:
            detail += " (custom ANTHROPIC_BASE_URL)"
        lines.append(CheckLine("api-key", True, detail))
    elif claude_code_logged_in():
        lines.append(
            CheckLine(
                "api-key",
                True,
                "no API key, but Claude Code is logged in: claude-code workers can run; planning and "
                "reviews by the manager need ANTHROPIC_API_KEY",
            )
        )
    else:
        lines.append(
            CheckLine(
                "api-key",
                False,
                "no ANTHROPIC_API_KEY (nor ANTHROPIC_AUTH_TOKEN, CLAUDE_CODE_USE_BEDROCK, CLAUDE_CODE_USE_VERTEX); "
                "put it in .env or the environment (the demo runs offline without it)",
            )
        )

    tm = root / ".taskmaster"
    target = tm if tm.is_dir() else root
    writable = os.access(target, os.W_OK)
    lines.append(
        CheckLine("write-access", writable, f"{target} is writable" if writable else f"cannot write {target}")
    )
    lines.append(
        CheckLine(
            "taskmaster",
            tm.is_dir(),
            str(tm) if tm.is_dir() else "no .taskmaster/; run `claude-orchestrator init`",
        )
    )
    return lines
