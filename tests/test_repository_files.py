"""The repository runs on itself: its own orchestrator_config.json and .taskmaster/ roadmap are valid."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from claude_orchestrator.config import load_config
from claude_orchestrator.taskmaster.graph import TaskGraph
from claude_orchestrator.taskmaster.store import TaskStore

ROOT = Path(__file__).resolve().parent.parent


def _leaves(d: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and v and k != "pricing":
            out += _leaves(v, path + ".")
        else:
            out.append(path)
    return out


def test_own_config_loads_and_every_key_is_documented_in_the_readme() -> None:
    import json

    cfg_file = ROOT / "orchestrator_config.json"
    load_config(cfg_file)  # validates: unknown keys are rejected by name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [ln for ln in readme.splitlines() if ln.startswith("| `")]
    undocumented = []
    for key in _leaves(json.loads(cfg_file.read_text(encoding="utf-8"))):
        section, _, name = key.rpartition(".")
        ok = any(
            f"`{key}`" in row
            or (section and row.startswith(f"| `{section}.") and re.search(rf"\b{re.escape(name)}\b", row))
            or (section.startswith("models.") and "`models.*." in row and name in row)
            for row in rows
        )
        if not ok:
            undocumented.append(key)
    assert undocumented == []


def test_own_roadmap_is_a_valid_task_master_database() -> None:
    store = TaskStore(ROOT)
    tag = store.load("master")
    TaskGraph(tag).check()  # no unknown ids, no cycles
    assert len(tag.tasks) >= 5
    assert all(t.title and t.description for t in tag.tasks)
