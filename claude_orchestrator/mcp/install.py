"""Set-up in one command: the `.mcp.json` entry that makes Claude Code start our server (project scope), or
the exact `claude mcp add` line (user scope). The entry holds the command and TASK_MASTER_TOOLS, never a
secret: an entry it replaces loses its env values (Task Master's instructions put API keys there)."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..files import write_json
from .server import SERVER_NAME

MCP_FILE = ".mcp.json"
NAMES = (SERVER_NAME, "claude-orchestrator")


def server_command() -> list[str]:
    """How to start our server from anywhere: the console script beside this interpreter, or on PATH, or
    this interpreter with -m."""
    beside = Path(sys.executable).parent / "claude-orchestrator"
    if beside.is_file():
        return [str(beside), "mcp"]
    found = shutil.which("claude-orchestrator")
    if found:
        return [found, "mcp"]
    return [sys.executable, "-m", "claude_orchestrator", "mcp"]


@dataclass
class Installed:
    path: Path
    name: str
    entry: dict[str, Any]
    replaced: bool = False
    dropped_env: list[str] = field(default_factory=list)  # names only, never values


def entry_for(tools: str, command: list[str] | None = None) -> dict[str, Any]:
    cmd = command or server_command()
    return {"type": "stdio", "command": cmd[0], "args": cmd[1:], "env": {"TASK_MASTER_TOOLS": tools}}


def install_project(root: Path, name: str = SERVER_NAME, tools: str = "core") -> Installed:
    """Add (or replace) our entry in <root>/.mcp.json, keeping every other server and key."""
    if name not in NAMES:
        raise InputError(f"--name must be one of {', '.join(NAMES)}")
    path = root / MCP_FILE
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: not valid JSON ({e}); fix or remove it, nothing was written") from None
        if not isinstance(data, dict) or not isinstance(data.get("mcpServers", {}), dict):
            raise InputError(f'{path}: expected {{"mcpServers": {{...}}}}; nothing was written')
    servers = data.setdefault("mcpServers", {})
    old = servers.get(name)
    entry = entry_for(tools)
    dropped = (
        sorted(k for k in (old.get("env") or {}) if k != "TASK_MASTER_TOOLS") if isinstance(old, dict) else []
    )
    servers[name] = entry
    write_json(path, data)
    return Installed(path, name, entry, replaced=old is not None and old != entry, dropped_env=dropped)


def user_command(name: str = SERVER_NAME, tools: str = "core") -> str:
    """The `claude mcp add` line that registers the server for every project of this user."""
    if name not in NAMES:
        raise InputError(f"--name must be one of {', '.join(NAMES)}")
    cmd = server_command()
    parts = ["claude", "mcp", "add", "--scope", "user", name, "-e", f"TASK_MASTER_TOOLS={tools}", "--", *cmd]
    return shlex.join(parts)
