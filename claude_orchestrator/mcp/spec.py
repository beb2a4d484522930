"""How a tool is declared (its parameters, annotations, handler) and what a handler gets: the call's
arguments, the project it names and its task store.

Every tool takes `projectRoot` (required) and `tag`; a tool that works on a task database opens it from
`projectRoot` (an absolute path inside a project: the nearest `.taskmaster/` at or above it) and `file`
when the tool has that parameter."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import InputError, NotFoundError
from ..taskmaster.model import TagData
from ..taskmaster.store import TaskStore

REQUIRED: Any = object()  # the default of a required parameter


@dataclass(frozen=True)
class Param:
    name: str  # as on the wire (may be a Python keyword, such as "from")
    type: Any = str
    default: Any = None
    description: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    handler: Callable[[Call], Any]  # runs in a worker thread; returns the envelope's `data`
    params: tuple[Param, ...] = ()
    title: str = ""
    read_only: bool = False
    destructive: bool = False
    needs_project: bool = True  # open the task store from projectRoot before the handler runs


PROJECT_ROOT = Param("projectRoot", str, REQUIRED, "Absolute path of the project (or a folder inside it).")
TAG = Param("tag", str, None, "Tag to work on (default: the current tag).")
FILE = Param("file", str, None, "Path to tasks.json (default: .taskmaster/tasks/tasks.json).")


def project_root(value: str) -> Path:
    """`projectRoot` as a folder: an absolute path or a file:// URI, which must exist."""
    text = (value or "").strip()
    if text.startswith("file://"):
        text = unquote(urlparse(text).path)
    if not text:
        raise InputError("projectRoot is empty: pass the project's absolute path")
    path = Path(text)
    if not path.is_absolute():
        raise InputError(f"projectRoot must be an absolute path, not {value!r}")
    if not path.is_dir():
        raise NotFoundError(f"projectRoot {path} is not an existing folder")
    return path.resolve()


@dataclass
class Call:
    """One tool call: its arguments by wire name (absent ones are None) and, once opened, its project."""

    tool: str
    args: dict[str, Any]
    root: Path | None = None
    _store: TaskStore | None = field(default=None, repr=False)

    def open(self, needs_project: bool, tasks_file: bool = False) -> None:
        """Resolve projectRoot and, when the tool needs one, its task store (`file` names tasks.json when
        the tool has the FILE parameter)."""
        self.root = project_root(str(self.args.get("projectRoot") or ""))
        if needs_project:
            file = self.text("file") if tasks_file else None
            try:
                self._store = TaskStore.discover(self.root, Path(file) if file else None)
            except NotFoundError as e:
                raise NotFoundError(f"{e}; or call initialize_project") from None

    @property
    def store(self) -> TaskStore:
        if self._store is None:
            raise NotFoundError(f"{self.tool}: no task database is open")
        return self._store

    @property
    def project(self) -> Path:
        return self._store.root if self._store is not None else self.root or Path.cwd()

    @property
    def explicit_tag(self) -> str | None:
        return self.text("tag")

    def envelope_tag(self) -> str | None:
        """The tag the answer names: the one asked for, else the project's current tag."""
        if self.explicit_tag:
            return self.explicit_tag
        if self._store is not None:
            try:
                return self._store.current_tag()
            except InputError:
                return None
        return None

    def load(self) -> TagData:
        return self.store.load(self.explicit_tag)

    # ---- arguments
    def text(self, name: str) -> str | None:
        value = self.args.get(name)
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    def need(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise InputError(f"{self.tool} needs `{name}`")
        return value

    def flag(self, name: str) -> bool:
        return bool(self.args.get(name))

    def integer(self, name: str, minimum: int = 0) -> int | None:
        """A count given as a number or a numeric string (Task Master's schemas use strings)."""
        value = self.args.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            n = int(str(value).strip())
        except ValueError:
            raise InputError(f"`{name}` must be a whole number, not {value!r}") from None
        if n < minimum:
            raise InputError(f"`{name}` must be at least {minimum}, not {n}")
        return n

    def path(self, name: str) -> Path | None:
        """A path argument, relative to the project root unless absolute."""
        value = self.text(name)
        if value is None:
            return None
        p = Path(value)
        return p if p.is_absolute() else self.project / p

    def metadata(self, name: str = "metadata") -> dict[str, Any] | None:
        """Task Master's metadata argument: a JSON object, allowed only with TASK_MASTER_ALLOW_METADATA_UPDATES."""
        raw = self.text(name)
        if raw is None:
            return None
        if os.environ.get("TASK_MASTER_ALLOW_METADATA_UPDATES") != "true":
            raise InputError(
                "metadata updates are disabled: set TASK_MASTER_ALLOW_METADATA_UPDATES=true in the "
                "MCP server's environment to allow them"
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InputError(f"metadata is not valid JSON: {e.msg}") from None
        if not isinstance(value, dict):
            raise InputError("metadata must be a JSON object")
        return value
