"""`claude-orchestrator mcp install` and `init --mcp`: the .mcp.json entry (never a secret), the user-scope
`claude mcp add` line (run through the real Claude Code CLI), and an entry that really starts the server."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mcp.client.stdio import StdioServerParameters
from mcp_helpers import session
from test_claude_cli_fake import cli_path

from claude_orchestrator.cli.main import cli

SECRET = "sk-ant-secret-value-123"


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_project_scope_writes_the_entry_and_drops_secrets(tmp_path: Path) -> None:
    mcp_file = tmp_path / ".mcp.json"
    mcp_file.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "task-master-ai": {
                        "command": "npx",
                        "args": ["-y", "task-master-ai"],
                        "env": {"ANTHROPIC_API_KEY": SECRET, "TASK_MASTER_TOOLS": "all"},
                    },
                    "other": {"command": "other-server"},
                },
                "keep": True,
            }
        )
    )
    res = invoke("mcp", "install", "-d", str(tmp_path))
    assert res.exit_code == 0, res.output
    assert "replaced the 'task-master-ai' entry" in res.output and "ANTHROPIC_API_KEY" in res.output
    assert SECRET not in res.output and SECRET not in mcp_file.read_text()
    data = json.loads(mcp_file.read_text())
    assert data["keep"] is True and data["mcpServers"]["other"] == {"command": "other-server"}
    ours = data["mcpServers"]["task-master-ai"]
    assert ours["args"][-1] == "mcp" and ours["env"] == {"TASK_MASTER_TOOLS": "core"}
    res = invoke(
        "mcp", "install", "-d", str(tmp_path), "--name", "claude-orchestrator", "--tools", "standard"
    )
    assert res.exit_code == 0
    assert json.loads(mcp_file.read_text())["mcpServers"]["claude-orchestrator"]["env"] == {
        "TASK_MASTER_TOOLS": "standard"
    }


def test_a_malformed_mcp_json_is_left_alone(tmp_path: Path) -> None:
    mcp_file = tmp_path / ".mcp.json"
    mcp_file.write_text("{not json")
    res = CliRunner().invoke(cli, ["mcp", "install", "-d", str(tmp_path)])
    assert res.exit_code == 2 and "not valid JSON" in res.output
    assert mcp_file.read_text() == "{not json"


def test_init_offers_it(tmp_path: Path) -> None:
    res = invoke("init", "-d", str(tmp_path / "a"))
    assert "claude-orchestrator mcp install" in res.output and not (tmp_path / "a" / ".mcp.json").exists()
    res = invoke("init", "-d", str(tmp_path / "b"), "--mcp")
    assert res.exit_code == 0, res.output
    assert "task-master-ai" in json.loads((tmp_path / "b" / ".mcp.json").read_text())["mcpServers"]


def test_the_entry_starts_our_server(tmp_path: Path) -> None:
    invoke("init", "-d", str(tmp_path), "--mcp")
    entry = json.loads((tmp_path / ".mcp.json").read_text())["mcpServers"]["task-master-ai"]
    env = {**os.environ, **entry["env"], "PYTHONPATH": os.pathsep.join(sys.path)}
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=env, cwd=str(tmp_path))
    with session(params) as s:
        assert {"get_tasks", "next_task", "run_tasks"} <= set(s.tool_names())
        r = s.call("get_tasks", {"projectRoot": str(tmp_path)})
        assert not r.is_error and r.data["tasks"] == []


@pytest.mark.claude_cli
def test_user_scope_line_works_with_claude_code(tmp_path: Path) -> None:
    res = invoke("mcp", "install", "--scope", "user")
    line = next(x.strip() for x in res.output.splitlines() if x.strip().startswith("claude mcp add"))
    argv = shlex.split(line)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "DISABLE_AUTOUPDATER": "1"}
    claude = str(cli_path())
    added = subprocess.run(
        [claude, *argv[1:]], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert added.returncode == 0, added.stderr
    got = subprocess.run(
        [claude, "mcp", "get", "task-master-ai"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "Scope: User" in got.stdout and argv[argv.index("--") + 1] in got.stdout, got.stdout + got.stderr
    assert "TASK_MASTER_TOOLS=core" in got.stdout
