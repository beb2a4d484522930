"""The complexity report (.taskmaster/reports/task-complexity-report[_<tag>].json): where it lives, reading it,
and the fields `list --json` merges into each task from it, as task-master's new core does."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import InputError
from .model import DEFAULT_TAG


def report_path(root: Path, tag: str) -> Path:
    reports = Path(root) / ".taskmaster" / "reports"
    if tag == DEFAULT_TAG:
        return reports / "task-complexity-report.json"
    slug = re.sub(r"[^a-zA-Z0-9_-]", "-", tag).lower()[:50]
    return reports / f"task-complexity-report_{slug}.json"


def read_report(path: Path) -> dict[str, Any] | None:
    """The report at `path`, None when there is none; malformed JSON is bad input."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: malformed complexity report: {e}") from None
    return data if isinstance(data, dict) else None


def complexity_by_task(store: Any, tag: str) -> dict[str, dict[str, Any]]:
    """task id -> the fields the new core merges into a listed task (complexity, recommendedSubtasks,
    expansionPrompt, complexityReasoning), from the tag's report. A report without `meta` or with a
    malformed body is ignored, as the original does."""
    try:
        report = read_report(report_path(store.root, tag))
    except InputError:
        return {}
    if not report or not isinstance(report.get("meta"), dict):
        return {}
    items = report.get("complexityAnalysis")
    out: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or "taskId" not in item:
            continue
        out[str(item["taskId"])] = {
            "complexity": item.get("complexityScore"),
            "recommendedSubtasks": item.get("recommendedSubtasks"),
            "expansionPrompt": item.get("expansionPrompt"),
            "complexityReasoning": item.get("complexityReasoning"),
        }
    return out
