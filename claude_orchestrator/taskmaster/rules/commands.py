"""The Claude Code slash commands `rules add claude` writes to .claude/commands/tm/ (task-master-ai's names).
Each is a short Markdown prompt: what to do with $ARGUMENTS and the `task-master` command that does it."""

from __future__ import annotations

# name -> (title, what it does, the command(s) to run, what to do around it)
_TABLE: dict[str, tuple[str, str, str, str]] = {
    "help": (
        "Help",
        "Show the task-master commands.",
        "task-master --help",
        "Summarise the commands that fit $ARGUMENTS.",
    ),
    "init-project": (
        "Init Project",
        "Initialize a Task Master project.",
        'task-master init --name="$ARGUMENTS"',
        "Then suggest writing a PRD in .taskmaster/docs/prd.md and parsing it.",
    ),
    "parse-prd": (
        "Parse PRD",
        "Parse a PRD document to generate tasks.",
        "task-master parse-prd $ARGUMENTS",
        "Without a file argument, use .taskmaster/docs/prd.md. Add --append if the tag already has tasks.",
    ),
    "parse-prd-with-research": (
        "Parse PRD With Research",
        "Parse a PRD with research mode for better tasks.",
        "task-master parse-prd $ARGUMENTS --research",
        "Review the generated tasks with `task-master list` afterwards.",
    ),
    "list-tasks": (
        "List Tasks",
        "List tasks, filtered by what $ARGUMENTS asks for.",
        "task-master list $ARGUMENTS",
        "Status words (pending, done, ...) go to -s; 'subtasks' means --with-subtasks; 'ready' means --ready.",
    ),
    "list-tasks-by-status": (
        "List Tasks By Status",
        "List tasks filtered by a specific status.",
        "task-master list --status=$ARGUMENTS",
        "Valid statuses: pending, in-progress, done, review, deferred, cancelled, blocked.",
    ),
    "list-tasks-with-subtasks": (
        "List Tasks With Subtasks",
        "Show every task with its subtasks.",
        "task-master list --with-subtasks",
        "Point out tasks whose subtasks are all done but which are still open.",
    ),
    "next-task": (
        "Next Task",
        "Find the next task to work on.",
        "task-master next",
        "Show it, then offer to start it: `task-master set-status --id=<id> --status=in-progress`.",
    ),
    "show-task": (
        "Show Task",
        "Show a task or subtask in detail.",
        "task-master show $ARGUMENTS",
        "Subtasks are shown as P.S (e.g. 3.2); several ids can be given comma-separated.",
    ),
    "project-status": (
        "Project Status",
        "Summarise the state of the project.",
        "task-master list --with-subtasks\ntask-master next",
        "Report progress, what is in progress, what is blocked, and the next task.",
    ),
    "add-task": (
        "Add Task",
        "Add a new task.",
        'task-master add-task --prompt="$ARGUMENTS"',
        "For a task written by hand use --title and --description instead of --prompt.",
    ),
    "add-subtask": (
        "Add Subtask",
        "Add a subtask to a parent task.",
        'task-master add-subtask --parent=<id> --title="<title>" --description="<text>"',
        "Parse the parent id and the title from $ARGUMENTS.",
    ),
    "convert-task-to-subtask": (
        "Convert Task To Subtask",
        "Turn an existing task into a subtask of another.",
        "task-master add-subtask --parent=<parent-id> --task-id=<task-id>",
        "Dependencies on the task follow it to its new P.S id.",
    ),
    "remove-subtask": (
        "Remove Subtask",
        "Remove a subtask, or make it a task of its own.",
        "task-master remove-subtask --id=$ARGUMENTS",
        "Add --convert to keep it as a standalone task.",
    ),
    "remove-subtasks": (
        "Remove Subtasks",
        "Clear all subtasks of a task.",
        "task-master clear-subtasks --id=$ARGUMENTS",
        "Show the subtasks first and ask before clearing them.",
    ),
    "remove-all-subtasks": (
        "Remove All Subtasks",
        "Clear the subtasks of every task.",
        "task-master clear-subtasks --all",
        "Ask for confirmation first: this cannot be undone.",
    ),
    "remove-task": (
        "Remove Task",
        "Remove a task permanently.",
        "task-master remove-task --id=$ARGUMENTS -y",
        "Show the task and what depends on it, and ask before running the command (it needs -y).",
    ),
    "expand-task": (
        "Expand Task",
        "Break a task down into subtasks.",
        "task-master expand --id=$ARGUMENTS",
        'Use --num=N for a number of subtasks and --prompt="..." for extra context; --force replaces existing subtasks.',
    ),
    "expand-all-tasks": (
        "Expand All Tasks",
        "Break every pending task down into subtasks.",
        "task-master expand --all",
        "Run `task-master analyze-complexity` first so the counts follow the report.",
    ),
    "analyze-complexity": (
        "Analyze Complexity",
        "Analyze task complexity and recommend expansions.",
        "task-master analyze-complexity $ARGUMENTS",
        "Then show the report with `task-master complexity-report`.",
    ),
    "complexity-report": (
        "Complexity Report",
        "Display the task complexity analysis report.",
        "task-master complexity-report",
        "Suggest expanding the tasks that score above the threshold.",
    ),
    "update-task": (
        "Update Task",
        "Update tasks with new information.",
        'task-master update-task --id=<id> --prompt="<what changed>"',
        "For all tasks from an id onwards use `task-master update --from=<id> --prompt=...`.",
    ),
    "update-single-task": (
        "Update Single Task",
        "Update one task with new information.",
        "task-master update-task $ARGUMENTS",
        "The first argument is the id, the rest the new information; --append adds it to the details instead.",
    ),
    "update-tasks-from-id": (
        "Update Tasks From Id",
        "Update every open task from an id onwards.",
        'task-master update --from=<id> --prompt="<what changed>"',
        "Done tasks are never rewritten.",
    ),
    "add-dependency": (
        "Add Dependency",
        "Add a dependency between tasks.",
        "task-master add-dependency --id=<task-id> --depends-on=<dependency-id>",
        '"5 needs 3" means --id=5 --depends-on=3. Cycles are refused.',
    ),
    "remove-dependency": (
        "Remove Dependency",
        "Remove a dependency between tasks.",
        "task-master remove-dependency --id=<task-id> --depends-on=<dependency-id>",
        "Check with `task-master validate-dependencies` afterwards.",
    ),
    "validate-dependencies": (
        "Validate Dependencies",
        "Check every dependency.",
        "task-master validate-dependencies",
        "Unknown, self, duplicate and circular dependencies are listed; offer fix-dependencies.",
    ),
    "fix-dependencies": (
        "Fix Dependencies",
        "Repair invalid dependencies automatically.",
        "task-master fix-dependencies",
        "Report what was removed.",
    ),
    "to-pending": (
        "To Pending",
        "Set a task's status to pending.",
        "task-master set-status --id=$ARGUMENTS --status=pending",
        "",
    ),
    "to-in-progress": (
        "To In Progress",
        "Start working on a task.",
        "task-master set-status --id=$ARGUMENTS --status=in-progress",
        "Then show the task: `task-master show $ARGUMENTS`.",
    ),
    "to-review": (
        "To Review",
        "Set a task's status to review.",
        "task-master set-status --id=$ARGUMENTS --status=review",
        "",
    ),
    "to-done": (
        "To Done",
        "Mark a task as completed.",
        "task-master set-status --id=$ARGUMENTS --status=done",
        "Check its test strategy first; afterwards show `task-master next`.",
    ),
    "to-deferred": (
        "To Deferred",
        "Defer a task for later.",
        "task-master set-status --id=$ARGUMENTS --status=deferred",
        "",
    ),
    "to-cancelled": (
        "To Cancelled",
        "Cancel a task.",
        "task-master set-status --id=$ARGUMENTS --status=cancelled",
        "Tasks that depend on it stay blocked: say which.",
    ),
    "view-models": ("View Models", "Show the configured models.", "task-master models", ""),
    "setup-models": (
        "Setup Models",
        "Set the models.",
        "task-master models --set-main=<model-id>",
        "The main model is the orchestrator's manager (orchestrator_config.json).",
    ),
    "run-tasks": (
        "Run Tasks",
        "Let the orchestrator's workers carry out the ready tasks.",
        "claude-orchestrator run $ARGUMENTS",
        "Follow it with `claude-orchestrator status`.",
    ),
}


def _render(title: str, what: str, command: str, notes: str) -> str:
    text = f"{title}\n\nArguments: $ARGUMENTS\n{what}\n\n## Execution\n\n```bash\n{command}\n```\n"
    return text + (f"\n{notes}\n" if notes else "")


SLASH_COMMANDS: dict[str, str] = {name: _render(*row) for name, row in _TABLE.items()}
