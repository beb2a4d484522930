"""The drop folder's files: which are importable, what was imported (persisted, so a restart imports
nothing twice), failed files moved aside with their error, and `NAME.result.md` beside a finished file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import OrchestratorError
from ..files import write_json, write_text
from ..taskmaster.model import Subtask, TagData, Task
from ..taskmaster.store import TaskStore
from .detect import Reader, read_local
from .service import merge_into

FAILED = "failed"
STATE = Path("intake") / "watch.json"  # under .taskmaster/


def importable(path: Path, folder: Path) -> bool:
    """A markdown file directly in the folder, not a result we wrote, not hidden."""
    name = path.name
    return (
        path.parent == folder
        and name.endswith(".md")
        and not name.endswith(".result.md")
        and not name.startswith(".")
    )


def result_name(path: Path) -> Path:
    base = path.name.removesuffix(".md").removesuffix(".task")
    return path.with_name(f"{base}.result.md")


def digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class Imported:
    file: str
    tasks: list[str]
    changed: bool


class DropFolder:
    """Imports files of one folder into one tag; all file-system effects of `watch` live here."""

    def __init__(self, store: TaskStore, folder: Path, tag: str | None = None) -> None:
        self.store, self.folder, self.tag = store, folder.resolve(), tag
        self.key = Reader(store.root).rel(self.folder)
        self.state_path = store.tm_dir / STATE

    # -- persisted state ---------------------------------------------------------------------------
    def _all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def state(self) -> dict[str, dict[str, Any]]:
        return dict(self._all().get(self.key) or {})

    def _save(self, files: dict[str, dict[str, Any]]) -> None:
        data = self._all()
        data[self.key] = files
        write_json(self.state_path, data)

    # -- importing ---------------------------------------------------------------------------------
    def pending_files(self) -> list[Path]:
        """Importable files that are new or changed since they were imported."""
        known = self.state()
        out = []
        for p in sorted(self.folder.iterdir()):
            if p.is_file() and importable(p, self.folder):
                entry = known.get(p.name)
                if entry is None or entry.get("sha256") != digest(p):
                    out.append(p)
        return out

    def import_file(self, path: Path) -> Imported | str:
        """Import one file; on bad input move it to failed/ with its error beside it and return the error."""
        sha = digest(path)
        if sha is None:
            return f"{path.name}: vanished"
        try:
            result = merge_into(self.store, read_local(path, self.store.root), self.tag, dry_run=False)
        except OrchestratorError as e:
            return self._fail(path, str(e))
        ids = [uid for _, rep in result.results for uid in rep.task_ids.values() if "." not in uid]
        files = self.state()
        files[path.name] = {"sha256": sha, "tasks": ids}
        self._save(files)
        return Imported(path.name, ids, result.written)

    def _fail(self, path: Path, error: str) -> str:
        dest_dir = self.folder / FAILED
        dest_dir.mkdir(exist_ok=True)
        dest, n = dest_dir / path.name, 2
        while dest.exists():
            dest, n = dest_dir / f"{path.stem}-{n}{path.suffix}", n + 1
        path.replace(dest)
        write_text(dest.with_name(dest.name + ".error.txt"), error + "\n")
        return error

    # -- results -----------------------------------------------------------------------------------
    def open_work(self, tag: TagData) -> list[str]:
        """Ids of this folder's tasks that are still pending."""
        ids = [uid for e in self.state().values() for uid in e.get("tasks", [])]
        out = []
        for uid in ids:
            t = tag.task(int(uid)) if uid.isdigit() else None
            if t is not None and t.status == "pending":
                out.append(uid)
        return out

    def write_results(self, tag: TagData) -> list[Path]:
        """`NAME.result.md` beside each file whose tasks all finished (done, blocked or cancelled) and whose
        result for this content is not written yet."""
        files = self.state()
        written = []
        for name, entry in files.items():
            tasks = [t for uid in entry.get("tasks", []) if (t := tag.task(int(uid))) is not None]
            if not tasks or any(t.status not in ("done", "blocked", "cancelled") for t in tasks):
                continue
            if entry.get("result") == entry.get("sha256"):
                continue
            path = result_name(self.folder / name)
            write_text(path, result_text(tasks))
            entry["result"] = entry.get("sha256")
            written.append(path)
        if written:
            self._save(files)
        return written


def _orch(unit: Task | Subtask) -> dict[str, Any]:
    md = unit.extra.get("metadata")
    orch = md.get("orchestrator") if isinstance(md, dict) else None
    return orch if isinstance(orch, dict) else {}


def result_text(tasks: list[Task]) -> str:
    lines: list[str] = []
    for t in tasks:
        o = _orch(t)
        status = "failed" if t.status == "blocked" else t.status
        lines += [f"# Task {t.id}: {t.title}", "", f"- Status: {status}"]
        if o.get("commit"):
            lines.append(f"- Commit: `{o['commit']}`" + (f" on `{o['branch']}`" if o.get("branch") else ""))
        cost = o.get("cost_usd")
        if isinstance(cost, (int, float)):
            lines.append(f"- Cost: ${cost:.4f}")
        if o.get("run_id"):
            lines.append(f"- Run: `{o['run_id']}`")
        if o.get("reason"):
            lines.append(f"- Reason: {o['reason']}")
        for s in t.subtasks:
            lines.append(f"- Subtask {s.uid} ({s.title}): {s.status}")
        summary = str(o.get("summary") or "").strip()
        lines += ["", "## Summary", "", summary or "(no summary)", ""]
    return "\n".join(lines)
