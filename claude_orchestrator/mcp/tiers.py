"""Which tools a session gets (`TASK_MASTER_TOOLS`, as Task Master reads it): `core` (the default; `lean`
is an alias), `standard`, `all`, or a comma list of tool names. Every tool's description and schema costs
context tokens in each session, so the default stays small: Task Master's 7 core tools plus our 4 run tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .spec import ToolSpec

CORE = ("get_tasks", "next_task", "get_task", "set_task_status", "update_subtask", "parse_prd", "expand_task")
STANDARD_EXTRA = (
    "initialize_project",
    "analyze_project_complexity",
    "expand_all",
    "add_subtask",
    "remove_task",
    "add_task",
    "complexity_report",
)
RUN = ("run_tasks", "run_status", "run_log", "cancel_run")  # ours: names Task Master does not use
TIERS = {
    "core": (*CORE, *RUN),
    "standard": (*CORE, *STANDARD_EXTRA, *RUN),
}
ALIASES = {"lean": "core"}


def registry() -> dict[str, ToolSpec]:
    """Every tool this server has, by name, in a stable order."""
    from . import tools_ai, tools_edit, tools_graph, tools_read, tools_runs, tools_tags

    out: dict[str, ToolSpec] = {}
    for module in (tools_read, tools_edit, tools_ai, tools_graph, tools_tags, tools_runs):
        for spec in module.TOOLS:
            out[spec.name] = spec
    return out


def _normal(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def select(mode: str, available: list[str]) -> tuple[list[str], list[str]]:
    """(tool names to register, warnings). Unknown names in a list are skipped with a warning; a list
    with no known name loads every tool, as Task Master does."""
    key = ALIASES.get(mode.strip().lower(), mode.strip().lower()) or "core"
    if key == "all":
        return list(available), []
    if key in TIERS:
        return [n for n in TIERS[key] if n in available], []
    by_normal = {_normal(n): n for n in available}
    chosen: list[str] = []
    unknown: list[str] = []
    for part in mode.split(","):
        if not part.strip():
            continue
        name = by_normal.get(_normal(part))
        if name is None:
            unknown.append(part.strip())
        elif name not in chosen:
            chosen.append(name)
    warnings = [f"TASK_MASTER_TOOLS: unknown tool(s) {', '.join(unknown)}"] if unknown else []
    if not chosen:
        warnings.append("TASK_MASTER_TOOLS names no known tool: loading every tool")
        return list(available), warnings
    return chosen, warnings
