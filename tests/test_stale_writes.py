"""Stale writes by the original CLI: task-master-ai reads tasks.json before taking the lock and writes its
copy back, erasing what a run recorded meanwhile. The run's recorder re-reads after its writes and puts
back the statuses and metadata it owns, saying so in a RunWarning; a deliberate change is left alone."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from run_helpers import task as _task
from tm_helpers import real_bin, run_real

from claude_orchestrator.events import Event, EventBus, RunWarning
from claude_orchestrator.run.recorder import TaskRecorder
from claude_orchestrator.taskmaster.store import TaskStore
from claude_orchestrator.workers.base import WorkUnit


def project(tmp_path: Path, n: int) -> tuple[TaskStore, Path]:
    path = tmp_path / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"master": {"tasks": [_task(i) for i in range(1, n + 1)], "metadata": {}}}))
    return TaskStore(tmp_path), path


def statuses(path: Path) -> dict[str, str]:
    return {str(t["id"]): t["status"] for t in json.loads(path.read_text())["master"]["tasks"]}


def recorder(store: TaskStore, tmp_path: Path) -> tuple[TaskRecorder, list[Event]]:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    return TaskRecorder(store, "master", run_id="r1", run_path=tmp_path / "run", bus=bus), seen


def test_a_stale_copy_written_back_is_undone_and_said(tmp_path: Path) -> None:
    store, path = project(tmp_path, 3)
    rec, seen = recorder(store, tmp_path)
    with rec:
        stale = path.read_text()  # what task-master-ai read before taking the lock
        rec.started(WorkUnit(unit_id="1", task_id="1", title="t"))
        rec.done("1", {"run_id": "r1", "status": "done", "commit": "abc1234", "summary": "did 1"})
        rec.flush()
        assert statuses(path)["1"] == "done"
        path.write_text(stale)  # ... and wrote back after ours
        rec.flush()
    tasks = json.loads(path.read_text())["master"]["tasks"]
    assert tasks[0]["status"] == "done" and tasks[0]["metadata"]["orchestrator"]["commit"] == "abc1234"
    warnings = [e.message for e in seen if isinstance(e, RunWarning)]
    assert warnings == [
        "tasks.json: another program's stale write took task 1 back to 'pending'; this run's 'done' is "
        "restored (do not run task-master-ai's writing commands during a run)"
    ]


def test_a_stale_write_is_found_a_moment_later_without_another_write(tmp_path: Path) -> None:
    store, path = project(tmp_path, 2)
    rec, seen = recorder(store, tmp_path)
    restored = threading.Event()
    seen_hook = rec.bus.subscribe(lambda e: restored.set() if isinstance(e, RunWarning) else None)  # type: ignore[union-attr]
    with rec:
        stale = path.read_text()
        rec.failed("2", "no luck")
        rec.flush()
        path.write_text(stale)
        assert restored.wait(10), "the re-read after the write did not come"
        assert statuses(path)["2"] == "blocked"
    seen_hook()


def test_a_deliberate_change_is_left_alone(tmp_path: Path) -> None:
    store, path = project(tmp_path, 2)
    rec, seen = recorder(store, tmp_path)
    with rec:
        rec.done("1", {"run_id": "r1", "status": "done", "summary": "did 1"})
        rec.flush()
        with store.edit("master") as data:
            data.find("1").status = "deferred"  # the user's own decision, not a stale copy
        rec.flush()
        rec.started(WorkUnit(unit_id="2", task_id="2", title="t"))
    assert statuses(path) == {"1": "deferred", "2": "in-progress"}
    assert not [e for e in seen if isinstance(e, RunWarning)]


@pytest.mark.taskmaster_cli
@pytest.mark.skipif(real_bin() is None, reason="task-master-ai CLI not installed")
def test_concurrent_writes_with_the_real_task_master_ai_lose_nothing_of_ours(tmp_path: Path) -> None:
    """Our recorder marks tasks done while the real CLI adds tasks and sets statuses of others at the
    same time: after the final flush, every status we acknowledged is in the file."""
    n = 8
    store, path = project(tmp_path, n)
    rec, _ = recorder(store, tmp_path)
    errors: list[Any] = []

    def theirs() -> None:
        try:
            run_real(["add-task", "--title", "theirs", "--description", "d"], tmp_path, tmp_path)
            evens = ",".join(str(i) for i in range(2, n + 1, 2))
            run_real(["set-status", f"--id={evens}", "--status=review"], tmp_path, tmp_path)
        except BaseException as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    other = threading.Thread(target=theirs)
    with rec:
        other.start()
        for i in range(1, n + 1, 2):
            rec.done(str(i), {"run_id": "r1", "status": "done", "summary": f"did {i}"})
            rec.flush()
        other.join()
        rec.flush()
    assert not errors, errors
    final = statuses(path)
    assert all(final[str(i)] == "done" for i in range(1, n + 1, 2)), final
    assert all(final[str(i)] == "review" for i in range(2, n + 1, 2)), final
