"""JSON answers that must match a pydantic model: find the JSON in a reply, validate, explain failures."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import pydantic

M = TypeVar("M", bound=pydantic.BaseModel)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


class InvalidAnswer(ValueError):
    """The reply held no valid instance; the message is fit to send back to the model."""


def extract_json(text: str) -> Any:
    """The JSON value in `text`: the whole text, a fenced block, or the outermost {...} / [...]."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    for open_c, close_c in (("{", "}"), ("[", "]")):
        i, j = text.find(open_c), text.rfind(close_c)
        if 0 <= i < j:
            candidates.append(text[i : j + 1])
    last: json.JSONDecodeError | None = None
    for cand in candidates:
        if not cand:
            continue
        try:
            return json.loads(cand)
        except json.JSONDecodeError as e:
            last = e
    where = f" ({last.msg} at line {last.lineno} column {last.colno})" if last else ""
    raise InvalidAnswer(f"the answer contained no parseable JSON{where}")


def parse_answer(schema: type[M], text: str) -> M:
    data = extract_json(text)
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as e:
        problems = []
        for err in e.errors()[:12]:
            loc = ".".join(str(p) for p in err["loc"]) or "(root)"
            problems.append(f"{loc}: {err['msg']}")
        raise InvalidAnswer("the JSON did not match the schema: " + "; ".join(problems)) from None


def repair_prompt(problem: str) -> str:
    return (
        f"Your previous answer was not valid: {problem}.\n"
        "Reply again with only the corrected JSON value that matches the schema, and nothing else."
    )


def schema_instructions(schema: type[pydantic.BaseModel]) -> str:
    return "Answer with a single JSON value that matches this JSON Schema, and nothing else:\n" + json.dumps(
        schema.model_json_schema(), separators=(",", ":")
    )
