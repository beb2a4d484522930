"""The manager writes a build plan for `claude-orchestrator generate`: JSON in its answer (fenced or not),
validated by the stack runner's plan schema, re-asked with the problems up to a bound."""

from __future__ import annotations

from typing import Any

from ..config import OrchestratorConfig
from ..errors import PlanError, StructuredOutputError


def generate_plan(request: str, *, system: str, user: str, cfg: OrchestratorConfig, llm: Any = None) -> Any:
    """A validated `stack.plan.Plan` for `request` (the prompt is rendered by stack.generate)."""
    from ..llm import LLM
    from ..llm.structured import extract_json
    from ..stack.plan import parse_plan

    llm = llm or LLM.from_config(cfg)
    role = cfg.models.manager
    messages: list[dict[str, Any]] = [{"role": "user", "content": user}]
    problems: list[str] = []
    for _ in range(1 + cfg.llm.structured_repair_attempts):
        resp = llm.create(
            role="manager",
            model=role.model,
            system=system,
            messages=messages,
            max_tokens=max(role.max_tokens, 32000),
            effort=role.effort,
        )
        try:
            return parse_plan(extract_json(resp.text), max_file_bytes=cfg.stack.max_file_bytes)
        except PlanError as e:
            problems = e.problems
        except (ValueError, TypeError) as e:
            problems = [f"no JSON object in the answer: {e}"]
        messages += [
            {"role": "assistant", "content": resp.text or "(empty)"},
            {
                "role": "user",
                "content": "That plan is invalid: "
                + "; ".join(problems)
                + ". Answer with the whole corrected plan as one JSON object.",
            },
        ]
    raise StructuredOutputError(f"the manager never produced a valid build plan: {'; '.join(problems)}")
