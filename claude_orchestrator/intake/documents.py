"""One-file-per-task formats: Backlog.md folders, `.task.md` drop files, and `.ai_docs` tasks, plans and
specs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import SourceError
from .items import SourceBatch, SourceItem, files_in, is_done, priority_of, read_text, short_title
from .markdown import Section, checklist, find_section, front_matter, list_items, plain_list, sections

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BOLD_LABEL = re.compile(r"^\*\*([^*]+?):?\*\*:?\s*(.*)$")


def _ids(value: Any, path: object, what: str) -> list[str]:
    """A front-matter list of ids (`[a, b]`, `a, b` or a YAML list)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [x.strip() for x in value.split(",") if x.strip()]
    if isinstance(value, list) and all(isinstance(x, (str, int)) for x in value):
        return [str(x).strip() for x in value]
    raise SourceError(path, f"{what} must be a list of ids")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


# ---------------------------------------------------------------- Backlog.md


def backlog_files(folder: Path) -> list[Path]:
    """The task files of a Backlog.md project given its root, its `backlog/` or its `backlog/tasks/`."""
    for cand in (folder / "backlog" / "tasks", folder / "tasks", folder):
        if cand.is_dir() and any(cand.glob("*.md")):
            return sorted(cand.glob("*.md"))
    return []


def _backlog_item(path: Path, rel: str) -> tuple[SourceItem, str | None]:
    doc = front_matter(_COMMENT.sub("", read_text(path)), rel)
    meta = doc.meta
    key = _text(meta.get("id")).lower()
    if not key:
        raise SourceError(rel, "no `id:` in the front matter", 2)
    secs = sections(doc.lines, doc.offset + 1)
    desc = find_section(secs, "description")
    ac = find_section(secs, "acceptance criteria")
    details = [
        s.text()
        for s in (find_section(secs, "implementation plan"), find_section(secs, "implementation notes"))
        if s
    ]
    title = _text(meta.get("title")) or path.stem
    item = SourceItem(
        key=key,
        title=short_title(title),
        description=(desc.text() if desc else "") or title,
        details="\n\n".join(d for d in details if d),
        priority=priority_of(meta.get("priority")),
        done=is_done(meta.get("status")),
        depends_on=[d.lower() for d in _ids(meta.get("dependencies"), rel, "dependencies")],
        acceptance=checklist(ac.body) if ac else [],
        meta={k: meta[k] for k in ("labels", "assignee", "status") if meta.get(k)},
        path=rel,
        line=1,
    )
    item.files = files_in(item.description + "\n" + item.details)
    parent = _text(meta.get("parent_task_id") or meta.get("parent")).lower() or None
    if parent is None and re.match(r"^.+-\d+\.\d+$", key):
        parent = key.rsplit(".", 1)[0]
    return item, parent


def read_backlog(files: list[Path], origin: str, rel: Any) -> SourceBatch:
    batch = SourceBatch("backlog", origin)
    parents: list[tuple[SourceItem, str]] = []
    by_key: dict[str, SourceItem] = {}
    for f in files:
        item, parent = _backlog_item(f, rel(f))
        if item.key in by_key:
            raise SourceError(rel(f), f"id {item.key} is also used by {by_key[item.key].path}", 1)
        by_key[item.key] = item
        if parent:
            parents.append((item, parent))
        else:
            batch.items.append(item)
    for item, parent in parents:
        owner = by_key.get(parent)
        if owner is None or owner not in batch.items:
            raise SourceError(item.path or origin, f"parent task {parent} is not in {origin}", 1)
        owner.children.append(item)
    return batch


# ---------------------------------------------------------------- .task.md


def _labelled(lines: list[str], first: int) -> list[Section]:
    """Sections from headings and from `**Label:**` lines (the drop-folder format's pseudo-headings)."""
    out: list[Section] = []
    for sec in sections(lines, first):
        out.append(Section(sec.title, sec.level, sec.line))
        for n, line in sec.body:
            m = _BOLD_LABEL.match(line.strip())
            if m:
                out.append(Section(m.group(1).strip(), 9, n, [(n, m.group(2))] if m.group(2) else []))
            else:
                out[-1].body.append((n, line))
    return out


def read_task_md(path: Path, origin: str, rel: str) -> SourceItem:
    doc = front_matter(read_text(path), rel)
    meta = doc.meta
    secs = _labelled(doc.lines, doc.offset + 1)
    h1 = next((s for s in secs if s.level == 1), None)
    title = _text(meta.get("title")) or (h1.title if h1 else "")
    prompt = find_section(secs, "prompt", "description", "task")
    intro = h1.text() if h1 else secs[0].text()
    body = (prompt.text() if prompt else "") or intro
    if not title and not body:
        raise SourceError(rel, "no title (a `# Heading` or `title:`) and no **Prompt:**", doc.offset + 1)
    context = find_section(secs, "context", "notes")
    criteria = find_section(secs, "success criteria", "acceptance criteria")
    targets = find_section(secs, "target files", "files")
    first_para = body.split("\n\n", 1)[0] if body else title
    details = [body, f"Context:\n{context.text()}" if context and context.text() else ""]
    key = _text(meta.get("id")) or path.name.removesuffix(".task.md").removesuffix(".md")
    return SourceItem(
        key=key,
        title=short_title(title or first_para),
        description=" ".join(first_para.split()) or title,
        details="\n\n".join(d for d in details if d),
        priority=priority_of(meta.get("priority")),
        done=is_done(meta.get("status")),
        depends_on=_ids(meta.get("dependencies", meta.get("depends_on")), rel, "dependencies"),
        acceptance=checklist(criteria.body) if criteria else [],
        files=[f.strip("`").lstrip("/") for f in plain_list(targets.body)] if targets else files_in(body),
        meta={k: meta[k] for k in ("type",) if meta.get(k)},
        path=rel,
        line=1,
    )


def read_task_files(files: list[Path], origin: str, rel: Any) -> SourceBatch:
    batch = SourceBatch("task-md", origin)
    for f in files:
        item = read_task_md(f, origin, rel(f))
        if any(x.key == item.key for x in batch.items):
            raise SourceError(rel(f), f"id {item.key} is used by another file", 1)
        batch.items.append(item)
    return batch


# ---------------------------------------------------------------- .ai_docs


def _checklist_items(sec: Section | None, parent: str, rel: str) -> list[SourceItem]:
    out = []
    for n, li in enumerate((x for r in list_items(sec.body) for x in (r, *r.children)) if sec else [], 1):
        out.append(
            SourceItem(
                f"{parent}/{n}", short_title(li.text), li.text, done=li.checked, path=rel, line=li.line
            )
        )
    return out


def _aidoc(path: Path, rel: str) -> tuple[dict[str, Any], list[Section], SourceItem]:
    doc = front_matter(read_text(path), rel)
    meta = doc.meta
    key = _text(meta.get("id")) or path.stem
    secs = sections(doc.lines, doc.offset + 1)
    goal = find_section(secs, "goal", "objective")
    title = _text(meta.get("title")) or key
    notes = find_section(secs, "notes", "approach", "context")
    item = SourceItem(
        key=key,
        title=short_title(title),
        description=(goal.text() if goal else "") or title,
        details=notes.text() if notes else "",
        done=is_done(meta.get("status")),
        meta={k: meta[k] for k in ("owner", "status") if meta.get(k)},
        path=rel,
        line=1,
    )
    return meta, secs, item


def read_ai_docs(root: Path, origin: str, rel: Any) -> SourceBatch:
    """Tasks (T-0001.md) are tasks; a plan linked to a task adds its checklist as that task's subtasks;
    a spec is a task (implementation steps as subtasks, acceptance criteria kept); a plan that specs
    refine is not imported itself (its specs are the work), and other plans become tasks with their
    milestones as subtasks."""
    batch = SourceBatch("ai-docs", origin)
    by_key: dict[str, SourceItem] = {}
    for f in sorted((root / "tasks").glob("*.md")):
        _, _, item = _aidoc(f, rel(f))
        by_key[item.key] = item
        batch.items.append(item)
    specs = sorted((root / "specs").glob("*.md"))
    refined: set[str] = set()
    for f in specs:
        meta, secs, item = _aidoc(f, rel(f))
        plan = _text(meta.get("plan_id"))
        if plan:
            refined.add(plan)
            item.meta["plan"] = plan
        steps = find_section(secs, "implementation steps") or find_section(secs, "approach")
        item.children = _checklist_items(steps, item.key, item.path or "")
        ac = find_section(secs, "acceptance criteria")
        item.acceptance = checklist(ac.body) if ac else []
        batch.items.append(item)
    for f in sorted((root / "plans").glob("*.md")):
        meta, secs, item = _aidoc(f, rel(f))
        if item.key in refined:
            continue
        steps = find_section(secs, "milestones", "steps", "tasks", "checklist")
        task_ref = _text(meta.get("task") or meta.get("task_id"))
        owner = by_key.get(task_ref)
        if owner is not None:
            owner.children += _checklist_items(steps, item.key, item.path or "")
            extra = item.description if item.description != item.title else ""
            owner.details = "\n\n".join(
                x for x in (owner.details, f"Plan {item.key}: {item.title}", extra) if x
            )
            continue
        item.children = _checklist_items(steps, item.key, item.path or "")
        batch.items.append(item)
    if not batch.items:
        raise SourceError(
            origin, "no tasks, plans or specs found (expected tasks/, plans/ or specs/ with .md files)"
        )
    return batch
