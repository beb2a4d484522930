"""What this machine offers: the Claude Code CLI and git (credentials: see credentials.py)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from .process import scrubbed_env


def find_claude_cli() -> Path | None:
    """The Claude Code CLI bundled with claude-agent-sdk, else `claude` on PATH."""
    spec = importlib.util.find_spec("claude_agent_sdk")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "_bundled" / "claude"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return bundled
    found = shutil.which("claude")
    return Path(found) if found else None


def claude_cli_version(cli: Path, timeout: float = 20) -> str | None:
    try:
        out = subprocess.run(
            [str(cli), "--version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=scrubbed_env(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def git_toplevel(path: Path) -> Path | None:
    if shutil.which("git") is None:
        return None
    out = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
        env=scrubbed_env(),
    )
    return Path(out.stdout.strip()) if out.returncode == 0 else None


def has_commit(repo: Path) -> bool:
    """The repository's HEAD points at a commit (`run` needs one to branch its worktrees from)."""
    out = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "-q", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        env=scrubbed_env(),
    )
    return out.returncode == 0
