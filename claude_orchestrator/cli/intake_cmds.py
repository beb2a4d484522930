"""`claude-orchestrator import` and `watch`: thin layers over claude_orchestrator.intake."""

from __future__ import annotations

from pathlib import Path

import click

_FORMATS = ["spec-kit", "kiro", "checklist", "backlog", "task-md", "ai-docs", "github"]


@click.command("import")
@click.argument("source")
@click.option("--tag", help="Task Master tag to import into (default: the current tag).")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), help="The source's format (default: detected).")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--label", "labels", multiple=True, help="GitHub: only issues with this label (repeatable).")
@click.option("--milestone", help="GitHub: a milestone number or title, `*` (any) or `none`.")
@click.option(
    "--state", type=click.Choice(["open", "closed", "all"]), default="open", show_default=True, help="GitHub."
)
@click.option("--assignee", help="GitHub: a login, `*` (any) or `none`.")
@click.option("--write-back", is_flag=True, help="GitHub: comment on the issue when its task is done.")
@click.option("--close", is_flag=True, help="GitHub, with --write-back: also close the issue.")
@click.option(
    "--project", type=click.Path(file_okay=False, exists=True, path_type=Path), help="Project folder."
)
@click.option("-f", "--file", type=click.Path(dir_okay=False, path_type=Path), help="tasks.json path.")
def import_cmd(
    source: str,
    tag: str | None,
    fmt: str | None,
    dry_run: bool,
    labels: tuple[str, ...],
    milestone: str | None,
    state: str,
    assignee: str | None,
    write_back: bool,
    close: bool,
    project: Path | None,
    file: Path | None,
) -> None:
    """Import tasks from SOURCE: github:OWNER/REPO, a spec-kit or Kiro tasks.md, a markdown checklist, a
    Backlog.md folder, .task.md files or an .ai_docs folder. Re-importing updates what it imported."""
    from ..errors import InputError
    from ..intake import import_source
    from ..taskmaster.store import TaskStore

    is_github = source.startswith("github:") or fmt == "github"
    if not is_github and (labels or milestone or assignee or write_back or close or state != "open"):
        raise InputError(
            "--label, --milestone, --state, --assignee, --write-back and --close are for github: sources"
        )
    if close and not write_back:
        raise InputError("--close needs --write-back")
    store = TaskStore.discover((project or Path.cwd()).resolve(), file)
    options = None
    if is_github:
        from ..intake.github import GitHubOptions

        options = GitHubOptions(
            labels=list(labels),
            milestone=milestone,
            state=state,
            assignee=assignee,
            write_back="close" if close else ("comment" if write_back else None),
        )
    result = import_source(store, source, tag=tag, fmt=fmt, dry_run=dry_run, github=options)
    for line in result.lines():
        click.echo(line)
    if dry_run:
        click.echo("Dry run: nothing was written.")
