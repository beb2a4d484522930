"""`task-master update | update-task | update-subtask | research | scope-up | scope-down`: the manager
rewrites tasks, writes notes and answers research questions (flags as task-master-ai has them)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from ..taskmaster.ids import parse_ids
from .taskmaster_common import _ctx, record_option, tm_options


def _session(c: Any, kw: dict[str, Any]) -> Any:
    from .llm_setup import llm_session

    return llm_session(c.store.root, kw.get("record"))


def _rewrite(c: Any, ids: list[int], prompt: str, kw: dict[str, Any]) -> None:
    from ..manager.update import update_tasks
    from .llm_setup import make_manager

    with _session(c, kw) as s:
        tasks = update_tasks(
            make_manager(s), c.store, ids, prompt, research=kw["research"], tag=c.explicit_tag
        )
    for t in tasks:
        click.echo(f"Updated task {t.id}: {t.title}")


@click.command("update")
@click.option("--from", "from_id", type=int, default=1, help="Update tasks with this id or above.")
@click.option("-p", "--prompt", default=None, help="The new context or change of direction.")
@click.option("-r", "--research", is_flag=True)
@record_option
@tm_options(file="-f")
def update_cmd(from_id: int, prompt: str | None, **kw: Any) -> None:
    """AI: rewrite every task with id >= --from that is not done, for new context."""
    from ..errors import InputError

    if not prompt or not prompt.strip():
        raise InputError('update needs --prompt="what changed"')
    c = _ctx(kw)
    ids = [t.id for t in c.load().tasks if t.id >= from_id and t.status != "done"]
    if not ids:
        raise InputError(f"no tasks to update (id {from_id} or above and not done)")
    _rewrite(c, ids, prompt, kw)


@click.command("update-task")
@click.argument("id_arg", required=False)
@click.argument("prompt_words", nargs=-1)
@click.option("-i", "--id", "id_opt", default=None, help="Task id.")
@click.option("-p", "--prompt", default=None, help="The new information.")
@click.option("-r", "--research", is_flag=True)
@click.option("--append", is_flag=True, help="Append a timestamped note to the details instead.")
@record_option
@tm_options(file="-f")
def update_task_cmd(
    id_arg: str | None,
    prompt_words: tuple[str, ...],
    id_opt: str | None,
    prompt: str | None,
    append: bool,
    **kw: Any,
) -> None:
    """AI: rewrite one task with new information (or --append a note to its details)."""
    from ..errors import InputError

    tid = id_arg or id_opt
    text = " ".join(prompt_words) or prompt or ""
    if not tid or not tid.strip().isdigit():
        raise InputError("update-task needs a task id (a number; subtasks: update-subtask --id=P.S)")
    if not text.strip():
        raise InputError('update-task needs the new information: `update-task 3 "use SQLite"`')
    c = _ctx(kw)
    if append:
        _note(c, tid.strip(), text, kw)
        return
    task = c.load().find(tid.strip())
    if task.status == "done":
        raise InputError(f"task {task.uid} is done; done tasks are locked (set it to pending to change it)")
    _rewrite(c, [int(tid)], text, kw)


def _note(c: Any, uid: str, prompt: str, kw: dict[str, Any]) -> None:
    from ..manager.notes import append_note
    from .llm_setup import make_manager

    with _session(c, kw) as s:
        unit, note = append_note(
            make_manager(s), c.store, uid, prompt, research=kw["research"], tag=c.explicit_tag
        )
    click.echo(f"Added to the details of {unit.uid} ({unit.title}):\n{note}")


@click.command("update-subtask")
@click.option("-i", "--id", "uid", default=None, help="Subtask id (P.S).")
@click.option("-p", "--prompt", default=None, help="What to add.")
@click.option("-r", "--research", is_flag=True)
@record_option
@tm_options(file="-f")
def update_subtask_cmd(uid: str | None, prompt: str | None, **kw: Any) -> None:
    """AI: append a timestamped note (what was learned, decided, tried) to a subtask's details."""
    from ..errors import InputError

    if not uid or "." not in uid:
        raise InputError("update-subtask needs --id=P.S (a subtask; tasks: update-task)")
    if not prompt or not prompt.strip():
        raise InputError('update-subtask needs --prompt="what to add"')
    _note(_ctx(kw), uid.strip(), prompt, kw)


@click.command("research")
@click.argument("prompt", required=False)
@click.option("-i", "--id", "ids", default=None, help="Task/subtask ids to include as context.")
@click.option("-f", "--files", default=None, help="Files to include as context, comma-separated.")
@click.option("-c", "--context", default="", help="More context.")
@click.option("-t", "--tree", is_flag=True, help="Include the project's file tree.")
@click.option("-s", "--save", default=None, help="Also write the answer to this file (in the project).")
@click.option("-d", "--detail", type=click.Choice(("low", "medium", "high")), default="medium")
@click.option("--save-to", default=None, help="Append the answer to this task's or subtask's details.")
@click.option("--save-file", is_flag=True, help="Save it in .taskmaster/docs/research/.")
@record_option
@tm_options()
def research_cmd(prompt: str | None, ids: str | None, files: str | None, **kw: Any) -> None:
    """AI: answer a research question with the project's tasks and files as context."""
    from ..errors import InputError
    from ..files import write_text
    from ..manager.notes import research, research_context
    from ..taskmaster import ops
    from .llm_setup import make_manager

    if not prompt or not prompt.strip():
        raise InputError('research needs a question: `task-master research "how to …"`')
    c = _ctx(kw)
    save = kw["save"]
    if save and (".." in Path(save).parts or Path(save).is_absolute()):
        raise InputError(f"--save {save}: the path must be relative to the project, without '..'")
    if kw["save_to"]:
        c.load().find(kw["save_to"])  # an unknown id is refused before the model is asked
    context = research_context(
        c.store,
        ids=parse_ids(ids),
        files=parse_ids(files),
        context=kw["context"],
        tree=kw["tree"],
        tag=c.explicit_tag,
    )
    with _session(c, kw) as s:
        answer = research(make_manager(s), prompt, context, detail=kw["detail"])
    click.echo(answer)
    if kw["save_to"]:
        with c.store.edit(c.explicit_tag) as data:
            unit = data.find(kw["save_to"])
            unit.details = ops.append_note(unit.details, f"## Research Query: {prompt.strip()}\n\n{answer}")
        click.echo(f"\nSaved to the details of {kw['save_to']}", err=True)
    if save:
        write_text(c.store.root / save, answer + "\n")
    if kw["save_file"]:
        path = c.store.root / ".taskmaster" / "docs" / "research" / _research_name(prompt)
        write_text(path, _research_file(prompt, answer))
        click.echo(f"\nSaved to {path.relative_to(c.store.root)}", err=True)


def _research_name(prompt: str) -> str:
    slug = re.sub(r"[^a-z0-9\s-]", "", prompt.lower())
    slug = re.sub(r"-+", "-", re.sub(r"\s+", "-", slug))[:50].strip("-") or "research-query"
    return f"{datetime.now(timezone.utc).date().isoformat()}_{slug}.md"


def _research_file(prompt: str, answer: str) -> str:
    now = datetime.now(timezone.utc)
    stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (
        f'---\ntitle: Research Session\nquery: "{prompt.strip()}"\ndate: {now.date().isoformat()}\n'
        f"timestamp: {stamp}\nexchanges: 1\n---\n\n# Research Session\n\n"
        f"## Initial Query\n\n**Question:** {prompt.strip()}\n\n**Response:**\n\n{answer}\n"
    )


def _scope_cmd(name: str, up: bool) -> click.Command:
    @click.option("-i", "--id", "ids", default=None, help="Task/subtask ids, comma-separated.")
    @click.option("-s", "--strength", type=click.Choice(("light", "regular", "heavy")), default="regular")
    @click.option("-p", "--prompt", default="", help="What to add or cut.")
    @click.option("-r", "--research", is_flag=True)
    @record_option
    @tm_options(file="-f")
    def cmd(ids: str | None, strength: str, prompt: str, **kw: Any) -> None:
        from ..manager.scope import adjust_scope
        from .llm_setup import make_manager

        c = _ctx(kw)
        wanted = parse_ids(ids)
        with _session(c, kw) as s:
            units = adjust_scope(
                make_manager(s),
                c.store,
                wanted,
                up=up,
                strength=strength,
                prompt=prompt,
                research=kw["research"],
                tag=c.explicit_tag,
            )
        for u in units:
            subs = f" ({len(u.subtasks)} subtasks)" if hasattr(u, "subtasks") and u.subtasks else ""
            click.echo(f"Scoped {'up' if up else 'down'} {u.uid}: {u.title}{subs}")

    cmd.__doc__ = (
        f"AI: {'increase' if up else 'decrease'} the scope of tasks (--strength light|regular|heavy)."
    )
    return click.command(name)(cmd)


scope_up_cmd = _scope_cmd("scope-up", True)
scope_down_cmd = _scope_cmd("scope-down", False)
AI_UPDATE_COMMANDS = (
    update_cmd,
    update_task_cmd,
    update_subtask_cmd,
    research_cmd,
    scope_up_cmd,
    scope_down_cmd,
)
