"""The stack runner: a JSON build plan (files + run command) becomes a built, runnable project.

    plan = load_plan("plan.json")                      # or parse_plan(data); PlanError lists every problem
    result = execute_plan(plan, Path("generated"), plugins=load_plugins(["plugins/"]))
    status = run_project(result.project_dir, timeout=60, on_output=print)

Modules: plan (schema), apply (safe writing), detect (components per folder), builders_interp /
builders_native (install + build per stack), proc (argv-only steps with timeouts), launcher (run.sh,
running), plugins (pluggy hooks), runner (execute_plan), generate (plan from the manager).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .detect import Component, detect_components
    from .launcher import run_project
    from .plan import Plan, PlanFile, load_plan, parse_plan, parse_plan_text
    from .plugins import StackPlugins, hookimpl, load_plugins
    from .runner import ExecuteResult, execute_plan

# names load lazily: a run reads build plans (plan.py) without loading the builders and pluggy
_WHERE = {
    "Component": "detect",
    "detect_components": "detect",
    "run_project": "launcher",
    "Plan": "plan",
    "PlanFile": "plan",
    "load_plan": "plan",
    "parse_plan": "plan",
    "parse_plan_text": "plan",
    "StackPlugins": "plugins",
    "hookimpl": "plugins",
    "load_plugins": "plugins",
    "ExecuteResult": "runner",
    "execute_plan": "runner",
}

__all__ = [
    "Component",
    "ExecuteResult",
    "Plan",
    "PlanFile",
    "StackPlugins",
    "detect_components",
    "execute_plan",
    "hookimpl",
    "load_plan",
    "load_plugins",
    "parse_plan",
    "parse_plan_text",
    "run_project",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
