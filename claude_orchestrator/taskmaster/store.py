"""The .taskmaster/ directory: discovery, config/state, tags, and locked atomic writes of tasks.json.

Every write takes ``tasks.json.lock`` the way task-master-ai does (a directory made with mkdir, stale after
10 s; the old JS code's lock *file* of the same name also excludes us), writes a temporary file and renames it
over, so readers never see half a file and concurrent writers lose no update.
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError, LockError, NotFoundError, TaskFileError
from ..files import BadJSON, loads_json, write_text
from .model import DEFAULT_TAG, Document, TagData, loads_document
from .writer import build_document, check_writable, tasks_changed

TM_DIR = ".taskmaster"
LOCK_STALE_S = 10.0
LOCK_TIMEOUT_S = 30.0
# A repository root ends the upward search (task-master stops at these markers too).
_BOUNDARIES = (".git", ".hg", ".svn", ".fossil")
_TAG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def now_iso() -> str:
    d = datetime.now(timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def find_taskmaster_dir(start: Path) -> Path:
    """The nearest .taskmaster/ at or above ``start``, stopping at the repository root."""
    here = Path(start).resolve()
    for d in (here, *here.parents):
        cand = d / TM_DIR
        if cand.is_dir():
            return cand
        if any((d / b).exists() for b in _BOUNDARIES):
            break
    raise NotFoundError(f"no {TM_DIR}/ directory in {here} or its parents (run `task-master init` first)")


# ---------------------------------------------------------------- locking and atomic files


def _remove_lock(lock: Path) -> None:
    try:
        if lock.is_dir():
            os.rmdir(lock)
        else:
            lock.unlink()
    except OSError:
        pass


@contextmanager
def file_lock(target: Path, timeout: float = LOCK_TIMEOUT_S, stale: float = LOCK_STALE_S) -> Iterator[Path]:
    """Hold ``<target>.lock`` (mkdir). A lock older than ``stale`` seconds is broken; ours is kept fresh."""
    lock = target.with_name(target.name + ".lock")
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            os.mkdir(lock)
            break
        except FileExistsError:
            try:
                age = time.time() - lock.stat().st_mtime
            except FileNotFoundError:
                continue
            if age > stale:
                _remove_lock(lock)
                continue
            if time.monotonic() > deadline:
                raise LockError(f"{lock}: held by another process for more than {timeout:.0f} s") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    done = threading.Event()

    def refresh() -> None:  # like proper-lockfile: touch the lock well before it could look stale
        while not done.wait(stale / 3):
            try:
                os.utime(lock)
            except OSError:
                return

    keeper = threading.Thread(target=refresh, name="tasks-lock-refresh", daemon=True)
    keeper.start()
    try:
        yield lock
    finally:
        done.set()
        _remove_lock(lock)


def _read_json_object(path: Path) -> dict[str, Any]:
    try:
        data = loads_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError, BadJSON) as e:
        raise TaskFileError(path, f"malformed JSON ({e})") from None
    if not isinstance(data, dict):
        raise TaskFileError(path, "expected a JSON object")
    return data


def render_document(doc: Document, built: dict[str, Any] | None = None) -> str:
    """The text of tasks.json as we write it (`built`: build_document(doc), when already made)."""
    return json.dumps(build_document(doc) if built is None else built, indent=2, ensure_ascii=False)


def stamp_metadata(tag: TagData) -> None:
    """Record a change in the tag's metadata, in the shape it already has: the new core's counters
    (taskCount, completedCount, lastModified) when present, else the older created/updated/description."""
    now = now_iso()
    meta = tag.metadata
    if "taskCount" in meta or "lastModified" in meta:
        meta["lastModified"] = now
        if "taskCount" in meta:
            meta["taskCount"] = len(tag.tasks)
            meta["completedCount"] = sum(1 for t in tag.tasks if t.status == "done")
        return
    meta.setdefault("created", now)
    meta["updated"] = now
    meta.setdefault("description", f"Tasks for {tag.name} context")


# ---------------------------------------------------------------- the store


class TaskStore:
    """One project's task database (``<root>/.taskmaster/tasks/tasks.json`` unless a file is given)."""

    def __init__(self, project_root: Path, tasks_file: Path | None = None) -> None:
        self.root = Path(project_root)
        self.tm_dir = self.root / TM_DIR
        self.tasks_path = Path(tasks_file) if tasks_file else self.tm_dir / "tasks" / "tasks.json"
        self.explicit_file = tasks_file is not None
        self.state_path = self.tm_dir / "state.json"
        self.config_path = self.tm_dir / "config.json"

    @classmethod
    def discover(cls, start: Path | None = None, file: Path | None = None) -> TaskStore:
        start = Path(start) if start else Path.cwd()
        if file is not None:
            file = file if Path(file).is_absolute() else start / file
            try:
                root = find_taskmaster_dir(Path(file).parent).parent
            except NotFoundError:
                root = start
            return cls(root, Path(file))
        return cls(find_taskmaster_dir(start).parent, None)

    # ---- config and state
    def config(self) -> dict[str, Any]:
        return _read_json_object(self.config_path)

    def state(self) -> dict[str, Any]:
        return _read_json_object(self.state_path)

    def current_tag(self) -> str:
        tag = self.state().get("currentTag")
        if isinstance(tag, str) and tag:
            return tag
        glob = self.config().get("global")
        default = glob.get("defaultTag") if isinstance(glob, dict) else None
        return default if isinstance(default, str) and default else DEFAULT_TAG

    def _write_state(self, **changes: Any) -> None:
        state = self.state() or {
            "currentTag": DEFAULT_TAG,
            "branchTagMapping": {},
            "migrationNoticeShown": False,
        }
        state.update(changes)
        self.tm_dir.mkdir(parents=True, exist_ok=True)
        write_text(self.state_path, json.dumps(state, indent=2))

    # ---- reading
    def read_document(self, missing_ok: bool = False) -> Document:
        """The whole file. A project without tasks.json reads as empty; a missing explicit file is an error."""
        try:
            text = self.tasks_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if self.explicit_file and not missing_ok:
                raise TaskFileError(self.tasks_path, "no such file") from None
            if not self.tm_dir.is_dir() and not missing_ok:
                raise NotFoundError(
                    f"{self.tasks_path}: no task database (run `task-master init` first)"
                ) from None
            return Document()
        except UnicodeDecodeError:
            raise TaskFileError(self.tasks_path, "not UTF-8 text") from None
        except IsADirectoryError:
            raise TaskFileError(self.tasks_path, "is a directory") from None
        return loads_document(text, self.tasks_path)

    def _resolve(self, doc: Document, tag: str | None) -> str:
        """The tag asked for, else the current one; like the new core, the first tag when the default
        'master' is absent from a file that has other tags."""
        if tag:
            return tag
        name = self.current_tag()
        if name == DEFAULT_TAG and name not in doc.tags and doc.tags:
            return next(iter(doc.tags))
        return name

    def load(self, tag: str | None = None) -> TagData:
        doc = self.read_document()
        return doc.tag(self._resolve(doc, tag))

    def tags(self) -> list[str]:
        names = list(self.read_document().tags)
        return names or [DEFAULT_TAG]

    # ---- writing
    @contextmanager
    def edit_document(self) -> Iterator[Document]:
        """Lock, read, yield the whole Document, then write it atomically (only if the block succeeds, and
        only what changed: see writer.py). When nothing changed, the file is not touched."""
        self.tasks_path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(self.tasks_path):
            doc = self.read_document(missing_ok=True)
            doc.freeze()
            yield doc
            check_writable(doc, self.tasks_path)
            out = build_document(doc)
            if doc.raw is not None and out == doc.raw:
                return
            write_text(self.tasks_path, render_document(doc, out))

    @contextmanager
    def edit(self, tag: str | None = None) -> Iterator[TagData]:
        """Yield the tag's TagData for changes; saved under the lock on normal exit (its metadata stamped
        only when its tasks changed)."""
        with self.edit_document() as doc:
            name = self._resolve(doc, tag)
            existed = name in doc.tags
            data = doc.tags.get(name) or TagData(name=name)
            yield data
            if tasks_changed(data):
                stamp_metadata(data)
            if existed or data.tasks:
                doc.tags[name] = data

    # ---- tags
    def use_tag(self, name: str) -> None:
        if name not in self.read_document().tags:
            raise NotFoundError(f"tag '{name}' does not exist (tags: {', '.join(self.tags())})")
        self._write_state(currentTag=name, lastSwitched=now_iso())

    def add_tag(self, name: str, description: str | None = None, copy_from: str | None = None) -> TagData:
        if not _TAG_NAME.match(name):
            raise InputError(f"invalid tag name '{name}' (letters, digits, '-', '_', '.')")
        with self.edit_document() as doc:
            if name in doc.tags:
                raise InputError(f"tag '{name}' already exists")
            tasks = []
            if copy_from is not None:
                if copy_from not in doc.tags:
                    raise NotFoundError(f"tag '{copy_from}' does not exist")
                tasks = copy.deepcopy(doc.tags[copy_from].tasks)
            now = now_iso()
            desc = description or f"Tag created on {datetime.now().strftime('%m/%d/%Y')}"
            data = TagData(name, tasks, {"created": now, "updated": now, "description": desc})
            doc.tags[name] = data
        return data

    def rename_tag(self, old: str, new: str) -> None:
        if old == DEFAULT_TAG:
            raise InputError("the 'master' tag cannot be renamed")
        if not _TAG_NAME.match(new):
            raise InputError(f"invalid tag name '{new}' (letters, digits, '-', '_', '.')")
        with self.edit_document() as doc:
            if old not in doc.tags:
                raise NotFoundError(f"tag '{old}' does not exist")
            if new in doc.tags:
                raise InputError(f"tag '{new}' already exists")
            doc.tags = {(new if k == old else k): v for k, v in doc.tags.items()}
            doc.tags[new].name = new
        if self.current_tag() == old:
            self._write_state(currentTag=new, lastSwitched=now_iso())

    def remove_tag(self, name: str) -> None:
        if name == DEFAULT_TAG:
            raise InputError("the 'master' tag cannot be removed")
        with self.edit_document() as doc:
            if name not in doc.tags:
                raise NotFoundError(f"tag '{name}' does not exist")
            del doc.tags[name]
        if self.current_tag() == name:
            self._write_state(currentTag=DEFAULT_TAG, lastSwitched=now_iso())


def init_project(root: Path, name: str | None = None) -> list[Path]:
    """Create .taskmaster/ as `task-master init -y` does (no tasks.json); return the paths created."""
    from .templates import EXAMPLE_PRD, default_config

    tm = Path(root) / TM_DIR
    created: list[Path] = []
    for sub in ("", "tasks", "docs", "reports", "templates"):
        d = tm / sub if sub else tm
        if not d.is_dir():
            d.mkdir(parents=True)
            created.append(d)
    files = {
        tm / "config.json": json.dumps(default_config(name), indent=2),
        tm / "state.json": json.dumps(
            {
                "currentTag": DEFAULT_TAG,
                "lastSwitched": now_iso(),
                "branchTagMapping": {},
                "migrationNoticeShown": False,
            },
            indent=2,
        ),
        tm / "templates" / "example_prd.txt": EXAMPLE_PRD,
    }
    for path, text in files.items():
        if not path.exists():
            write_text(path, text)
            created.append(path)
    return created
