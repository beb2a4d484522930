"""Claude Code rule files, laid out as `task-master rules add claude` lays them out: CLAUDE.md importing
.taskmaster/CLAUDE.md (the agent guide), slash commands in .claude/commands/tm/, and the MCP server entry in
.mcp.json (here: `claude-orchestrator mcp`, which serves Task Master's tools)."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

from ...errors import InputError
from ...files import write_text
from .commands import SLASH_COMMANDS

PROFILES = ("claude",)
MCP_SERVER = "task-master-ai"
IMPORT_LINE = "@./.taskmaster/CLAUDE.md"
IMPORT_BLOCK = (
    "## Task Master AI Instructions\n"
    "**Import Task Master's development workflow commands and guidelines, treat as if import is in the main "
    "CLAUDE.md file.**\n" + IMPORT_LINE + "\n"
)
COMMANDS_DIR = Path(".claude") / "commands" / "tm"


def agent_guide() -> str:
    return (resources.files(__package__) / "agent_guide.md").read_text(encoding="utf-8")


def _claude_md(root: Path) -> str:
    path = root / "CLAUDE.md"
    if not path.exists():
        write_text(path, "# Claude Code Instructions\n\n" + IMPORT_BLOCK)
        return "created CLAUDE.md"
    text = path.read_text(encoding="utf-8")
    if IMPORT_LINE in text:
        return "CLAUDE.md already imports the guide"
    write_text(path, text.rstrip("\n") + "\n\n" + IMPORT_BLOCK)
    return "added the guide's import to CLAUDE.md"


def _read_mcp(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: malformed JSON ({e.msg}); fix or remove it first") from None
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers", {}), dict):
        raise InputError(f"{path}: expected an object with an mcpServers object")
    return data


def _mcp_json(root: Path) -> str:
    path = root / ".mcp.json"
    data = _read_mcp(path)
    servers = data.setdefault("mcpServers", {})
    assert isinstance(servers, dict)
    if MCP_SERVER in servers:
        return f".mcp.json already has the {MCP_SERVER} server"
    servers[MCP_SERVER] = {
        "type": "stdio",
        "command": "claude-orchestrator",
        "args": ["mcp"],
        "env": {"TASK_MASTER_TOOLS": "core"},
    }
    write_text(path, json.dumps(data, indent="\t") + "\n")
    return f"added the {MCP_SERVER} server (claude-orchestrator mcp) to .mcp.json"


def add_claude(root: Path) -> list[str]:
    """Write (or complete) the Claude Code files; existing content is kept. Returns what was done."""
    root = Path(root)
    done = [_claude_md(root)]
    write_text(root / ".taskmaster" / "CLAUDE.md", agent_guide())
    done.append("wrote .taskmaster/CLAUDE.md (the agent guide)")
    for name, text in SLASH_COMMANDS.items():
        write_text(root / COMMANDS_DIR / f"{name}.md", text)
    done.append(f"wrote {len(SLASH_COMMANDS)} slash commands in {COMMANDS_DIR}/")
    done.append(_mcp_json(root))
    return done


def remove_claude(root: Path) -> list[str]:
    """Undo add_claude: the guide, the slash commands, the import in CLAUDE.md and the MCP entry."""
    root = Path(root)
    done = []
    guide = root / ".taskmaster" / "CLAUDE.md"
    if guide.exists():
        guide.unlink()
        done.append("removed .taskmaster/CLAUDE.md")
    if (root / COMMANDS_DIR).is_dir():
        shutil.rmtree(root / COMMANDS_DIR)
        done.append(f"removed {COMMANDS_DIR}/")
    claude_md = root / "CLAUDE.md"
    if claude_md.exists():
        text = claude_md.read_text(encoding="utf-8")
        rest = text.replace(IMPORT_BLOCK, "").replace(IMPORT_LINE + "\n", "")
        if rest != text:
            if rest.strip() in ("", "# Claude Code Instructions"):
                claude_md.unlink()
                done.append("removed CLAUDE.md")
            else:
                write_text(claude_md, rest.rstrip("\n") + "\n")
                done.append("removed the guide's import from CLAUDE.md")
    mcp = root / ".mcp.json"
    data = _read_mcp(mcp)
    servers = data.get("mcpServers")
    if isinstance(servers, dict) and servers.pop(MCP_SERVER, None) is not None:
        write_text(mcp, json.dumps(data, indent="\t") + "\n")
        done.append(f"removed the {MCP_SERVER} server from .mcp.json")
    return done
