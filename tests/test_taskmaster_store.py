import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from tm_helpers import make_project, read_json, run_ours, sub, task, tasks_path

from claude_orchestrator.errors import InputError, LockError, NotFoundError, TaskFileError
from claude_orchestrator.taskmaster import ops
from claude_orchestrator.taskmaster.store import TaskStore, file_lock, find_taskmaster_dir, init_project


def test_find_taskmaster_dir_walks_up_and_stops_at_the_repository_root(tmp_path):
    make_project(tmp_path / "proj")
    deep = tmp_path / "proj" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_taskmaster_dir(deep) == (tmp_path / "proj" / ".taskmaster").resolve()
    repo = tmp_path / "proj" / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    with pytest.raises(NotFoundError, match="task-master init"):
        find_taskmaster_dir(repo / "src")


def test_init_project_matches_task_master_init(tmp_path):
    created = init_project(tmp_path, "demo")
    tm = tmp_path / ".taskmaster"
    for d in ("tasks", "docs", "reports", "templates"):
        assert (tm / d).is_dir()
    assert not (tm / "tasks" / "tasks.json").exists()
    cfg = json.loads((tm / "config.json").read_text())
    assert set(cfg) == {"models", "global", "claudeCode", "codexCli", "grokCli"}
    assert set(cfg["models"]) == {"main", "research", "fallback"}
    assert cfg["global"]["projectName"] == "demo" and cfg["global"]["defaultPriority"] == "medium"
    state = json.loads((tm / "state.json").read_text())
    assert state["currentTag"] == "master" and state["branchTagMapping"] == {}
    assert "<PRD>" in (tm / "templates" / "example_prd.txt").read_text()
    assert tm / "config.json" in created
    assert init_project(tmp_path, "other") == []  # idempotent, nothing overwritten
    assert json.loads((tm / "config.json").read_text())["global"]["projectName"] == "demo"


def test_a_project_without_tasks_json_reads_as_empty(tmp_path):
    make_project(tmp_path)
    store = TaskStore.discover(tmp_path)
    assert store.load().tasks == [] and store.tags() == ["master"]
    assert "No tasks found" in run_ours(["list"], tmp_path).stdout
    with pytest.raises(TaskFileError, match="no such file"):
        TaskStore.discover(tmp_path, tmp_path / "missing.json").load()


def test_current_tag_from_state_then_config_then_master(tmp_path):
    make_project(tmp_path, [task(1)], feature=[task(1)])
    store = TaskStore(tmp_path)
    assert store.current_tag() == "master"
    store.use_tag("feature")
    assert store.current_tag() == "feature"
    (tmp_path / ".taskmaster" / "state.json").unlink()
    cfg = store.config()
    cfg["global"]["defaultTag"] = "feature"
    (tmp_path / ".taskmaster" / "config.json").write_text(json.dumps(cfg))
    assert store.current_tag() == "feature"
    with pytest.raises(NotFoundError):
        store.use_tag("nope")


def test_tags_add_copy_use_remove(tmp_path):
    make_project(tmp_path, [task(1, custom=[1])])
    store = TaskStore(tmp_path)
    store.add_tag("feat-x", description="Feature X", copy_from="master")
    assert store.tags() == ["master", "feat-x"]
    feat = store.load("feat-x")
    assert [t.id for t in feat.tasks] == [1] and feat.tasks[0].extra == {"custom": [1]}
    assert feat.metadata["description"] == "Feature X" and "created" in feat.metadata
    with pytest.raises(InputError, match="already exists"):
        store.add_tag("feat-x")
    with pytest.raises(InputError):
        store.add_tag("bad name!")
    store.use_tag("feat-x")
    store.remove_tag("feat-x")
    assert store.tags() == ["master"] and store.current_tag() == "master"
    with pytest.raises(InputError):
        store.remove_tag("master")


def test_edit_saves_on_success_and_writes_nothing_when_the_block_raises(tmp_path):
    make_project(tmp_path, [task(1), task(2, weird={"keep": True})])
    store = TaskStore(tmp_path)
    before = tasks_path(tmp_path).read_bytes()
    with pytest.raises(RuntimeError), store.edit() as data:
        data.tasks[0].status = "done"
        raise RuntimeError("boom")
    assert tasks_path(tmp_path).read_bytes() == before
    assert not (tasks_path(tmp_path).parent / "tasks.json.lock").exists()
    with store.edit() as data:
        ops.set_status(data, ["1"], "done")
    saved = read_json(tmp_path)["master"]
    assert saved["tasks"][0]["status"] == "done" and saved["tasks"][1]["weird"] == {"keep": True}
    assert "updated" in saved["metadata"] and saved["metadata"]["created"] == "2025-01-01T00:00:00.000Z"
    assert not tasks_path(tmp_path).read_text().endswith("\n")


def test_a_held_lock_blocks_writers_until_released(tmp_path):
    make_project(tmp_path, [task(1)])
    lock = tasks_path(tmp_path).with_name("tasks.json.lock")
    lock.mkdir()  # the way task-master's proper-lockfile holds it
    finished = threading.Event()

    def writer():
        with TaskStore(tmp_path).edit() as data:
            ops.set_status(data, ["1"], "done")
        finished.set()

    th = threading.Thread(target=writer)
    th.start()
    assert not finished.wait(0.5)
    assert read_json(tmp_path)["master"]["tasks"][0]["status"] == "pending"
    lock.rmdir()
    assert finished.wait(10)
    th.join()
    assert read_json(tmp_path)["master"]["tasks"][0]["status"] == "done"


def test_stale_locks_are_broken_and_a_lock_file_also_excludes(tmp_path):
    target = tmp_path / "tasks.json"
    lock = tmp_path / "tasks.json.lock"
    lock.mkdir()
    old = time.time() - 30
    os.utime(lock, (old, old))
    with file_lock(target):
        assert lock.is_dir()
    assert not lock.exists()
    lock.write_text('{"pid": 1, "timestamp": 0}')  # the old JS code's lock file
    with pytest.raises(LockError, match="tasks.json.lock"), file_lock(target, timeout=0.2):
        pass
    assert lock.is_file()


def test_concurrent_threads_lose_no_update(tmp_path):
    make_project(tmp_path, [task(i) for i in range(1, 81)])
    store = TaskStore(tmp_path)

    def flip(i: int) -> None:
        with store.edit() as data:
            ops.set_status(data, [str(i)], "done")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(flip, range(1, 81)))
    assert all(t["status"] == "done" for t in read_json(tmp_path)["master"]["tasks"])


def test_concurrent_processes_lose_no_update(tmp_path):
    make_project(tmp_path, [task(i, subtasks=[sub(1)]) for i in range(1, 25)])
    with ThreadPoolExecutor(4) as pool:
        procs = list(
            pool.map(
                lambda i: run_ours(["set-status", f"--id={i}.1", "--status=done"], tmp_path), range(1, 25)
            )
        )
    assert all(p.returncode == 0 for p in procs)
    tasks = read_json(tmp_path)["master"]["tasks"]
    assert all(t["status"] == "done" and t["subtasks"][0]["status"] == "done" for t in tasks)


def test_readers_never_see_a_half_written_file(tmp_path):
    make_project(tmp_path, [task(i, details="x" * 2000) for i in range(1, 300)])
    store = TaskStore(tmp_path)
    stop = threading.Event()
    errors: list[Exception] = []

    def reader():
        while not stop.is_set():
            try:
                assert len(store.load().tasks) == 299
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                errors.append(e)

    th = threading.Thread(target=reader)
    th.start()
    try:
        for n in range(15):
            with store.edit() as data:
                data.tasks[n].status = "done"
    finally:
        stop.set()
        th.join()
    assert errors == []


def test_default_tag_falls_back_to_the_first_tag_when_master_is_absent(tmp_path):
    make_project(tmp_path)
    tasks_path(tmp_path).write_text(json.dumps({"feature": {"tasks": [task(1)]}}))
    store = TaskStore(tmp_path)
    assert store.load().name == "feature" and [t.id for t in store.load().tasks] == [1]
    with store.edit() as data:
        ops.set_status(data, ["1"], "done")
    assert list(read_json(tmp_path)) == ["feature"]
    assert store.load("master").tasks == []
