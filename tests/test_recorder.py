"""TaskRecorder: the one writer of tasks.json during a run. Writes happen on its own thread, in order, as
locked read-modify-writes, so a concurrent edit is kept; a whole run writes tasks.json through it only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from run_helpers import make_project as make_repo
from run_helpers import task as _task
from run_helpers import tasks_of
from test_engine import _writer, env_fake  # noqa: F401  (env_fake: a fixture)

from claude_orchestrator.events import Event, EventBus
from claude_orchestrator.taskmaster import ops
from claude_orchestrator.taskmaster.model import Document
from claude_orchestrator.taskmaster.store import TaskStore
from claude_orchestrator.testing.demo_model import request_text
from claude_orchestrator.testing.fake_anthropic import FakeRequest, Reply, error_reply
from claude_orchestrator.workers.base import WorkUnit


class CountingStore(TaskStore):
    """A TaskStore that notes the thread of every write."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.writers: list[str] = []

    @contextmanager
    def edit_document(self) -> Iterator[Document]:
        self.writers.append(threading.current_thread().name)
        with super().edit_document() as doc:
            yield doc


@dataclass
class FollowUp:
    title: str
    description: str
    priority: str = "low"


def store_with(tmp_path: Path, tasks: list[dict[str, Any]]) -> CountingStore:
    path = tmp_path / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"master": {"tasks": tasks, "metadata": {}}}))
    return CountingStore(tmp_path)


def test_writes_are_serialised_on_one_thread_and_a_concurrent_edit_is_kept(tmp_path: Path):
    from claude_orchestrator.run.recorder import THREAD_NAME, TaskRecorder

    store = store_with(tmp_path, [_task(i) for i in range(1, 9)])
    bus = EventBus()
    with TaskRecorder(store, "master", run_id="r1", run_path=tmp_path / "run", bus=bus) as rec:

        def one(i: int) -> None:
            uid = str(i)
            rec.started(WorkUnit(unit_id=uid, task_id=uid, title="t"))
            if i % 2:
                rec.done(uid, {"run_id": "r1", "status": "done", "summary": f"did {uid}"})
            else:
                rec.failed(uid, f"no luck {uid}")

        threads = [threading.Thread(target=one, args=(i,)) for i in range(1, 9)]
        for t in threads:
            t.start()
        with store.edit("master") as data:  # someone else edits meanwhile (task-master add-task)
            ops.add_task(data, "Outside", "added by hand during the run")
        for t in threads:
            t.join()
        added = rec.add_follow_ups(
            WorkUnit(unit_id="1", task_id="1", title="t"), [FollowUp("Docs", "Write docs")]
        )
    tasks = tasks_of(tmp_path)
    assert {tasks[str(i)]["status"] for i in range(1, 9, 2)} == {"done"}
    assert {tasks[str(i)]["status"] for i in range(2, 9, 2)} == {"blocked"}
    assert tasks["4"]["metadata"]["orchestrator"] == {
        "run_id": "r1",
        "status": "failed",
        "reason": "no luck 4",
    }
    assert tasks["3"]["metadata"]["orchestrator"]["summary"] == "did 3"
    assert tasks["9"]["title"] == "Outside"  # the concurrent edit was not lost
    assert [str(t.id) for t in added] == ["10"] and tasks["10"]["dependencies"] == [1]
    assert json.loads((tmp_path / "run" / "tasks" / "2" / "result.json").read_text())["status"] == "failed"
    ours = [w for w in store.writers if w.startswith(THREAD_NAME)]
    assert len(ours) == rec.writes == 8 + 4 + 4 + 1 and len(store.writers) == rec.writes + 1


def test_a_failed_queued_write_becomes_a_warning(tmp_path: Path):
    from claude_orchestrator.run.recorder import TaskRecorder

    store = store_with(tmp_path, [_task(1)])
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    with TaskRecorder(store, "master", run_id="r1", run_path=tmp_path / "run", bus=bus) as rec:
        rec.started(WorkUnit(unit_id="7", task_id="7", title="not in the file"))
    assert rec.writes == 0
    assert [e.data["message"] for e in seen] == [
        "could not record 7 in-progress in tasks.json: task 7 not found in tag 'master'"
    ]


def test_a_run_writes_tasks_json_only_through_the_recorder(tmp_path: Path, env_fake: Any):  # noqa: F811
    from claude_orchestrator.config import load_config
    from claude_orchestrator.run.engine import RunEngine, RunOptions
    from claude_orchestrator.run.recorder import THREAD_NAME

    root = make_repo(tmp_path / "p", [_task(1), _task(2, [1]), _task(3), _task(4), _task(5, [4])])
    inner = _writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n"), "3": ("c.txt", "c\n")})

    def model(req: FakeRequest) -> Reply:
        return error_reply(400, "task 4 cannot be done") if "# Task 4:" in request_text(req) else inner(req)

    env_fake(model)
    store = CountingStore(root)
    report = RunEngine(
        store, load_config(None, start=root), RunOptions(backend="api", review=False, no_progress=True)
    ).run()
    assert report.status == "failed" and report.done == ["1", "2", "3"] and report.blocked == {"5": ["4"]}
    assert store.writers and all(w.startswith(THREAD_NAME) for w in store.writers), store.writers
    # in-progress for each attempt (task 4: 1 + max_retries), done for 1-3, failed for 4
    assert len(store.writers) == 3 + 4 + 3 + 1
    assert [t["status"] for t in tasks_of(root).values()] == ["done", "done", "done", "blocked", "pending"]


class GatedStore(TaskStore):
    """A TaskStore whose first write waits for `gate` (so the writes after it queue up behind it)."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.gate = threading.Event()
        self.first = True

    @contextmanager
    def edit_document(self) -> Iterator[Document]:
        if self.first:
            self.first = False
            assert self.gate.wait(30)
        with super().edit_document() as doc:
            yield doc


def test_on_settled_runs_once_per_batch_of_done_units(tmp_path: Path):
    """One status commit per batch: the hook runs when the queue is empty after units were recorded done,
    not after each write, and not after writes that record nothing done."""
    from claude_orchestrator.run.recorder import TaskRecorder

    path = tmp_path / ".taskmaster" / "tasks" / "tasks.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"master": {"tasks": [_task(i) for i in range(1, 7)], "metadata": {}}}))
    store = GatedStore(tmp_path)
    settled: list[list[str]] = []
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)

    def on_settled() -> None:
        settled.append([t["status"] for t in tasks_of(tmp_path).values()])
        if len(settled) == 2:
            raise RuntimeError("git said no")

    rec = TaskRecorder(
        store, "master", run_id="r1", run_path=tmp_path / "run", bus=bus, on_settled=on_settled
    )
    with rec:
        rec.started(WorkUnit(unit_id="1", task_id="1", title="t"))  # held at the gate
        for uid in ("1", "2", "3"):
            rec.done(uid, {"run_id": "r1", "status": "done"})
        store.gate.set()
        rec.flush()
        assert settled == [["done", "done", "done", "pending", "pending", "pending"]]  # one for the three
        rec.failed("4", "no luck")
        rec.started(WorkUnit(unit_id="5", task_id="5", title="t"))
        rec.flush()
        assert len(settled) == 1  # nothing recorded done since: no hook
        rec.done("5", {"run_id": "r1", "status": "done"})
        rec.flush()
    assert len(settled) == 2 and settled[1][4] == "done"
    assert [e.data["message"] for e in seen] == ["after recording finished tasks: git said no"]
