"""Projects for run tests: a real git repository with `.taskmaster/`, simple tasks, and a model that writes
one file per task (through the api backend's write_file or Claude Code's Write) and passes every review."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from claude_orchestrator.testing.demo_model import request_text
from claude_orchestrator.testing.fake_anthropic import (
    FakeRequest,
    Reply,
    json_reply,
    text_reply,
    tool_use_reply,
)

TASK_RE = re.compile(r"^# Task (\d+(?:\.\d+)?):", re.MULTILINE)
TASKS_JSON = Path(".taskmaster") / "tasks" / "tasks.json"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def task(tid: int, deps: list[int] | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "id": tid,
        "title": f"Task number {tid}",
        "description": f"Do {tid}",
        "status": "pending",
        "priority": "medium",
        "dependencies": deps or [],
        "details": "",
        "testStrategy": "",
        "subtasks": [],
        **kw,
    }


def make_project(
    root: Path,
    tasks: list[dict[str, Any]],
    *,
    track_tasks: bool = False,
    execution: dict[str, Any] | None = None,
) -> Path:
    """A git repository with `claude-orchestrator init` done, `tasks` in tasks.json, all committed (tasks.json
    only when `track_tasks`). `execution`: settings merged into the config's execution section."""
    from claude_orchestrator.project import init_orchestrator

    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    init_orchestrator(root, "t")
    cfg_path = root / "orchestrator_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["execution"].update({"retry_backoff_seconds": 0.05, **(execution or {})})
    cfg_path.write_text(json.dumps(cfg))
    path = root / TASKS_JSON
    path.write_text(json.dumps({"master": {"tasks": tasks, "metadata": {}}}, indent=2))
    git(root, "add", "-A")
    if not track_tasks:
        git(root, "rm", "-q", "--cached", str(path))
    git(root, "commit", "-q", "-m", "start")
    return root


def tasks_of(root: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((root / TASKS_JSON).read_text())
    return {str(t["id"]): t for t in data["master"]["tasks"]}


def task_of(req: FakeRequest) -> str | None:
    m = TASK_RE.search(request_text(req))
    return m.group(1) if m else None


def writer(
    files: Callable[[str], tuple[str, str]] = lambda tid: (f"f{tid}.txt", f"{tid}\n"),
    *,
    before: Callable[[str, FakeRequest], Reply | None] | None = None,
    rejected: tuple[str, ...] = (),
) -> Callable[[FakeRequest], Reply]:
    """A model: each task writes `files(task id)` in one tool call, then says it is done; reviews pass
    (except for the tasks in `rejected`). `before(task id, request)` may answer a worker request first."""

    def model(req: FakeRequest) -> Reply:
        if "reviewing manager" in req.system_text:
            m = re.search(r"^Task (\S+):", req.last_user_text, re.MULTILINE)
            if m and m.group(1) in rejected:
                return json_reply({"verdict": "fail", "issues": ["not good enough"], "follow_ups": []})
            return json_reply({"verdict": "pass", "issues": [], "follow_ups": []})
        tid = task_of(req)
        if tid is None or not (req.has_tool("Write") or req.has_tool("write_file")):
            return text_reply("OK.")  # Claude Code's side requests
        if before is not None:
            early = before(tid, req)
            if early is not None:
                return early
        if req.tool_results:
            return text_reply(f"wrote the file of task {tid}")
        path, body = files(tid)
        tool = "Write" if req.has_tool("Write") else "write_file"
        key = "file_path" if tool == "Write" else "path"
        cwd = re.search(r"(?:[Ww]orking directory|cwd)\s*[:=]\s*`?(/[^\s`'\"]+)", request_text(req))
        target = f"{cwd.group(1)}/{path}" if tool == "Write" and cwd else path
        return tool_use_reply(tool, {key: target, "content": body})

    return model
