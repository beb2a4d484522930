"""The fields a run owns in tasks.json, and their restoration after a stale write.

task-master-ai reads tasks.json before it takes the lock and writes its (by then stale) copy back: a
`set-status` or `add-task` of the original CLI during a run can erase what the run recorded a moment
before (a task's status, its ``metadata.orchestrator``). The recorder notes each status it sets here, with
every status the task had before in this run; on each later write (which reads the file afresh, under the
lock) and when the run flushes, a task found back at one of those earlier statuses lost our write to a
stale copy: our status and metadata are put back, and the recorder says so in a RunWarning. A status the
run never saw (the user's own ``deferred``, say) is a deliberate change: the run lets go of that task.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import OrchestratorError
from ..taskmaster import ops
from ..taskmaster.model import TagData


@dataclass
class _Claim:
    status: str
    earlier: set[str] = field(default_factory=set)
    meta: dict[str, Any] | None = None  # metadata.orchestrator as the run wrote it


class Claims:
    def __init__(self) -> None:
        self._claims: dict[str, _Claim] = {}
        self._lock = threading.Lock()

    def note(self, uid: str, before: str | None, status: str, meta: dict[str, Any] | None = None) -> None:
        """The run set `uid` from `before` to `status` (and wrote `meta` as metadata.orchestrator)."""
        with self._lock:
            claim = self._claims.get(uid)
            earlier = set(claim.earlier) | {claim.status} if claim else set()
            if before is not None:
                earlier.add(before)
            earlier.discard(status)
            self._claims[uid] = _Claim(status, earlier, copy.deepcopy(meta) if meta is not None else None)

    def _stale(self, data: TagData) -> list[tuple[str, _Claim, str]]:
        """(uid, claim, status found) of the claims a stale write erased; lets go of deliberate changes."""
        with self._lock:
            claims = list(self._claims.items())
        out = []
        for uid, claim in claims:
            try:
                item = data.find(uid)
            except OrchestratorError:
                continue  # removed: not ours to bring back
            meta = item.extra.get("metadata")
            ours = meta.get("orchestrator") if isinstance(meta, dict) else None
            if item.status == claim.status and (claim.meta is None or ours == claim.meta):
                continue
            if item.status != claim.status and item.status not in claim.earlier:
                with self._lock:
                    self._claims.pop(uid, None)  # changed on purpose by someone else
                continue
            out.append((uid, claim, item.status))
        return out

    def erased(self, data: TagData) -> bool:
        """True when a stale write erased something of ours in `data` (a lock-free read will do)."""
        return bool(self._stale(data))

    def restore(self, data: TagData) -> list[str]:
        """Put back what stale writes erased in `data` (just read, under the lock); one line per task."""
        out = []
        for uid, claim, found in self._stale(data):
            item = data.find(uid)
            if found != claim.status:
                ops.set_status(data, [uid], claim.status)
            if claim.meta is not None:
                meta = item.extra.get("metadata")
                meta = dict(meta) if isinstance(meta, dict) else {}
                meta["orchestrator"] = copy.deepcopy(claim.meta)
                item.extra["metadata"] = meta
            out.append(
                f"tasks.json: another program's stale write took task {uid} back to '{found}'; "
                f"this run's '{claim.status}' is restored (do not run task-master-ai's writing commands "
                "during a run)"
            )
        return out
