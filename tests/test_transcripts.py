"""Test output for the reviewer, read from worker transcripts (both backends' formats)."""

from __future__ import annotations

import json
from pathlib import Path

from claude_orchestrator.workers.transcripts import command_outputs


def write(path: Path, lines: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


def test_claude_code_transcript(tmp_path: Path):
    t = write(
        tmp_path / "t.jsonl",
        [
            {
                "type": "AssistantMessage",
                "content": [{"id": "a", "name": "Bash", "input": {"command": "pytest -q"}}],
            },
            {
                "type": "UserMessage",
                "content": [{"tool_use_id": "a", "content": "3 passed in 0.1s", "is_error": None}],
            },
            {
                "type": "AssistantMessage",
                "content": [{"id": "b", "name": "Write", "input": {"file_path": "x"}}],
            },
            {"type": "UserMessage", "content": [{"tool_use_id": "b", "content": "ok"}]},
        ],
    )
    assert command_outputs(t) == "$ pytest -q\n3 passed in 0.1s"


def test_api_transcript_keeps_the_last_commands_and_marks_failures(tmp_path: Path):
    lines = []
    for i in range(5):
        lines.append(
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": f"c{i}",
                        "name": "run_command",
                        "input": {"command": f"step {i}"},
                    }
                ],
            }
        )
        lines.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"c{i}",
                        "content": [{"type": "text", "text": f"out {i}"}],
                        "is_error": i == 4,
                    }
                ],
            }
        )
    out = command_outputs(write(tmp_path / "t.jsonl", lines), last=2)
    assert out == "$ step 3\nout 3\n\n$ step 4  (failed)\nout 4"


def test_no_transcript_or_no_commands(tmp_path: Path):
    assert command_outputs(None) == ""
    assert command_outputs(tmp_path / "missing.jsonl") == ""
    assert command_outputs(write(tmp_path / "t.jsonl", [{"role": "user", "content": "hi"}])) == ""
