"""Edits a person makes to tasks.json while a run goes on: a status they set is honoured (deferred: not
started), a task they add is picked up when its dependencies are met, and the run's status commits hold only
the run's own changes (the person's edits stay theirs, uncommitted)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from run_helpers import TASKS_JSON, git, make_project, task, task_of, writer

from claude_orchestrator.cli.taskmaster import cli as tm_cli
from claude_orchestrator.taskmaster import ops
from claude_orchestrator.taskmaster.store import TaskStore
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic


def tm(root: Path, *args: str) -> Any:
    res = CliRunner().invoke(tm_cli, [*args, "--file", str(root / TASKS_JSON)])
    assert res.exit_code == 0, res.output
    return res


def by_id(text: str) -> dict[str, dict[str, Any]]:
    return {str(t["id"]): t for t in json.loads(text)["master"]["tasks"]}


def wait_status(root: Path, tid: str, status: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if by_id((root / TASKS_JSON).read_text())[tid]["status"] == status:
                return
        except (ValueError, KeyError):
            pass
        time.sleep(0.01)
    raise AssertionError(f"task {tid} never became {status}")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    with FakeAnthropic(model=writer(), latency=1.0) as f:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", f.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-edits")
        yield f


def test_a_persons_edits_mid_run_are_honoured_picked_up_and_never_committed(
    tmp_path: Path, fake: Any
) -> None:
    tasks = [task(1), task(2, [1]), task(3, [1]), task(4), task(5, [4])]
    root = make_project(tmp_path / "p", tasks, track_tasks=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "claude_orchestrator", "run", "--working-dir", str(root), "--backend", "api"]
        + ["--no-review", "--no-progress", "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_status(root, "1", "in-progress", proc)
        tm(root, "set-status", "--id", "5", "--status", "deferred")  # not now
        tm(root, "add-task", "--title", "Task number 6", "--description", "Do 6")  # new work, ready
        tm(root, "add-task", "--title", "Task number 7", "--description", "Do 7", "--dependencies", "5")
        with TaskStore.discover(root).edit("master") as data:  # as an editor (under the lock) would
            renamed = data.task(3)
            assert renamed is not None
            renamed.title = "Task number 3, as the person renamed it"
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "Traceback" not in out
    starts = [
        t for r in fake.requests if r.has_tool("write_file") and not r.tool_results if (t := task_of(r))
    ]
    assert sorted(starts) == ["1", "2", "3", "4", "6"], out  # 5 deferred, 7 waits for it
    now = by_id((root / TASKS_JSON).read_text())
    assert {t: now[t]["status"] for t in now} == {
        "1": "done",
        "2": "done",
        "3": "done",
        "4": "done",
        "5": "deferred",  # as the person set it, never overwritten
        "6": "done",
        "7": "pending",
    }
    assert now["3"]["title"] == "Task number 3, as the person renamed it"
    assert "left out: 5 (deferred in tasks.json), 7 (waits for 5)" in out, out
    # the run's commits hold the run's own changes only
    head = by_id(git(root, "show", f"main:{TASKS_JSON}"))
    assert set(head) == {"1", "2", "3", "4", "5"}  # the person's new tasks are theirs to commit
    assert head["3"]["title"] == "Task number 3"
    assert head["5"]["status"] == "pending"
    assert all(head[t]["status"] == "done" for t in "1234")
    assert head["1"]["metadata"]["orchestrator"]["commit"]
    status = git(root, "status", "--porcelain", "--untracked-files=no")
    assert status.strip() == f"M {TASKS_JSON}".strip() or status.strip().endswith(str(TASKS_JSON)), status
    for sha in git(root, "log", "--format=%H", "--grep", "Update task status", "main").split():
        changed = git(root, "show", "--name-only", "--format=", sha).split()
        assert changed == [str(TASKS_JSON)]


def test_the_recorder_keeps_a_persons_status_and_commits_only_the_runs_changes(tmp_path: Path) -> None:
    from claude_orchestrator.events import EventBus
    from claude_orchestrator.run.recorder import TaskRecorder

    tasks = [task(1), task(2), task(3)]
    path = tmp_path / TASKS_JSON
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"master": {"tasks": tasks, "metadata": {}}}, indent=2))
    committed = path.read_text()
    store = TaskStore(tmp_path)
    seen: list[str] = []
    bus = EventBus()
    bus.subscribe(lambda e: seen.append(getattr(e, "message", "")))
    with TaskRecorder(store, "master", run_id="r1", run_path=tmp_path / "run", bus=bus) as rec:
        rec.done("1", {"run_id": "r1", "status": "done", "commit": "abc"})
        rec.flush()
        with store.edit("master") as data:  # the person, meanwhile
            ops.set_status(data, ["2"], "deferred")
            renamed = data.task(3)
            assert renamed is not None
            renamed.title = "Renamed by the person"
        rec.done("2", {"run_id": "r1", "status": "done", "commit": "def"})
        rec.flush()
        rebuilt = rec.own.rebuild(committed)
    now = by_id(path.read_text())
    assert now["2"]["status"] == "deferred"  # theirs, kept
    assert now["2"]["metadata"]["orchestrator"]["commit"] == "def"  # the run's own field, written
    assert any("task 2 stays deferred" in m for m in seen)
    assert rebuilt is not None
    head = by_id(rebuilt)
    assert head["1"]["status"] == "done" and head["2"]["status"] == "pending"
    assert head["2"]["metadata"]["orchestrator"]["commit"] == "def"
    assert head["3"]["title"] == "Task number 3"  # the person's rename is not the run's to commit
    # with nobody else editing, the rebuilt text is the file itself
    with TaskRecorder(store, "master", run_id="r2", run_path=tmp_path / "run2") as rec2:
        mine = path.read_text()
        rec2.done("3", {"run_id": "r2", "status": "done"})
        rec2.flush()
        assert rec2.own.rebuild(mine) == path.read_text()


def test_the_scheduler_honours_each_status_a_person_sets_while_it_runs() -> None:
    """A running unit deferred: cancelled, out with what waits for it; one set back to pending: back in;
    one set done: done unrun, what waits for it goes on. Nothing of this is a failure."""
    import threading

    from claude_orchestrator import events as ev
    from claude_orchestrator.events import EventBus
    from claude_orchestrator.run.edits import FileEdits
    from claude_orchestrator.run.executor import LocalExecutor
    from claude_orchestrator.run.scheduler import Scheduler, SchedulerConfig, SchedulerHooks
    from claude_orchestrator.run.units import SchedUnit, build_graph
    from claude_orchestrator.testing.fake_worker import FakeSpec, FakeWorker
    from claude_orchestrator.workers.base import WorkUnit

    def unit(uid: str, deps: tuple[str, ...] = (), priority: str = "medium") -> SchedUnit:
        wu = WorkUnit(unit_id=uid, task_id=uid, title=f"t{uid}", dependencies=list(deps), priority=priority)
        return SchedUnit(wu)

    low = "low"  # 3 and 4 wait for a worker while 1 and 5 hold both
    units = [
        unit("1"),
        unit("2", ("1",)),
        unit("3", (), low),
        unit("4", ("3",), low),
        unit("5"),
        unit("6", ("5",)),
    ]
    fw = FakeWorker(
        default=FakeSpec(duration=0.05), specs={"1": FakeSpec(hang=True), "5": FakeSpec(hang=True)}
    )
    bus = EventBus()
    seen: list[ev.Event] = []
    lock = threading.Lock()
    plan = [
        {"1": "deferred", "3": "done", "5": "deferred"},  # 1 and 5 run (hanging) when this is read
        {"1": "deferred", "3": "done", "5": "pending"},  # 5 back: it runs again (no hang this time)
    ]

    def edits() -> FileEdits | None:
        with lock:
            started = {e.task_id for e in seen if isinstance(e, ev.TaskStarted)}
            out = {e.task_id for e in seen if isinstance(e, ev.TaskSkipped)}
        if plan and {"1", "5"} <= started and (len(plan) == 2 or {"1", "5"} <= out):
            if len(plan) == 1:
                fw.specs["5"] = FakeSpec(duration=0.05)
            return FileEdits(statuses=plan.pop(0))
        return None

    def note(e: ev.Event) -> None:
        with lock:
            seen.append(e)

    bus.subscribe(note)
    config = SchedulerConfig(run_id="r", max_workers=2, gate_poll_s=0.05)
    sched = Scheduler(
        build_graph(units),
        LocalExecutor(lambda u: fw),
        bus=bus,
        config=config,
        hooks=SchedulerHooks(edits=edits),
    )
    out = sched.run()
    assert out.status == "completed", out.reasons
    assert out.withdrawn == {"1": "deferred in tasks.json", "2": "waits for 1"}
    assert {"3", "4", "5", "6"} <= out.done and "3" not in {
        e.task_id for e in seen if isinstance(e, ev.TaskStarted)
    }
    assert not out.failed and not out.blocked
    skipped = [(e.task_id, e.status) for e in seen if isinstance(e, ev.TaskSkipped)]
    assert ("1", "deferred") in skipped and ("2", "") in skipped and ("3", "done") in skipped
    starts = [e.task_id for e in seen if isinstance(e, ev.TaskStarted)]
    assert starts.count("5") == 2 and starts.count("1") == 1  # 5 came back after the person undid it
