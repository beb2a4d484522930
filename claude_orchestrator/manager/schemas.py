"""What the manager model must answer, as pydantic models (validated, never guessed).

Field names follow task-master's AI schemas (parse-prd, expand, analyze-complexity) so recordings and prompts
stay interchangeable; `acceptanceCriteria`, `relevantFiles` and `verify` are our optional extensions
(`verify` goes to the task's `metadata.verify`)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Priority = Literal["low", "medium", "high", "critical"]
Command = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
Verify = Annotated[list[Command], Field(max_length=10)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlannedTask(_Strict):
    id: int = Field(gt=0)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1)
    details: str | None = ""
    testStrategy: str | None = ""
    priority: Priority | None = None
    dependencies: list[int] | None = None
    acceptanceCriteria: list[str] | None = None
    relevantFiles: list[str] | None = None
    verify: Verify | None = None  # argument lists the orchestrator runs to check the work

    @field_validator("title", "description")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()


class ParsePrdAnswer(_Strict):
    answer_name: ClassVar[str] = "task plan"  # in errors people read
    tasks: list[PlannedTask] = Field(min_length=1)

    @field_validator("tasks")
    @classmethod
    def _ids_contiguous(cls, tasks: list[PlannedTask]) -> list[PlannedTask]:
        ids = [t.id for t in tasks]
        if len(set(ids)) != len(ids):
            raise ValueError(f"task ids must be unique, got {ids}")
        if sorted(ids) != list(range(1, len(ids) + 1)):
            raise ValueError(f"task ids must be 1..{len(ids)} without gaps, got {sorted(ids)}")
        return tasks


class NewTask(PlannedTask):
    """A task proposed by `add`: `dependencies` are ids within the answer, `existingDependencies` are
    ids of tasks already in the database."""

    existingDependencies: list[int] | None = None


class AddAnswer(_Strict):
    answer_name: ClassVar[str] = "new tasks"  # in errors people read
    tasks: list[NewTask] = Field(min_length=1, max_length=8)

    @field_validator("tasks")
    @classmethod
    def _ids_contiguous(cls, tasks: list[NewTask]) -> list[NewTask]:
        ids = [t.id for t in tasks]
        if sorted(ids) != list(range(1, len(ids) + 1)):
            raise ValueError(f"task ids must be 1..{len(ids)} without gaps, got {sorted(ids)}")
        return tasks


class PlannedSubtask(_Strict):
    id: int = Field(gt=0)
    title: str = Field(min_length=5, max_length=200)
    description: str = Field(min_length=10)
    dependencies: list[int] = []
    details: str = Field(min_length=20)
    status: Literal["pending", "done", "completed"] | None = "pending"
    testStrategy: str | None = ""
    acceptanceCriteria: list[str] | None = None
    verify: Verify | None = None


class ExpandAnswer(_Strict):
    answer_name: ClassVar[str] = "subtasks"  # in errors people read
    subtasks: list[PlannedSubtask] = Field(min_length=1)


class ComplexityItem(_Strict):
    taskId: int
    taskTitle: str
    complexityScore: float = Field(ge=1, le=10)
    recommendedSubtasks: int = Field(ge=0, le=50)
    expansionPrompt: str
    reasoning: str


class ComplexityAnswer(_Strict):
    answer_name: ClassVar[str] = "complexity analysis"  # in errors people read
    complexityAnalysis: list[ComplexityItem]


class FollowUp(_Strict):
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    priority: Priority = "medium"


class ReviewAnswer(_Strict):
    answer_name: ClassVar[str] = "review"  # in errors people read
    verdict: Literal["pass", "fail"]
    issues: list[str] = []
    follow_ups: list[FollowUp] = []


class PickAnswer(_Strict):
    """Best of N: the attempt to keep, and why."""

    attempt: int = Field(ge=1)
    reason: str = Field(min_length=1)


class UpdatedTask(_Strict):
    """A task rewritten with new context: only its text (and priority) may change."""

    id: int
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1)
    details: str | None = ""
    testStrategy: str | None = ""
    priority: Priority | None = None


class UpdateAnswer(_Strict):
    answer_name: ClassVar[str] = "task update"  # in errors people read
    tasks: list[UpdatedTask] = Field(min_length=1)


class NoteAnswer(_Strict):
    """Text to append to a task's or subtask's details (update-subtask, update-task --append)."""

    answer_name: ClassVar[str] = "note"  # in errors people read
    note: str = Field(min_length=1)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()


class ResearchAnswer(_Strict):
    answer_name: ClassVar[str] = "research answer"  # in errors people read
    answer: str = Field(min_length=1)


class ScopeAnswer(_Strict):
    """A task rewritten to a larger or smaller scope (scope-up / scope-down), with its new pending
    subtasks when it had some."""

    answer_name: ClassVar[str] = "rescoped task"  # in errors people read
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1)
    details: str | None = ""
    testStrategy: str | None = ""
    subtasks: list[PlannedSubtask] = []
