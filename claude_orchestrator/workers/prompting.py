"""The worker prompt, built from a WorkUnit with the `worker` template (prompts/worker.md).

Both model-driven backends (Claude Code and the API tool loop) use the same prompt: the task, its details,
acceptance criteria and test strategy, what its dependencies produced, and the feedback from a previous
attempt (review issues or a merge conflict). A session continued after a crash gets a short user message
instead (`build_resume_prompt`), with the feedback there too: its system prompt stays the one it began with.
"""

from __future__ import annotations

from pathlib import Path

from ..prompts import render
from .base import WorkUnit

TEMPLATE = "worker"
RESUME_TEMPLATE = "worker_resume"
NONE = "(none given)"
MAX_DEP_SUMMARY = 2000  # characters kept of each dependency's summary
MAX_FEEDBACK = 8000


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "\n[... truncated ...]"


def _or_none(text: str) -> str:
    return text.strip() or NONE


def _criteria(unit: WorkUnit) -> str:
    items = [c.strip() for c in unit.acceptance_criteria if c.strip()]
    if not items:
        return "- The task is done as described, and existing tests still pass."
    return "\n".join(f"- {c}" for c in items)


def _files_section(unit: WorkUnit) -> str:
    files = [f for f in unit.relevant_files if f.strip()]
    if not files:
        return ""
    return "\n## Relevant files\n" + "\n".join(f"- {f}" for f in files) + "\n"


def _dependency_section(unit: WorkUnit) -> str:
    if not unit.dependency_results:
        return ""
    parts = ["\n## What the tasks this one depends on produced"]
    for dep_id, summary in unit.dependency_results.items():
        parts.append(f"### Task {dep_id}\n{_clip(summary, MAX_DEP_SUMMARY) or '(no summary)'}")
    return "\n".join(parts) + "\n"


def _feedback_section(unit: WorkUnit) -> str:
    if not unit.feedback or not unit.feedback.strip():
        return ""
    return f"\n## Feedback on the previous attempt (fix all of it)\n{_clip(unit.feedback, MAX_FEEDBACK)}\n"


def build_worker_prompt(unit: WorkUnit, project_root: Path | None = None) -> tuple[str, str]:
    """(system, user) for a worker; `project_root` lets .taskmaster/templates/worker.md override the text."""
    attempt_note = f"(attempt {unit.attempt})\n" if unit.attempt > 1 else ""
    prompt = render(
        TEMPLATE,
        project_root,
        unit_id=unit.unit_id,
        title=unit.title.strip() or f"task {unit.unit_id}",
        attempt_note=attempt_note,
        description=_or_none(unit.description),
        details=_or_none(unit.details),
        criteria=_criteria(unit),
        test_strategy=_or_none(unit.test_strategy),
        files_section=_files_section(unit),
        dependency_section=_dependency_section(unit),
        feedback_section=_feedback_section(unit),
    )
    return prompt.system, prompt.user


def build_resume_prompt(unit: WorkUnit, project_root: Path | None = None) -> str:
    """The user message that continues an interrupted session (which keeps its first system prompt);
    feedback for this attempt, if any, goes here too."""
    prompt = render(
        RESUME_TEMPLATE,
        project_root,
        unit_id=unit.unit_id,
        title=unit.title.strip() or f"task {unit.unit_id}",
        feedback_section=_feedback_section(unit),
    )
    return prompt.user
