"""The `build` backend: a task that carries a build plan is built by the stack runner.

A task carries a plan in ``task["metadata"]["plan"]`` or as a fenced ```json block in ``task["details"]``
that parses as a plan. The run engine wraps ``run_build_task`` in its Worker interface and records the
BuildResult (folder, stacks, run command, log) with the task.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import OrchestratorConfig
from ..errors import BuildError, PlanError, WorkerError
from ..stack.plan import Plan, parse_plan

_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n(.*?)\n[ \t]*```", re.DOTALL)


@dataclass
class BuildResult:
    folder: Path | None
    stacks: list[str]
    run_command: str | None
    log_path: Path | None
    ok: bool
    commands_ran: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["folder"] = str(self.folder) if self.folder else None
        d["log_path"] = str(self.log_path) if self.log_path else None
        return d


def _looks_like_plan(data: Any) -> bool:
    return isinstance(data, (dict, list)) and (
        isinstance(data, list) or "files" in data or all(isinstance(v, str) for v in data.values())
    )


def plan_from_task(task_dict: dict[str, Any], *, max_file_bytes: int = 1_000_000) -> Plan | None:
    """The build plan a task carries, or None when it carries none.

    metadata.plan wins; else the first ```json fenced block of details that is a plan. A plan that is
    present but invalid raises PlanError (a task should fail loudly, not silently fall to another backend).
    """
    meta = task_dict.get("metadata")
    if isinstance(meta, dict) and meta.get("plan") is not None:
        raw = meta["plan"]
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError as e:
                raise PlanError([f"metadata.plan: malformed JSON at line {e.lineno}: {e.msg}"]) from None
        return parse_plan(raw, max_file_bytes=max_file_bytes)
    details = task_dict.get("details")
    if not isinstance(details, str):
        return None
    for block in _FENCE.findall(details):
        try:
            data = json.loads(block)
        except json.JSONDecodeError:
            continue
        if _looks_like_plan(data) and (isinstance(data, list) or "files" in data):
            return parse_plan(data, max_file_bytes=max_file_bytes)
    return None


def run_build_task(
    task_dict: dict[str, Any], out_dir: Path, cfg: OrchestratorConfig | None = None
) -> BuildResult:
    """Build the task's plan under out_dir. A failed build step gives ok=False (with the log);
    a task without a plan raises WorkerError; an invalid plan raises PlanError; a veto PlanRejected."""
    from ..stack.plugins import load_plugins
    from ..stack.runner import execute_plan

    cfg = cfg or OrchestratorConfig()
    plan = plan_from_task(task_dict, max_file_bytes=cfg.stack.max_file_bytes)
    if plan is None:
        raise WorkerError(f"task {task_dict.get('id', '?')} carries no build plan")
    dirs = [Path(cfg.stack.plugins_dir)] if cfg.stack.plugins_dir else []
    plugins = load_plugins(dirs)
    try:
        res = execute_plan(plan, out_dir, cfg=cfg, plugins=plugins)
    except BuildError as e:
        log = e.fields.get("log")
        log_path = Path(str(log)) if log else None
        folder = log_path.parent.parent if log_path else None
        return BuildResult(folder, [], None, log_path, False, [], str(e).splitlines()[0])
    return BuildResult(res.project_dir, res.stacks, res.run_command, res.log_path, True, res.commands_ran)
