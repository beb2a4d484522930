"""Helpers for the task-master tests: projects on disk, our CLI and the real task-master-ai CLI as processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
REAL_DEFAULT = REPO / ".cache" / "task-master-ai" / "node_modules" / ".bin" / "task-master"
SECRET_ENV = ("KEY", "TOKEN", "SECRET", "WEBHOOK")


def ours_bin() -> str:
    """The installed console script next to this interpreter."""
    cand = Path(sys.executable).parent / "task-master"
    return str(cand) if cand.exists() else shutil.which("task-master") or str(cand)


def real_bin() -> str | None:
    path = os.environ.get("TASK_MASTER_AI_BIN") or str(REAL_DEFAULT)
    return path if Path(path).exists() else None


def require_real() -> str:
    """The real CLI's path; in CI (CI set) its absence is a failure, not a skip."""
    path = real_bin()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(
                "task-master-ai is required in CI (set TASK_MASTER_AI_BIN or run scripts/install_oracles.sh)"
            )
        pytest.skip("task-master-ai CLI not installed (scripts/install_oracles.sh installs it)")
    return path


def task(
    tid: int, status: str = "pending", deps: list[Any] | None = None, priority: str = "medium", **kw: Any
):
    out = {
        "id": tid,
        "title": f"Task {tid}",
        "description": f"Description of task {tid}",
        "status": status,
        "priority": priority,
        "dependencies": deps or [],
        "details": "",
        "testStrategy": "",
        "subtasks": [],
    }
    out.update(kw)
    return out


def sub(sid: int, status: str = "pending", deps: list[Any] | None = None, **kw: Any) -> dict[str, Any]:
    out = {"id": sid, "title": f"Sub {sid}", "description": "d", "status": status, "dependencies": deps or []}
    out.update(kw)
    return out


def make_project(
    root: Path, tasks: list[dict[str, Any]] | None = None, tagged: bool = True, **tags: Any
) -> Path:
    """A project folder with .taskmaster/ (as `init` makes it) and, if given, a tasks.json."""
    from claude_orchestrator.taskmaster.store import init_project

    root.mkdir(parents=True, exist_ok=True)
    init_project(root, "demo")
    if tasks is not None or tags:
        body: dict[str, Any]
        if tagged:
            body = {"master": {"tasks": tasks or [], "metadata": {"created": "2025-01-01T00:00:00.000Z"}}}
            for name, ts in tags.items():
                body[name] = {"tasks": ts, "metadata": {}}
        else:
            body = {"tasks": tasks or []}
        tasks_path(root).write_text(json.dumps(body, indent=2))
    return root


def tasks_path(root: Path) -> Path:
    return root / ".taskmaster" / "tasks" / "tasks.json"


def read_json(root: Path) -> Any:
    return json.loads(tasks_path(root).read_text())


def clean_env(home: Path | None = None) -> dict[str, str]:
    """The environment minus anything secret; HOME/TMPDIR moved to temp dirs when ``home`` is given."""
    env = {k: v for k, v in os.environ.items() if not any(s in k.upper() for s in SECRET_ENV)}
    if home is not None:
        (home / "home").mkdir(parents=True, exist_ok=True)
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        env["HOME"] = str(home / "home")
        env["TMPDIR"] = str(home / "tmp")
    env["NO_COLOR"] = "1"
    env["FORCE_COLOR"] = "0"
    return env


def run_ours(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [ours_bin(), *args], cwd=cwd, capture_output=True, text=True, env=clean_env(), timeout=60
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"task-master {args} exited {proc.returncode}: {proc.stderr}")
    return proc


def run_real(
    args: list[str], cwd: Path, scratch: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    path = require_real()
    proc = subprocess.run(
        [path, *args], cwd=cwd, capture_output=True, text=True, env=clean_env(scratch), timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"real task-master {args} exited {proc.returncode}: {proc.stdout}\n{proc.stderr}"
        )
    return proc


def first_json(text: str) -> Any:
    """The first JSON object in a command's output (the real CLI prints banners around it)."""
    dec = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch == "{" and (i == 0 or text[i - 1] == "\n"):
            try:
                return dec.raw_decode(text[i:])[0]
            except json.JSONDecodeError:
                continue
    raise AssertionError(f"no JSON object in output:\n{text[:2000]}")


def summary(list_json: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """id -> (status, sorted string deps) for tasks and subtasks of a `list --json` answer."""
    out: dict[str, tuple[str, list[str]]] = {}
    for t in list_json["tasks"]:
        out[str(t["id"])] = (t["status"], sorted(str(d) for d in t.get("dependencies", [])))
        for s in t.get("subtasks") or []:
            deps = [str(d) if "." in str(d) else f"{t['id']}.{d}" for d in s.get("dependencies", [])]
            out[f"{t['id']}.{s['id']}"] = (s.get("status", "pending"), sorted(deps))
    return out
