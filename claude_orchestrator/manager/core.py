"""The manager: PRDs and requests into a sound task graph; expansion, complexity, review.

Every call goes through the LLM layer (role "manager": ledger, budgets, retries, recording); every answer
is validated by pydantic and, where it is a graph, checked — one repair request states the problem, a second
failure is a clear error and nothing is written."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from .. import prompts
from ..errors import StructuredOutputError
from .planning import graph_problems, planned_problems, renumber, subtask_entries, subtask_problems
from .schemas import (
    AddAnswer,
    ComplexityAnswer,
    ExpandAnswer,
    ParsePrdAnswer,
    PickAnswer,
    PlannedSubtask,
    ReviewAnswer,
    UpdateAnswer,
)

if TYPE_CHECKING:
    from ..config import OrchestratorConfig

M = TypeVar("M", bound=BaseModel)

ROLE = "manager"


@dataclass
class Manager:
    llm: Any  # claude_orchestrator.llm.LLM (kept untyped here so importing the manager stays light)
    cfg: OrchestratorConfig
    project_root: Path | None = None
    run_id: str | None = None
    calls: list[str] = field(default_factory=list)

    # -- plumbing -------------------------------------------------------------------------------------
    def _ask(
        self,
        schema: type[M],
        name: str,
        *,
        research: bool = False,
        task_id: str | None = None,
        extra_user: str = "",
        **params: object,
    ) -> M:
        return self._ask_with(schema, name, params, research=research, task_id=task_id, extra_user=extra_user)

    def _ask_with(
        self,
        schema: type[M],
        name: str,
        params: dict[str, object],
        *,
        research: bool,
        task_id: str | None,
        extra_user: str = "",
    ) -> M:
        p = prompts.render(name, self.project_root, **params)
        role_cfg = self.cfg.models.manager
        effort = self.cfg.models.research_effort if research else role_cfg.effort
        self.calls.append(name)
        return self.llm.structured(  # type: ignore[no-any-return]
            schema,
            role=ROLE,
            model=role_cfg.model,
            system=p.system,
            prompt=p.user + (f"\n\n{extra_user}" if extra_user else ""),
            task_id=task_id,
            effort=effort,
            max_tokens=role_cfg.max_tokens,
        )

    def _ask_graph(
        self,
        schema: type[M],
        name: str,
        check: Any,
        *,
        research: bool = False,
        task_id: str | None = None,
        **params: object,
    ) -> M:
        """Ask, check the graph, and on a problem ask once more stating it; fail clearly after that."""
        answer = self._ask_with(schema, name, params, research=research, task_id=task_id)
        problems = check(answer)
        if not problems:
            return answer
        repair = (
            "Your previous answer was:\n"
            + answer.model_dump_json()
            + "\n\nIt has these problems: "
            + "; ".join(problems)
            + ". Fix them (remove or change the offending dependencies) and "
            "return the whole corrected JSON object."
        )
        answer = self._ask_with(schema, name, params, research=research, task_id=task_id, extra_user=repair)
        problems = check(answer)
        if problems:
            raise StructuredOutputError(
                f"the manager's answer is still invalid after one repair: {'; '.join(problems)}; "
                "nothing was written"
            )
        return answer

    # -- parse / add ---------------------------------------------------------------------------------
    def plan_prd(
        self,
        prd_text: str,
        *,
        prd_path: str = "PRD",
        num_tasks: int | None = None,
        next_id: int = 1,
        existing: list[dict[str, Any]] | None = None,
        research: bool = False,
        default_priority: str = "medium",
    ) -> list[dict[str, Any]]:
        """PRD -> tasks.json task entries numbered from `next_id` (validated, graph-checked)."""
        phrase = f"about {num_tasks} tasks" if num_tasks else "an appropriate number of tasks"
        existing_note = ""
        if existing:
            lines = "\n".join(f"- {t['id']}: {t['title']}" for t in existing[:200])
            existing_note = (
                "\nThese tasks already exist and will be kept; plan only the new work, "
                f"without repeating them:\n{lines}\n"
            )
        answer = self._ask_graph(
            ParsePrdAnswer,
            "parse_prd",
            lambda a: planned_problems(a.tasks),
            research=research,
            num_tasks_phrase=phrase,
            default_priority=default_priority,
            prd=prd_text,
            prd_path=prd_path,
            existing_note=existing_note,
            research_note=_research_note(research),
        )
        return renumber(answer.tasks, next_id, default_priority)

    def plan_addition(
        self,
        request: str,
        existing: list[dict[str, Any]],
        *,
        next_id: int,
        decompose: bool = True,
        research: bool = False,
        default_priority: str = "medium",
    ) -> list[dict[str, Any]]:
        """A request -> one task, or a few dependent ones, linked to existing tasks where it says so."""
        existing_ids = {int(t["id"]) for t in existing}

        def check(a: AddAnswer) -> list[str]:
            problems = graph_problems(
                [t.id for t in a.tasks], {t.id: list(t.dependencies or []) for t in a.tasks}
            )
            for t in a.tasks:
                problems += [
                    f"task {t.id} depends on unknown existing task {d}"
                    for d in (t.existingDependencies or [])
                    if d not in existing_ids
                ]
            if not decompose and len(a.tasks) != 1:
                problems.append(f"exactly one task was asked for, got {len(a.tasks)}")
            return problems

        listing = "\n".join(f"- {t['id']} [{t.get('status', 'pending')}] {t['title']}" for t in existing)
        answer = self._ask_graph(
            AddAnswer,
            "add_task",
            check,
            research=research,
            decompose_phrase="a few (2-5) dependent tasks"
            if decompose
            else "(you MUST answer exactly one task)",
            default_priority=default_priority,
            existing=listing or "(none)",
            request=request,
        )
        return renumber(answer.tasks, next_id, default_priority)

    # -- expand / complexity ---------------------------------------------------------------------
    def plan_subtasks(
        self,
        task: dict[str, Any],
        *,
        num: int,
        force: bool = False,
        research: bool = False,
        expansion_prompt: str = "",
        context: str = "",
    ) -> list[dict[str, Any]]:
        """Subtasks for `task` (a tasks.json dict): appended after existing ones unless `force`."""
        parent_id = int(task["id"])
        kept = [] if force else list(task.get("subtasks") or [])
        kept_ids = [int(s["id"]) for s in kept]
        next_id = max(kept_ids, default=0) + 1
        listing = ""
        if kept:
            listing = "Existing subtasks (keep them; continue after them):\n" + "\n".join(
                f"- {s['id']}: {s.get('title', '')}" for s in kept
            )

        def check(a: ExpandAnswer) -> list[str]:
            problems = subtask_problems(kept_ids, a.subtasks)
            problems += [f"subtask id {s.id} is below {next_id}" for s in a.subtasks if s.id < next_id]
            return problems

        answer = self._ask_graph(
            ExpandAnswer,
            "expand_task",
            check,
            research=research,
            task_id=str(parent_id),
            num=num,
            next_id=next_id,
            tid=parent_id,
            title=task.get("title", ""),
            description=task.get("description", ""),
            details=task.get("details", ""),
            test_strategy=task.get("testStrategy", ""),
            existing_subtasks=listing,
            expansion_prompt=f"Guidance: {expansion_prompt}" if expansion_prompt else "",
            context=f"Additional context: {context}" if context else "",
            research_note=_research_note(research),
        )
        subs: list[PlannedSubtask] = answer.subtasks
        return subtask_entries(parent_id, subs)

    def analyze_complexity(self, tasks: list[dict[str, Any]], *, research: bool = False) -> ComplexityAnswer:
        listing = "\n".join(
            json.dumps({k: t.get(k) for k in ("id", "title", "description", "details", "dependencies")})
            for t in tasks
        )
        want = {int(t["id"]) for t in tasks}

        def check(a: ComplexityAnswer) -> list[str]:
            got = {i.taskId for i in a.complexityAnalysis}
            problems = [f"task {i} is missing from complexityAnalysis" for i in sorted(want - got)]
            problems += [f"task {i} was not asked for" for i in sorted(got - want)]
            return problems

        return self._ask_graph(
            ComplexityAnswer,
            "analyze_complexity",
            check,
            research=research,
            tasks=listing,
            research_note=_research_note(research),
        )

    def rewrite_tasks(
        self, tasks: list[dict[str, Any]], prompt: str, *, research: bool = False
    ) -> UpdateAnswer:
        """The tasks' text rewritten to agree with `prompt` (update / update_task); one answer per task."""
        want = [int(t["id"]) for t in tasks]
        listing = "\n".join(
            json.dumps(
                {k: t.get(k) for k in ("id", "title", "description", "details", "testStrategy", "priority")}
            )
            for t in tasks
        )

        def check(a: UpdateAnswer) -> list[str]:
            got = [t.id for t in a.tasks]
            problems = [f"task {i} is missing" for i in want if i not in got]
            problems += [f"task {i} was not asked for" for i in got if i not in want]
            problems += [f"task {i} appears twice" for i in set(got) if got.count(i) > 1]
            return problems

        return self._ask_graph(
            UpdateAnswer,
            "update_tasks",
            check,
            research=research,
            prompt=prompt,
            tasks=listing,
            research_note=_research_note(research),
        )

    # -- best of N ---------------------------------------------------------------------------------
    def pick(
        self, task: dict[str, Any], attempts: dict[int, dict[str, str]], *, max_diff_chars: int = 60_000
    ) -> PickAnswer:
        """The attempt to keep among `attempts` (number -> its diff, summary and checks), with the reason."""
        per = max(2000, max_diff_chars // max(1, len(attempts)))
        shown = []
        for k, a in sorted(attempts.items()):
            diff = a.get("diff", "")
            if len(diff) > per:
                diff = diff[:per] + f"\n... ({len(diff) - per} more characters cut)"
            shown.append(
                f"## Attempt {k}\nWorker's summary:\n{a.get('summary') or '(none)'}\n\n"
                f"Checks:\n{a.get('checks') or '(none)'}\n\nDiff:\n```diff\n{diff or '(empty diff)'}\n```"
            )
        offered = sorted(attempts)

        def check(answer: PickAnswer) -> list[str]:
            ok = answer.attempt in attempts
            return [] if ok else [f"attempt {answer.attempt} is not one of {offered}"]

        return self._ask_graph(
            PickAnswer,
            "pick",
            check,
            task_id=str(task["id"]),
            tid=task["id"],
            title=task.get("title", ""),
            description=task.get("description", ""),
            details=task.get("details", ""),
            criteria=_criteria(task),
            attempts="\n\n".join(shown),
            numbers=", ".join(map(str, offered)),
        )

    # -- review ------------------------------------------------------------------------------------
    def review(
        self,
        task: dict[str, Any],
        *,
        diff: str,
        summary: str = "",
        test_output: str | None = None,
        checks: str | None = None,
        max_diff_chars: int = 60_000,
    ) -> ReviewAnswer:
        """`test_output`: the commands the worker says it ran; `checks`: the task's verify commands as the
        orchestrator ran them (real exit codes)."""
        if len(diff) > max_diff_chars:
            diff = diff[:max_diff_chars] + f"\n... ({len(diff) - max_diff_chars} more characters cut)"
        return self._ask(
            ReviewAnswer,
            "review",
            task_id=str(task["id"]),
            tid=task["id"],
            title=task.get("title", ""),
            description=task.get("description", ""),
            details=task.get("details", ""),
            criteria=_criteria(task),
            summary=summary or "(none)",
            diff=diff or "(empty diff)",
            test_output=test_output if test_output is not None else "(no tests were run)",
            checks=checks if checks is not None else "(none were run)",
        )


def _criteria(task: dict[str, Any]) -> str:
    criteria = task.get("acceptanceCriteria") or []
    if not criteria and task.get("testStrategy"):
        criteria = [f"Verified by: {task['testStrategy']}"]
    return "\n".join(f"- {c}" for c in criteria) or "(none given: judge by the description)"


def _research_note(research: bool) -> str:
    if not research:
        return ""
    return (
        "- Research mode: think carefully about current best practices, libraries and pitfalls "
        "before answering, and reflect them in `details`."
    )
