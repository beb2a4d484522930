"""Markdown pieces the readers share: YAML front matter, `##` sections, and checklists with their nesting
and line numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import SourceError

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(
    r"^(?P<indent>\s*)(?:[-*+]|\d+[.)])\s+(?:\[(?P<mark>[ xX~-])\]\s*(?P<star>\*)?\s*)?(?P<text>.*)$"
)


@dataclass
class Document:
    meta: dict[str, Any]
    lines: list[str]  # the body
    offset: int  # line number of the body's first line, minus one

    def lineno(self, i: int) -> int:
        return self.offset + i + 1


def front_matter(text: str, path: object) -> Document:
    """Split `---` YAML front matter from the body; malformed YAML names its line."""
    import yaml

    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return Document({}, lines, 0)
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        raise SourceError(path, "front matter opened with --- is never closed", 1)
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SourceError(path, f"front matter is not valid YAML ({problem})", line) from None
    if not isinstance(meta, dict):
        raise SourceError(path, "front matter must be a mapping of keys to values", 2)
    return Document(meta, lines[end + 1 :], end + 1)


@dataclass
class Section:
    title: str
    level: int
    line: int  # 1-based line of the heading (0: the text before any heading)
    body: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)

    def text(self) -> str:
        return "\n".join(t for _, t in self.body).strip()


def sections(lines: list[str], first_line: int = 1) -> list[Section]:
    """Split at headings (outside code fences); the text before the first heading is a level-0 section."""
    out = [Section("", 0, 0)]
    fenced = False
    for i, line in enumerate(lines):
        n = first_line + i
        if _FENCE.match(line):
            fenced = not fenced
        m = None if fenced else _HEADING.match(line)
        if m:
            out.append(Section(m.group(2).strip(), len(m.group(1)), n))
        else:
            out[-1].body.append((n, line))
    return out


def find_section(secs: list[Section], *names: str) -> Section | None:
    """The first section whose title (bold and colons stripped, any case) is one of `names`."""
    wanted = {x.lower() for x in names}
    for s in secs:
        if clean_heading(s.title).lower() in wanted:
            return s
    return None


def clean_heading(text: str) -> str:
    return text.strip().strip("*_").rstrip(":").strip().strip("*_").strip()


@dataclass
class ListItem:
    text: str
    line: int
    indent: int
    checkbox: bool
    checked: bool
    optional: bool = False  # Kiro's `- [ ]*`
    notes: list[str] = field(default_factory=list)  # continuation lines and plain sub-bullets
    children: list[ListItem] = field(default_factory=list)


def list_items(body: list[tuple[int, str]]) -> list[ListItem]:
    """The bullet list of a body as a tree by indentation. Checkbox items nest; a plain bullet or a
    continuation line under an item becomes one of its notes."""
    roots: list[ListItem] = []
    stack: list[ListItem] = []
    fenced = False
    for n, raw in body:
        line = raw.expandtabs(4)
        if _FENCE.match(line):
            fenced = not fenced
            if stack:
                stack[-1].notes.append(line.strip())
            continue
        if fenced:
            if stack:
                stack[-1].notes.append(line.rstrip())
            continue
        if not line.strip():
            continue
        m = _ITEM.match(line)
        indent = len(line) - len(line.lstrip())
        if m and m.group("mark") is not None:
            item = ListItem(
                text=m.group("text").strip(),
                line=n,
                indent=indent,
                checkbox=True,
                checked=m.group("mark") in "xX",
                optional=bool(m.group("star")),
            )
            while stack and stack[-1].indent >= indent:
                stack.pop()
            (stack[-1].children if stack else roots).append(item)
            stack.append(item)
            continue
        if not stack:
            continue
        while len(stack) > 1 and indent <= stack[-1].indent:
            stack.pop()
        if indent <= stack[-1].indent and not m:
            stack.clear()  # text back at the margin ends the list
            continue
        text = m.group("text").strip() if m else line.strip()
        stack[-1].notes.append(text)
    return roots


def checklist(body: list[tuple[int, str]]) -> list[str]:
    """The texts of a section's checkbox items (acceptance criteria, success criteria)."""
    out = []
    for item in list_items(body):
        for x in (item, *item.children):
            text = re.sub(r"^#\d+\s+", "", x.text)  # Backlog.md numbers its criteria: `#1 ...`
            if text:
                out.append(text)
    return out


def plain_list(body: list[tuple[int, str]]) -> list[str]:
    """The texts of a section's bullets, checkbox or not."""
    out = []
    for _, line in body:
        m = _ITEM.match(line)
        if m and m.group("text").strip():
            out.append(m.group("text").strip())
    return out
