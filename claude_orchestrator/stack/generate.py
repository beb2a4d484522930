"""`generate`: the manager model writes a build plan from a request; the plan is validated (and re-asked
with its problems) before the stack runner executes it. See claude_orchestrator.manager.plans."""

from __future__ import annotations

from typing import Any

from ..config import OrchestratorConfig
from .plan import Plan

PROMPT_NAME = "build_plan"


def build_prompt(request: str, cfg: OrchestratorConfig) -> tuple[str, str]:
    """(system, user) text of the build-plan prompt for `request`."""
    from ..prompts import render

    prompt = render(PROMPT_NAME, request=request.strip(), max_file_bytes=cfg.stack.max_file_bytes)
    return prompt.system, prompt.user


def generate_plan_for(request: str, cfg: OrchestratorConfig, llm: Any = None) -> Plan:
    from ..manager.plans import generate_plan

    system, user = build_prompt(request, cfg)
    plan: Plan = generate_plan(request, system=system, user=user, cfg=cfg, llm=llm)
    return plan
