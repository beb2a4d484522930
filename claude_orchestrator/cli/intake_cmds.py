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


@click.command("watch")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--run", "run_", is_flag=True, help="Run ready work as soon as it is imported.")
@click.option("-w", "--workers", type=click.IntRange(1, 64), help="Parallel workers for --run.")
@click.option("--tag", help="Task Master tag to import into (default: the current tag).")
@click.option("--backend", type=click.Choice(["claude-code", "api", "build"]), help="Backend for --run.")
@click.option("--poll", is_flag=True, help="Poll the folder instead of file events (network drives).")
@click.option(
    "--project", type=click.Path(file_okay=False, exists=True, path_type=Path), help="Project folder."
)
def watch_cmd(
    folder: Path,
    run_: bool,
    workers: int | None,
    tag: str | None,
    backend: str | None,
    poll: bool,
    project: Path | None,
) -> None:
    """Import each .task.md (or other importable markdown file) dropped into FOLDER as it lands; with
    --run, run it and write NAME.result.md beside it. Ctrl-C stops."""
    from ..config import load_config, load_dotenv
    from ..intake.watch import Watch
    from ..taskmaster.store import TaskStore

    store = TaskStore.discover((project or Path.cwd()).resolve())
    cfg = None
    if run_:
        load_dotenv(store.root / ".env")
        cfg = load_config(None, start=store.root)
    watch = Watch(
        store, folder, tag=tag, run=run_, cfg=cfg, workers=workers, backend=backend, poll=poll, echo=_echo
    )
    try:
        _echo(f"Watching {watch.folder} (Ctrl-C to stop)")
        watch.serve()
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        watch.stop.set()
    _echo(f"Stopped watching {watch.folder}")


def _echo(line: str) -> None:
    click.echo(line)
    import sys

    sys.stdout.flush()
