"""Which format a local source is in (or the one named with --format), and reading it into batches."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError, SourceError
from .checklists import read_checklist, read_kiro, read_spec_kit
from .documents import backlog_files, read_ai_docs, read_backlog, read_task_files
from .items import SourceBatch, read_text

FILE_FORMATS = ("spec-kit", "kiro", "checklist", "backlog", "task-md", "ai-docs")
FORMATS = (*FILE_FORMATS, "github")

_SPEC_LINE = re.compile(r"^\s*[-*]\s+\[[ xX]\]\s+T\d{3,}\b", re.MULTILINE)
_KIRO_LINE = re.compile(r"^\s*[-*]\s+\[[ xX]\]\*?\s+\d+(?:\.\d+)*\.?\s", re.MULTILINE)
_REQS = re.compile(r"_Requirements?:", re.IGNORECASE)
_BOX = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\[[ xX]\]", re.MULTILINE)
_BACKLOG_ID = re.compile(r"^id:\s*['\"]?[A-Za-z]+-\d+(?:\.\d+)*['\"]?\s*$", re.MULTILINE | re.IGNORECASE)
_AIDOCS_ID = re.compile(r"^id:\s*['\"]?(?:T|P|PLAN|SPEC)-\d", re.MULTILINE)
_AIDOCS_DIRS = (".ai_docs", "ai_docs")


class Reader:
    """Relative names for messages and source ids: inside the project root, paths relative to it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def rel(self, path: Path) -> str:
        p = path.resolve()
        try:
            return p.relative_to(self.root).as_posix() or "."
        except ValueError:
            return p.as_posix()


def _file_format(path: Path, text: str) -> str | None:
    if path.name.endswith(".task.md"):
        return "task-md"
    head = text[:2000]
    if head.startswith("---") and _BACKLOG_ID.search(head) and not _AIDOCS_ID.search(head):
        return "backlog"
    if head.startswith("---") and _AIDOCS_ID.search(head):
        return "ai-docs"
    if _SPEC_LINE.search(text):
        return "spec-kit"
    if _KIRO_LINE.search(text) and (".kiro" in path.parts or _REQS.search(text)):
        return "kiro"
    if _BOX.search(text):
        return "checklist"
    return None


def _folder_sources(folder: Path) -> list[tuple[str, Path]]:
    """(format, path) pairs a folder holds, in a stable order."""
    if backlog_files(folder) and (folder.name in ("backlog", "tasks") or (folder / "backlog").is_dir()):
        base = folder / "backlog" / "tasks" if (folder / "backlog" / "tasks").is_dir() else folder
        base = base / "tasks" if (base / "tasks").is_dir() else base
        return [("backlog", base)]
    if folder.name in _AIDOCS_DIRS:
        return [("ai-docs", folder)]
    for name in _AIDOCS_DIRS:
        if (folder / name).is_dir():
            return [("ai-docs", folder / name)]
    kiro = sorted((folder / ".kiro" / "specs").glob("*/tasks.md")) or (
        sorted(folder.glob("*/tasks.md")) if folder.name == "specs" and folder.parent.name == ".kiro" else []
    )
    if kiro:
        return [("kiro", p) for p in kiro]
    spec = sorted(folder.glob("specs/*/tasks.md")) or (
        sorted(folder.glob("*/tasks.md")) if folder.name == "specs" else []
    )
    if spec:
        return [("spec-kit", p) for p in spec]
    if any(folder.glob("*.task.md")):
        return [("task-md", folder)]
    return []


def read_local(source: Path, root: Path, fmt: str | None = None) -> list[SourceBatch]:
    """The batches a file or folder holds. Unknown formats and unreadable files raise SourceError."""
    r = Reader(root)
    if not source.exists():
        raise SourceError(source, "no such file or folder")
    if fmt is not None and fmt not in FILE_FORMATS:
        raise InputError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if source.is_dir():
        found = _folder_sources(source)
        if fmt is not None:
            found = [(f, p) for f, p in found if f == fmt] or [(fmt, source)]
        if not found:
            raise SourceError(r.rel(source), "no importable tasks found here; name the format with --format")
        return [_read(f, p, r) for f, p in found]
    text = read_text(source)
    kind = fmt or _file_format(source, text)
    if kind is None:
        raise SourceError(r.rel(source), "cannot tell the format (no checklist items); name it with --format")
    if kind == "ai-docs" and source.parent.parent.name in _AIDOCS_DIRS:
        return [_read(kind, source.parent.parent, r)]
    return [_read(kind, source, r, text)]


def _read(kind: str, path: Path, r: Reader, text: str | None = None) -> SourceBatch:
    rel = r.rel(path)
    if kind in ("spec-kit", "kiro", "checklist"):
        if path.is_dir():
            raise SourceError(rel, f"a {kind} source is a markdown file, not a folder")
        readers: dict[str, Callable[[Path, str, str], SourceBatch]] = {
            "spec-kit": read_spec_kit,
            "kiro": read_kiro,
            "checklist": read_checklist,
        }
        return readers[kind](path, text if text is not None else read_text(path), rel)
    if kind == "backlog":
        files = backlog_files(path) if path.is_dir() else [path]
        folder = path if path.is_dir() else path.parent
        if not files:
            raise SourceError(rel, "no Backlog.md task files (backlog/tasks/*.md)")
        return read_backlog(files, r.rel(files[0].parent if path.is_dir() else folder), r.rel)
    if kind == "task-md":
        files = sorted(path.glob("*.task.md")) or sorted(path.glob("*.md")) if path.is_dir() else [path]
        folder = path if path.is_dir() else path.parent
        if not files:
            raise SourceError(rel, "no .task.md files")
        return read_task_files(files, r.rel(folder), r.rel)
    if kind == "ai-docs":
        if not path.is_dir():
            raise SourceError(rel, "an .ai_docs source is its folder (with tasks/, plans/, specs/)")
        return read_ai_docs(path, rel, r.rel)
    raise InputError(f"unknown format {kind!r} (one of {', '.join(FORMATS)})")
