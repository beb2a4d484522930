"""A recorded request to the fake API, with helpers a scripted model uses to route on its content."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names; auth values are masked
    body: dict[str, Any]
    index: int = 0
    ts: float = field(default_factory=time.time)
    status: int | None = None  # filled in once answered
    request_id: str = ""

    @property
    def endpoint(self) -> str:
        return self.path.split("?", 1)[0]

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools") or [])

    @property
    def tool_names(self) -> list[str]:
        return [str(t.get("name")) for t in self.tools]

    def has_tool(self, name: str) -> bool:
        return name in self.tool_names

    @property
    def system_text(self) -> str:
        system = self.body.get("system")
        if isinstance(system, list):
            return "\n".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
        return str(system or "")

    @property
    def last_message(self) -> dict[str, Any]:
        msgs = [m for m in self.messages if m.get("role") in ("user", "assistant")]
        return msgs[-1] if msgs else {}

    def _blocks(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        content = msg.get("content")
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        return [b for b in content or [] if isinstance(b, dict)]

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (tool results excluded)."""
        for msg in reversed(self.messages):
            if msg.get("role") == "user":
                texts = [b.get("text", "") for b in self._blocks(msg) if b.get("type") == "text"]
                if texts:
                    return "\n".join(texts)
        return ""

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """tool_result blocks of the last message, when it is a user message."""
        last = self.last_message
        if last.get("role") != "user":
            return []
        return [b for b in self._blocks(last) if b.get("type") == "tool_result"]

    @property
    def turn(self) -> int:
        """How many assistant turns the conversation already holds."""
        return sum(1 for m in self.messages if m.get("role") == "assistant")

    def describe(self) -> str:
        """One line naming the request: endpoint, model and the first line of the last user text."""
        first = self.last_user_text.strip().split("\n", 1)[0]
        text = first if len(first) <= 80 else first[:77] + "..."
        return f"request {self.index} ({self.method} {self.endpoint}, model {self.model!r}, last user text {text!r})"

    @property
    def auth_kind(self) -> str:
        if "x-api-key" in self.headers:
            return "x-api-key"
        if "authorization" in self.headers:
            return "bearer"
        return "none"
