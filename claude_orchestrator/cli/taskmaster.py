"""`task-master`: a Task Master-compatible CLI, a thin click layer over claude_orchestrator.taskmaster.

Commands and their flags follow task-master-ai 0.43.1 (see taskmaster_common for the two option sets); the
commands live in modules by group: view (list/next/show), edit, subtasks, tags, move, AI (the manager's),
setup (init, models, rules). Every module imports its heavy dependencies inside the command, so `list`
starts fast.
"""

from __future__ import annotations

import click

from .. import __version__
from .common import run_main
from .taskmaster_ai_cmds import analyze_complexity_cmd, complexity_report_cmd, expand_cmd, parse_prd_cmd
from .taskmaster_ai_update import AI_UPDATE_COMMANDS
from .taskmaster_common import TMGroup
from .taskmaster_edit import (
    add_dependency_cmd,
    add_task_cmd,
    fix_cmd,
    generate_cmd,
    remove_dependency_cmd,
    remove_task_cmd,
    set_status_cmd,
    validate_cmd,
)
from .taskmaster_models import models_cmd
from .taskmaster_move import move_cmd
from .taskmaster_rules import rules_cmd
from .taskmaster_setup import init_cmd
from .taskmaster_subtasks import add_subtask_cmd, clear_subtasks_cmd, remove_subtask_cmd
from .taskmaster_tags import LEGACY_TAG_COMMANDS, tags_group
from .taskmaster_view import list_cmd, next_cmd, show_cmd


@click.group(cls=TMGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="task-master (claude-orchestrator)")
def cli() -> None:
    """Task Master-compatible task database (.taskmaster/tasks/tasks.json)."""


for _cmd in (
    init_cmd,
    rules_cmd,
    models_cmd,
    list_cmd,
    next_cmd,
    show_cmd,
    set_status_cmd,
    add_task_cmd,
    remove_task_cmd,
    add_dependency_cmd,
    remove_dependency_cmd,
    validate_cmd,
    fix_cmd,
    generate_cmd,
    move_cmd,
    add_subtask_cmd,
    remove_subtask_cmd,
    clear_subtasks_cmd,
    tags_group,
    parse_prd_cmd,
    expand_cmd,
    analyze_complexity_cmd,
    complexity_report_cmd,
    *LEGACY_TAG_COMMANDS,
    *AI_UPDATE_COMMANDS,
):
    cli.add_command(_cmd)
cli.add_command(list_cmd, "ls")
cli.add_command(set_status_cmd, "status")


def main(argv: list[str] | None = None) -> None:
    run_main(cli, argv, prog_name="task-master")


if __name__ == "__main__":
    main()
