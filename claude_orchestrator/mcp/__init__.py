"""`claude-orchestrator mcp`: a stdio MCP server that stands in for Task Master's (same tool names, parameters
and answers, over the same tasks.json) and adds run control, plus its set-up (`mcp install`).

server (the envelope, registration, tiers in use), spec (how a tool is declared; the call's project),
tiers (TASK_MASTER_TOOLS), tools_* (the tools by family)."""

from __future__ import annotations

from .server import SERVER_NAME, build_server

__all__ = ["SERVER_NAME", "build_server"]
