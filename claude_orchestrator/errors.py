"""One exception tree for the whole package.

    OrchestratorError                 exit 1 unless a subclass says otherwise
    ├── InputError                    exit 2: bad input from the user or a file
    │   ├── ConfigError               orchestrator_config.json / .env problems
    │   ├── TaskFileError             tasks.json unreadable, malformed or invalid
    │   ├── NotFoundError             no .taskmaster/, unknown task id, unknown tag
    │   ├── DependencyError           unknown/self dependency, cycle (names the ids)
    │   ├── PlanError                 a build plan that is refused (lists every problem)
    │   └── SourceError               an import source that cannot be read (file and line)
    ├── LockError                     could not take tasks.json.lock in time
    ├── RemoteError                   a tracker's API failed (GitHub: status, what was asked)
    ├── LLMError                      a model call that failed for good
    │   ├── RetriesExhaustedError     transient errors outlived the retry bound
    │   ├── StructuredOutputError     the model never produced valid JSON for the schema
    │   └── BudgetExceededError       a per-task or per-run budget would be exceeded
    ├── WorkerError                   a worker backend failed a task
    │   └── SandboxError              a sandboxed tool call refused (path escape, .git write, bad input)
    │       └── SandboxUnavailableError   a command refused: the OS sandbox cannot run and is not turned off
    ├── WorkspaceError                git / worktree / merge problems
    │   ├── DirtyWorktreeError        the user has uncommitted changes in the way
    │   ├── RepoStateError            exit 2: no commit yet, detached HEAD, bad branch name, no git identity
    │   └── MergeConflictError        a task's branch does not merge cleanly
    ├── BuildError                    a stack-runner step failed (names step, status, log tail)
    ├── PluginError                   a stack plugin failed to load or a hook raised
    └── PlanRejected                  a plugin vetoed a build plan (its reason)

Every error carries its fields and renders as one clear line via ``str()``.
"""

from __future__ import annotations

from collections.abc import Sequence


class OrchestratorError(Exception):
    """Root of every error this package raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def __str__(self) -> str:
        return self.message


class InputError(OrchestratorError):
    exit_code = 2


class ConfigError(InputError):
    pass


class TaskFileError(InputError):
    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}", path=path, problem=problem)
        self.path = path
        self.problem = problem


class NotFoundError(InputError):
    pass


class DependencyError(InputError):
    def __init__(self, message: str, problems: Sequence[str] = (), cycle: Sequence[str] = ()) -> None:
        super().__init__(message, problems=list(problems), cycle=list(cycle))
        self.problems = list(problems)
        self.cycle = list(cycle)


class PlanError(InputError):
    def __init__(self, problems: Sequence[str]) -> None:
        msg = "invalid build plan: " + "; ".join(problems)
        super().__init__(msg, problems=list(problems))
        self.problems = list(problems)


class SourceError(InputError):
    """A task source (a markdown file, a folder, a tracker reference) that cannot be imported."""

    def __init__(self, path: object, problem: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {problem}", path=path, line=line, problem=problem)
        self.path = path
        self.line = line
        self.problem = problem


class LockError(OrchestratorError):
    pass


class RemoteError(OrchestratorError):
    """A tracker's API answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.status = status
        if status in (401, 404, 410, 422):  # a bad token, repository or filter: the user's to fix
            self.exit_code = 2


class LLMError(OrchestratorError):
    pass


class RetriesExhaustedError(LLMError):
    pass


class StructuredOutputError(LLMError):
    pass


class BudgetExceededError(LLMError):
    pass


class WorkerError(OrchestratorError):
    pass


class SandboxError(WorkerError):
    """A sandboxed tool call was refused or failed; the message is shown to the model."""


class SandboxUnavailableError(SandboxError):
    """A command a model or a plan chose was refused: bubblewrap cannot run here and
    ``execution.sandbox`` is not ``"off"``."""


class WorkspaceError(OrchestratorError):
    pass


class GitInterruptedError(WorkspaceError):
    """A git command died of SIGINT, SIGTERM or SIGHUP that we did not send: the terminal's signal to the
    whole group, caught in the instant before git left it for its own session. The stop is on its way."""


class DirtyWorktreeError(WorkspaceError):
    exit_code = 2


class RepoStateError(WorkspaceError):
    """The repository is in a state a run cannot start from; the message says what to do."""

    exit_code = 2


class MergeConflictError(WorkspaceError):
    pass


class BuildError(OrchestratorError):
    pass


class PluginError(OrchestratorError):
    """A stack-runner plugin failed to load, or one of its hooks raised (not a veto)."""


class PlanRejected(OrchestratorError):
    """Raised by a plugin's ``pre_execute`` hook to veto a plan."""

    exit_code = 2
