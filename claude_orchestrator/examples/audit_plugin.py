"""Example stack-runner plugin: an NDJSON audit log plus a small blocking policy.

Use it with `claude-orchestrator execute plan.json --plugins-dir examples/` (or copy it into the folder
named by `stack.plugins_dir`). Settings come from the environment:

  ORCH_AUDIT_LOG         where to append audit records (default: ./orchestrator-audit.ndjson)
  ORCH_AUDIT_MAX_FILES   largest number of files a plan may have (default: 200)

Policy (a violation raises PlanRejected, which stops the build before anything is written):
  - no secret-looking files (.env, *.pem, *.key, id_rsa...)
  - no post_install command that downloads or escalates (curl, wget, sudo, ssh, nc, rm -rf /)
  - at most ORCH_AUDIT_MAX_FILES files
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from claude_orchestrator.errors import PlanRejected
from claude_orchestrator.stack.plugins import hookimpl

PLUGIN_NAME = "audit"
SECRET_PATTERNS = (".env", ".env.*", "*.pem", "*.key", "id_rsa*", "id_ed25519*", "*.p12", "credentials*.json")
RISKY_COMMAND = re.compile(r"\b(curl|wget|sudo|ssh|scp|nc|ncat)\b|rm\s+-rf\s+/")


def _log_path() -> Path:
    return Path(os.environ.get("ORCH_AUDIT_LOG", "orchestrator-audit.ndjson"))


def _record(event: str, **data: Any) -> None:
    entry = {"ts": time.time(), "event": event, **data}
    with _log_path().open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, default=str) + "\n")


def policy_violations(plan: dict[str, Any]) -> list[str]:
    problems = []
    max_files = int(os.environ.get("ORCH_AUDIT_MAX_FILES", "200"))
    files = plan.get("files", [])
    if len(files) > max_files:
        problems.append(f"{len(files)} files (policy allows {max_files})")
    for f in files:
        name = f["path"].rsplit("/", 1)[-1]
        if any(fnmatch.fnmatch(name, p) for p in SECRET_PATTERNS):
            problems.append(f"secret-looking file {f['path']}")
    for cmd in plan.get("post_install", []):
        if RISKY_COMMAND.search(cmd):
            problems.append(f"risky post_install command {cmd!r}")
    return problems


@hookimpl
def pre_execute(plan: dict[str, Any]) -> None:
    problems = policy_violations(plan)
    _record(
        "plan_blocked" if problems else "plan_allowed",
        name=plan["name"],
        files=len(plan["files"]),
        post_install=plan["post_install"],
        run=plan["run"],
        problems=problems,
    )
    if problems:
        raise PlanRejected(f"audit policy blocked plan {plan['name']!r}: " + "; ".join(problems))


@hookimpl
def post_build(stack: str, folder: Path, result: dict[str, Any]) -> None:
    _record("component_built", stack=stack, folder=str(folder), tool=result.get("tool"))


@hookimpl
def post_execute(plan: dict[str, Any], result: dict[str, Any]) -> None:
    _record(
        "plan_executed",
        name=plan["name"],
        project_dir=result["project_dir"],
        stacks=result["stacks"],
        commands_ran=result["commands_ran"],
    )


@hookimpl
def pre_run(project_dir: Path) -> None:
    _record("run_started", project_dir=str(project_dir))


@hookimpl
def post_run(project_dir: Path, returncode: int) -> None:
    _record("run_finished", project_dir=str(project_dir), returncode=returncode)
