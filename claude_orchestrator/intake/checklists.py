"""Checklist formats: spec-kit `tasks.md`, Kiro `tasks.md`, and plain markdown checklists."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import SourceError
from .items import SourceBatch, SourceItem, files_in, priority_of, short_title
from .markdown import ListItem, Section, list_items, sections

_SPEC_ID = re.compile(r"^(T\d{3,})\b[:.]?\s*(.*)$")
_MARK = re.compile(r"^\[([^\]]+)\]\s*")
_STORY = re.compile(r"^US\d+$", re.I)
_PHASE = re.compile(r"^Phase\s+([\w.]+)\s*[:.\-–—]\s*(.*)$", re.I)
_STORY_PHASE = re.compile(r"User\s+Story\s+(\d+)", re.I)
_PHASE_PRIORITY = re.compile(r"\(Priority:\s*(P\d)\)", re.I)
_KIRO_NUM = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(.*)$")
_REQS = re.compile(r"^_?\s*Requirements?\s*:\s*(.*?)_?$", re.I)


def _note(text: str) -> str:
    m = _REQS.match(text.strip())
    return f"Requirements: {m.group(1).strip()}" if m else text


def _requirements(notes: list[str]) -> list[str]:
    out: list[str] = []
    for n in notes:
        m = _REQS.match(n.strip())
        if m:
            out += [r.strip() for r in m.group(1).split(",") if r.strip()]
    return out


# ---------------------------------------------------------------- spec-kit


def _spec_task(item: ListItem, rel: str, phase: str, priority: str | None) -> SourceItem:
    m = _SPEC_ID.match(item.text)
    if m is None:
        raise SourceError(
            rel, f"expected a task id such as T001 after the checkbox: {item.text!r}", item.line
        )
    tid, rest = m.group(1), m.group(2)
    parallel, story = False, None
    while (mk := _MARK.match(rest)) is not None:
        tag = mk.group(1).strip()
        if tag.upper() == "P":
            parallel = True
        elif _STORY.match(tag):
            story = tag.upper()
        else:
            break
        rest = rest[mk.end() :]
    text = rest.strip()
    if not text:
        raise SourceError(rel, f"task {tid} has no description", item.line)
    meta: dict[str, object] = {"taskId": tid, "phase": phase}
    if story:
        meta["story"] = story
    if parallel:
        meta["parallel"] = True
    details = [f"{phase}."] if phase else []
    details += [_note(n) for n in item.notes]
    details += [f"- [{'x' if c.checked else ' '}] {c.text}" for c in item.children]
    return SourceItem(
        key=tid,
        title=short_title(text),
        description=text,
        details="\n".join(details),
        priority=priority,
        done=item.checked,
        files=files_in(text),
        meta=meta,
        path=rel,
        line=item.line,
    )


def read_spec_kit(path: Path, text: str, rel: str) -> SourceBatch:
    """Phases become dependencies: a phase waits for the one before it; user-story phases all wait for
    the last phase before them (Foundational) and not for each other; the phase after the stories waits
    for all of them. `[P]` is kept as a hint (metadata.parallel) that a task touches different files."""
    batch = SourceBatch("spec-kit", rel)
    barrier: list[str] = []  # what the next phase waits for
    stories: list[str] = []  # tasks of the story phases since the last plain phase
    seen: dict[str, int] = {}
    for sec in _phases(sections(text.splitlines())):
        items = [x for x in list_items(sec.body) if _SPEC_ID.match(x.text) or x.checkbox]
        if not items:
            continue
        m = _PHASE.match(sec.title)
        phase = f"Phase {m.group(1)}: {m.group(2).strip()}" if m else sec.title
        pm = _PHASE_PRIORITY.search(sec.title)
        priority = priority_of(pm.group(1)) if pm else None
        tasks = [_spec_task(x, rel, phase, priority) for x in items]
        for t in tasks:
            if t.key in seen:
                raise SourceError(rel, f"task {t.key} appears twice (first on line {seen[t.key]})", t.line)
            seen[t.key] = t.line or 0
        is_story = bool(_STORY_PHASE.search(sec.title)) or any("story" in t.meta for t in tasks)
        deps = list(barrier) if is_story or not stories else list(stories)
        for t in tasks:
            t.depends_on = deps
        if is_story:
            stories += [t.key for t in tasks]
        else:
            barrier, stories = [t.key for t in tasks], []
        batch.items += tasks
    if not batch.items:
        raise SourceError(rel, "no tasks found (expected lines such as `- [ ] T001 [P] [US1] Do this`)")
    return batch


def _phases(secs: list[Section]) -> list[Section]:
    """Level-2 sections with their subsections folded in (### Tests for User Story 1 belongs to its phase)."""
    out: list[Section] = []
    for s in secs:
        if out and s.level > 2:
            out[-1].body.extend(s.body)
        else:
            out.append(Section(s.title, s.level, s.line, list(s.body)))
    return out


# ---------------------------------------------------------------- Kiro


def _kiro_item(item: ListItem, rel: str, fallback: str) -> SourceItem:
    m = _KIRO_NUM.match(item.text)
    key, text = (m.group(1), m.group(2).strip()) if m else (fallback, item.text)
    if not text:
        raise SourceError(rel, "a task without a title", item.line)
    details = [_note(n) for n in item.notes]
    meta: dict[str, object] = {"taskId": key}
    reqs = _requirements(item.notes)
    if reqs:
        meta["requirements"] = reqs
    if item.optional:
        meta["optional"] = True
    return SourceItem(
        key=key,
        title=short_title(text),
        description=text,
        details="\n".join(details),
        done=item.checked,
        files=files_in(" ".join([text, *item.notes])),
        meta=meta,
        path=rel,
        line=item.line,
    )


def read_kiro(path: Path, text: str, rel: str) -> SourceBatch:
    """Kiro's implementation plan is ordered (each task builds on the one before): top-level tasks form a
    chain, and so do the subtasks of one task. `2.1` under (or after) `2.` is a subtask of task 2."""
    batch = SourceBatch("kiro", rel)
    by_key: dict[str, SourceItem] = {}
    body = [(i + 1, line) for i, line in enumerate(text.splitlines())]
    for n, root in enumerate(list_items(body), start=1):
        item = _kiro_item(root, rel, str(n))
        parent = by_key.get(item.key.rsplit(".", 1)[0]) if "." in item.key else None
        target = parent.children if parent else batch.items
        if item.key in by_key:
            raise SourceError(rel, f"task {item.key} appears twice", item.line)
        by_key[item.key] = item
        target.append(item)
        for k, child in enumerate(root.children, start=1):
            sub = _kiro_item(child, rel, f"{item.key}.{k}")
            by_key[sub.key] = sub
            item.children.append(sub)
    if not batch.items:
        raise SourceError(rel, "no tasks found (expected lines such as `- [ ] 1. Set up the project`)")
    for group in [batch.items, *(t.children for t in batch.items)]:
        for before, after in zip(group, group[1:], strict=False):
            after.depends_on = [before.key]
    return batch


# ---------------------------------------------------------------- plain checklists


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "item"


def _unique(key: str, taken: set[str]) -> str:
    out, n = key, 2
    while out in taken:
        out, n = f"{key}-{n}", n + 1
    taken.add(out)
    return out


def _plain(item: ListItem, key: str, rel: str, section: str) -> SourceItem:
    details = [_note(n) for n in item.notes]
    for c in item.children:  # nesting deeper than a subtask folds into its text
        details.append(f"- [{'x' if c.checked else ' '}] {c.text}")
        details += [f"  {_note(x)}" for x in c.notes]
    meta: dict[str, object] = {"section": section} if section else {}
    return SourceItem(
        key=key,
        title=short_title(item.text),
        description=item.text,
        details="\n".join(details),
        done=item.checked,
        files=files_in(item.text),
        meta=meta,
        path=rel,
        line=item.line,
    )


def read_checklist(path: Path, text: str, rel: str) -> SourceBatch:
    """Every checkbox item is a task, nested items its subtasks; no dependencies are invented. Keys are
    the items' titles (a title edited upstream becomes a new task)."""
    batch = SourceBatch("checklist", rel)
    taken: set[str] = set()
    for sec in sections(text.splitlines()):
        for root in list_items(sec.body):
            if not root.text:
                raise SourceError(rel, "a checkbox without text", root.line)
            task = _plain(
                ListItem(root.text, root.line, root.indent, True, root.checked, notes=root.notes),
                "",
                rel,
                sec.title,
            )
            task.key = _unique(_slug(root.text), taken)
            for child in root.children:
                if not child.text:
                    raise SourceError(rel, "a checkbox without text", child.line)
                sub = _plain(child, _unique(f"{task.key}/{_slug(child.text)}", taken), rel, "")
                task.children.append(sub)
            batch.items.append(task)
    if not batch.items:
        raise SourceError(rel, "no checklist items found (expected lines such as `- [ ] Do this`)")
    return batch
