"""What every source reader produces: items with a key unique within their source, before they become
Task Master tasks (merge.py). Readers never touch tasks.json."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SourceError


@dataclass
class SourceItem:
    """One piece of work as a source describes it. `depends_on` names other items' keys."""

    key: str
    title: str
    description: str = ""
    details: str = ""
    test_strategy: str = ""
    priority: str | None = None
    done: bool = False
    depends_on: list[str] = field(default_factory=list)
    acceptance: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    children: list[SourceItem] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # kept in the task's metadata.source
    path: str | None = None
    line: int | None = None

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.path and self.line else (self.path or self.key)


@dataclass
class SourceBatch:
    """Everything one source holds. `origin` with an item's key identifies the item across imports."""

    kind: str  # spec-kit | kiro | checklist | backlog | task-md | ai-docs | github
    origin: str
    items: list[SourceItem] = field(default_factory=list)
    strict_deps: bool = True  # an unknown dependency is an error (files) or a notice (trackers)
    notices: list[str] = field(default_factory=list)

    def walk(self) -> list[SourceItem]:
        return [x for it in self.items for x in (it, *it.children)]


# ---------------------------------------------------------------- shared helpers

PRIORITY_WORDS = {
    "critical": "critical",
    "urgent": "critical",
    "blocker": "critical",
    "p0": "critical",
    "high": "high",
    "p1": "high",
    "medium": "medium",
    "normal": "medium",
    "p2": "medium",
    "low": "low",
    "minor": "low",
    "p3": "low",
    "p4": "low",
}
DONE_WORDS = frozenset({"done", "completed", "complete", "closed", "finished", "resolved"})

_FILE_RE = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)+[\w.-]+\.[A-Za-z0-9]{1,8}|[\w-]+\.(?:py|ts|tsx|js|jsx|go|rs|java|rb|md|toml|json|ya?ml|c|h|cpp|hpp|cs|kt|swift|sql|sh|html|css))(?![\w/])"
)


def priority_of(value: Any) -> str | None:
    """A source's priority word (high, P1, urgent...) as one of Task Master's four, or None."""
    if value is None:
        return None
    return PRIORITY_WORDS.get(str(value).strip().lower())


def is_done(value: Any) -> bool:
    return str(value or "").strip().lower() in DONE_WORDS


def files_in(text: str) -> list[str]:
    """Paths a task names (`in src/models/user.py`): a hint for which tasks may not run side by side."""
    out: list[str] = []
    for m in _FILE_RE.finditer(text):
        p = m.group(1).strip("`'\".,;:()")
        if p.startswith(("http:", "https:")) or "://" in p:
            continue
        p = p.lstrip("/")
        if p and p not in out:
            out.append(p)
    return out


def short_title(text: str, limit: int = 100) -> str:
    """A one-line title: the first sentence, at most `limit` characters."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(path, "no such file") from None
    except IsADirectoryError:
        raise SourceError(path, "is a folder, not a file") from None
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        raise SourceError(path, "not UTF-8 text", line) from None
