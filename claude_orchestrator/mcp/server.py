"""The MCP server: Task Master's tools (same names, parameters and answers) over our library, plus run control.

Success is Task Master's envelope: one text block holding ``{"data": …, "version": {…}, "tag": …}``. A
failure is a text block ``Error: <message>\\nVersion: …\\nName: …[\\nCurrent Tag: …]`` with ``isError``:
the message says what was wrong, and the server keeps serving. Handlers run in worker threads, so a long
model call does not stall the session; writes go through the tasks.json lock like every other writer."""

from __future__ import annotations

import functools
import inspect
import json
import keyword
import logging
import os
from typing import Annotated, Any

import anyio
from pydantic import Field

try:  # mcp >= 2
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef,attr-defined]
from mcp.types import CallToolResult, ToolAnnotations

from .. import __version__
from ..errors import OrchestratorError
from . import tiers
from .spec import FILE, PROJECT_ROOT, TAG, Call, Param, ToolSpec

log = logging.getLogger(__name__)

SERVER_NAME = "task-master-ai"  # Claude Code names the tools mcp__task-master-ai__<tool>, as for Task Master
VERSION = {"version": __version__, "name": "claude-orchestrator"}
INSTRUCTIONS = (
    "Task Master-compatible task database (.taskmaster/tasks/tasks.json) and claude-orchestrator run "
    "control. Pass projectRoot (the project's absolute path) to every tool."
)


def _text_result(text: str, error: bool = False) -> CallToolResult:
    # by alias, so it validates on mcp 1.x (camelCase fields) and 2.x (snake_case fields, camelCase aliases)
    return CallToolResult.model_validate({"content": [{"type": "text", "text": text}], "isError": error})


def success(data: Any, tag: str | None) -> CallToolResult:
    body: dict[str, Any] = {"data": data, "version": VERSION}
    if tag:
        body["tag"] = tag
    return _text_result(json.dumps(body, indent=2, ensure_ascii=False, default=str))


def failure(message: str, tag: str | None) -> CallToolResult:
    text = f"Error: {message}\nVersion: {VERSION['version']}\nName: {VERSION['name']}"
    if tag:
        text += f"\nCurrent Tag: {tag}"
    return _text_result(text, error=True)


def invoke(spec: ToolSpec, args: dict[str, Any]) -> CallToolResult:
    """Run one tool call to its result; expected failures and bugs alike become an error result."""
    call = Call(spec.name, args)
    try:
        call.open(spec.needs_project, tasks_file=any(p is FILE for p in spec.params))
        data = spec.handler(call)
        return success(data, call.envelope_tag())
    except OrchestratorError as e:
        return failure(str(e), call.envelope_tag())
    except Exception as e:  # a bug must not end the session: say what happened, log the traceback
        log.exception("tool %s failed", spec.name)
        return failure(f"{spec.name} failed unexpectedly: {type(e).__name__}: {e}", call.envelope_tag())


def _signature(params: tuple[Param, ...]) -> inspect.Signature:
    out = []
    for p in params:
        py = p.name + "_" if keyword.iskeyword(p.name) else p.name
        field = (
            Field(description=p.description, alias=p.name)
            if py != p.name
            else Field(description=p.description)
        )
        if p.required:
            out.append(
                inspect.Parameter(py, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[p.type, field])
            )
        else:
            out.append(
                inspect.Parameter(
                    py,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=p.default,
                    annotation=Annotated[p.type, field],  # no `| None`: a shorter schema per tool
                )
            )
    return inspect.Signature(out, return_annotation=CallToolResult)


def all_params(spec: ToolSpec) -> tuple[Param, ...]:
    """projectRoot first, the tool's own parameters, then `tag` (on every tool)."""
    own = tuple(p for p in spec.params if p.name not in ("projectRoot", "tag"))
    return (PROJECT_ROOT, *own, TAG)


def register(server: Any, spec: ToolSpec) -> None:
    params = all_params(spec)

    async def tool(**kwargs: Any) -> CallToolResult:
        args = {p.name: kwargs.get(p.name, kwargs.get(p.name + "_")) for p in params}
        return await anyio.to_thread.run_sync(functools.partial(invoke, spec, args))

    tool.__signature__ = _signature(params)  # type: ignore[attr-defined]
    tool.__name__ = spec.name
    annotations = ToolAnnotations.model_validate(
        {
            "title": spec.title or spec.name.replace("_", " ").capitalize(),
            "readOnlyHint": spec.read_only or None,
            "destructiveHint": spec.destructive or None,
        }
    )
    server.add_tool(
        tool, name=spec.name, description=spec.description, annotations=annotations, structured_output=False
    )


def build_server(tools: str | None = None, *, name: str = SERVER_NAME) -> Any:
    """A server with the tools of a tier: `tools` (else TASK_MASTER_TOOLS, else "core"): core, standard, all,
    or a comma list of tool names."""
    mode = tools if tools is not None else os.environ.get("TASK_MASTER_TOOLS", "")
    specs = tiers.registry()
    names, warnings = tiers.select(mode, list(specs))
    for w in warnings:
        log.warning(w)
    server = Server(name, instructions=INSTRUCTIONS, log_level="WARNING")
    for n in names:
        register(server, specs[n])
    return server


__all__ = ["SERVER_NAME", "build_server", "failure", "invoke", "success"]
