"""Example files shipped with the package: a PRD, build plans, a Task Master database and a stack-runner
plugin. `claude-orchestrator examples [DIR]` copies them into a folder (default `./examples`), so the
README's walkthrough runs from an installed package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

FILES = ("prd.txt", "plan_python_node.json", "plan_rust.json", "tasks.json", "audit_plugin.py")


def copy_examples(folder: Path) -> tuple[list[Path], list[Path]]:
    """Write the example files into `folder` (created if needed); files already there are kept as they are.
    Returns (written, kept)."""
    from ..files import create_text

    folder.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    here = resources.files(__name__)
    for name in FILES:
        target = folder / name
        if create_text(target, here.joinpath(name).read_text(encoding="utf-8")):
            written.append(target)
        else:
            kept.append(target)
    return written, kept
