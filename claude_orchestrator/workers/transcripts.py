"""What a worker ran, read back from its transcript: the commands (Claude Code's Bash, our run_command)
and their output, given to the reviewer as the task's test output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COMMAND_TOOLS = {"Bash": "command", "run_command": "command"}


def _blocks(obj: Any) -> list[dict[str, Any]]:
    """Content blocks of one transcript line (Claude Code messages or Messages API turns)."""
    content = obj.get("content") if isinstance(obj, dict) else None
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return "" if content is None else str(content)


def command_outputs(path: str | Path | None, *, last: int = 3, max_chars: int = 6000) -> str:
    """The last `last` commands the worker ran with their output ("" when none or no transcript)."""
    if not path or not Path(path).is_file():
        return ""
    commands: dict[str, str] = {}
    runs: list[tuple[str, str, bool]] = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        for b in _blocks(obj):
            name = b.get("name")
            if name in COMMAND_TOOLS and isinstance(b.get("input"), dict) and b.get("id"):
                commands[str(b["id"])] = str(b["input"].get(COMMAND_TOOLS[name], ""))
            elif b.get("tool_use_id") in commands:
                runs.append(
                    (commands[str(b["tool_use_id"])], _text(b.get("content")), bool(b.get("is_error")))
                )
    if not runs:
        return ""
    per = max(200, max_chars // min(last, len(runs)))
    parts = []
    for cmd, out, err in runs[-last:]:
        out = out if len(out) <= per else out[: per // 3] + "\n[...]\n" + out[-(2 * per) // 3 :]
        parts.append(f"$ {cmd}{'  (failed)' if err else ''}\n{out.rstrip()}")
    return "\n\n".join(parts)
