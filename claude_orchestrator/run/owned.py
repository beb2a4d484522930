"""The run's own changes to tasks.json, kept apart from everyone else's.

During a run a person may edit tasks.json too (a status, a title, a new task). The status commits of a run
must hold the run's changes only: `OwnChanges` notes each change the TaskRecorder makes (a status set, the
``metadata.orchestrator`` it writes, a follow-up task it adds) and replays them, in order, on the committed
version of the file (`rebuild`). With nobody else editing, the rebuilt text is the file itself, byte for
byte; with a person's edits, those stay in the working tree, uncommitted, theirs to commit.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from ..errors import OrchestratorError, TaskFileError
from ..taskmaster import ops
from ..taskmaster.model import TagData, Task, loads_document
from ..taskmaster.store import render_document, stamp_metadata
from ..taskmaster.writer import tasks_changed

STAMPS = ("created", "updated", "lastModified")  # the tag metadata a write stamps with its time


class OwnChanges:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self._ops: list[tuple[str, str, Any]] = []  # (kind, unit id, value), in the order made
        self._stamps: dict[str, Any] = {}
        self._lock = threading.Lock()

    def status(self, uid: str, status: str) -> None:
        with self._lock:
            self._ops.append(("status", uid, status))

    def meta(self, uid: str, orchestrator: dict[str, Any]) -> None:
        with self._lock:
            self._ops.append(("meta", uid, copy.deepcopy(orchestrator)))

    def added(self, task: Task) -> None:
        with self._lock:
            self._ops.append(("task", str(task.id), copy.deepcopy(task)))

    def written(self, data: TagData) -> None:
        """After a write of ours: the time it stamped on the tag (the rebuilt text carries the same)."""
        with self._lock:
            self._stamps = {k: data.metadata[k] for k in STAMPS if k in data.metadata}

    def rebuild(self, committed: str | None) -> str | None:
        """The committed text of tasks.json with the run's changes replayed on it; None when there is
        nothing of ours to commit (no change yet, the file or the tag not committed, or not readable)."""
        with self._lock:
            changes, stamps = list(self._ops), dict(self._stamps)
        if not changes or committed is None:
            return None
        try:
            doc = loads_document(committed)
        except TaskFileError:
            return None
        doc.freeze()
        data = doc.tags.get(self.tag)
        if data is None:
            return None
        for kind, uid, value in changes:
            _replay(data, kind, uid, value)
        if not tasks_changed(data):
            return committed
        stamp_metadata(data)
        data.metadata.update({k: v for k, v in stamps.items() if k in data.metadata})
        return render_document(doc)


def _replay(data: TagData, kind: str, uid: str, value: Any) -> None:
    if kind == "task":
        if data.task(int(uid)) is None:
            data.tasks.append(copy.deepcopy(value))
        return
    try:
        item = data.find(uid)
    except OrchestratorError:
        return  # not in the committed file (a person's task, not committed yet): theirs to commit
    if kind == "status":
        ops.set_status(data, [uid], value)
    else:
        meta = item.extra.get("metadata")
        meta = dict(meta) if isinstance(meta, dict) else {}
        meta["orchestrator"] = copy.deepcopy(value)
        item.extra["metadata"] = meta
