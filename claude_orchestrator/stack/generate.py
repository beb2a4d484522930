"""`generate`: the manager model writes a build plan from a request; we validate it.

TODO(lead): wire this to the manager. It calls ``claude_orchestrator.manager.generate_plan`` when that
exists, with the rendered prompt (package file prompts/build_plan.md, system + user parts) and the
config, expecting back a dict (decoded JSON) or the JSON text of the plan:

    generate_plan(request: str, *, system: str, user: str, cfg: OrchestratorConfig) -> dict | str

Until then `generate` raises NeedsFeatureError.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..config import OrchestratorConfig
from ..errors import NeedsFeatureError
from .plan import Plan, parse_plan, parse_plan_text

PROMPT_NAME = "build_plan"


def build_prompt(request: str, cfg: OrchestratorConfig) -> tuple[str, str]:
    """(system, user) text of the build-plan prompt for `request`."""
    from ..manager.prompts import render

    prompt = render(PROMPT_NAME, request=request.strip(), max_file_bytes=cfg.stack.max_file_bytes)
    return prompt.system, prompt.user


def _manager_generate_plan() -> Any:
    try:
        module = importlib.import_module("claude_orchestrator.manager")
    except ImportError:
        return None
    return getattr(module, "generate_plan", None)


def generate_plan_for(request: str, cfg: OrchestratorConfig) -> Plan:
    fn = _manager_generate_plan()
    if fn is None:
        raise NeedsFeatureError("generate needs the manager (not available yet)")
    system, user = build_prompt(request, cfg)
    answer = fn(request, system=system, user=user, cfg=cfg)
    if isinstance(answer, Plan):
        return answer
    if isinstance(answer, str):
        return parse_plan_text(answer, max_file_bytes=cfg.stack.max_file_bytes, source="manager answer")
    return parse_plan(answer, max_file_bytes=cfg.stack.max_file_bytes)
