"""claude-orchestrator: run teams of Claude agents on a Task Master-compatible task graph.

The public API, loaded lazily so that `import claude_orchestrator` (and `task-master list`) stays fast:

    OrchestratorConfig, load_config            orchestrator_config.json
    TaskStore, TaskGraph                       the task database and its graph
    Manager                                    plans, expands, reviews (manager/)
    RunEngine, RunOptions, RunReport           `run` (run/engine.py)
    EventBus, Event                            events and observers
    LLM, Ledger                                the model layer (llm/)
    execute_plan, parse_plan                   the stack runner (stack/)
    OrchestratorError                          the root of every error we raise
"""

from __future__ import annotations

from .errors import OrchestratorError

TYPE_CHECKING = False  # not typing's: importing typing is most of this module's start-up time
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_WHERE = {
    "OrchestratorConfig": "config",
    "load_config": "config",
    "TaskStore": "taskmaster.store",
    "TaskGraph": "taskmaster.graph",
    "Manager": "manager",
    "RunEngine": "run.engine",
    "RunOptions": "run.engine",
    "RunReport": "run.engine",
    "EventBus": "events",
    "Event": "events",
    "LLM": "llm",
    "Ledger": "llm",
    "execute_plan": "stack.runner",
    "parse_plan": "stack.plan",
}

__all__ = [
    "LLM",
    "Event",
    "EventBus",
    "Ledger",
    "Manager",
    "OrchestratorConfig",
    "OrchestratorError",
    "RunEngine",
    "RunOptions",
    "RunReport",
    "TaskGraph",
    "TaskStore",
    "__version__",
    "execute_plan",
    "load_config",
    "parse_plan",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
