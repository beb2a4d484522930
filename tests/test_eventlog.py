import json
import threading

import pytest

from claude_orchestrator import events as ev
from claude_orchestrator.errors import NotFoundError, TaskFileError
from claude_orchestrator.events import EventBus
from claude_orchestrator.observers.eventlog import EventLogWriter, read_events, tail_events
from claude_orchestrator.run.folder import (
    RunSummary,
    find_run,
    latest_run,
    list_runs,
    new_run_id,
    read_summary,
    run_dir,
    summary_from_events,
    write_summary,
)


def test_every_event_is_one_flushed_ndjson_line(tmp_path):
    bus = EventBus()
    with EventLogWriter(tmp_path) as w:
        bus.subscribe(w)
        bus.emit(ev.RUN_STARTED, run_id="r1", total=2, ready=1)
        bus.emit(ev.TASK_FAILED, run_id="r1", task_id="3", reason="multi\nline ✗", blocked_dependents=["4"])
        # flushed: readable before the writer closes
        lines = (tmp_path / "events.ndjson").read_text(encoding="utf-8").splitlines()
        assert len(lines) == 2
    first, second = (json.loads(x) for x in lines)
    assert first["kind"] == "run_started" and first["data"] == {"total": 2, "ready": 1}
    assert second["task_id"] == "3" and second["data"]["reason"] == "multi\nline ✗"
    back = list(read_events(tmp_path))
    assert [e.kind for e in back] == ["run_started", "task_failed"]
    assert back[1].data["blocked_dependents"] == ["4"] and isinstance(back[1].ts, float)


def test_non_json_data_is_stringified_not_fatal(tmp_path):
    with EventLogWriter(tmp_path) as w:
        w(ev.TaskReady(run_id="r", extra={"path": tmp_path, "n": 1}))  # a kind with no fields of its own
    (e,) = read_events(tmp_path)
    assert e.data == {"path": str(tmp_path), "n": 1}


def test_reader_skips_malformed_lines_and_reads_a_torn_tail(tmp_path, caplog):
    good = json.dumps(ev.Log(run_id="r", message="a").to_dict())
    (tmp_path / "events.ndjson").write_text(f"{good}\nnot json\n[1]\n\n{good[:-1]}", encoding="utf-8")
    got = list(read_events(tmp_path))
    assert len(got) == 1 and got[0].data["message"] == "a"
    assert "line 2" not in caplog.text  # message format is path:lineno
    assert ":2: skipped a malformed event line" in caplog.text
    assert ":3: skipped" in caplog.text


def test_follow_sees_lines_appended_by_another_thread(tmp_path):
    run = tmp_path / "run"
    bus = EventBus()
    writer = EventLogWriter(run)
    bus.subscribe(writer)

    def produce():
        for i in range(5):
            bus.emit(ev.TASK_COMPLETED, run_id="r", task_id=str(i), duration_s=1)
        # a line written in two pieces must come out whole
        with (run / "events.ndjson").open("a", encoding="utf-8") as f:
            line = json.dumps(ev.RunFinished(run_id="r", status="completed").to_dict())
            f.write(line[:10])
            f.flush()
            f.write(line[10:] + "\n")
        writer.close()

    t = threading.Thread(target=produce)
    t.start()
    seen = []
    for e in read_events(run, follow=True, poll_s=0.01, timeout=10, until_finished=True):
        seen.append(e)
    t.join(5)
    kinds = [e.kind for e in seen]
    assert kinds == ["task_completed"] * 5 + ["run_finished"]
    assert [e.task_id for e in seen[:5]] == ["0", "1", "2", "3", "4"]


def test_follow_waits_for_the_file_and_stops_on_request(tmp_path):
    stop = threading.Event()
    got = []

    def reader():
        got.extend(read_events(tmp_path / "later", follow=True, poll_s=0.01, stop=stop))

    t = threading.Thread(target=reader)
    t.start()
    with EventLogWriter(tmp_path / "later") as w:
        w(ev.Log(run_id="r", message="hi"))
    # wait until the reader has consumed it, then stop it
    for _ in range(500):
        if got:
            break
        t.join(0.01)
    stop.set()
    t.join(5)
    assert not t.is_alive()
    assert [e.data["message"] for e in got] == ["hi"]


def test_follow_ends_after_an_idle_timeout(tmp_path):
    with EventLogWriter(tmp_path) as w:
        w(ev.Log(run_id="r", message="only"))
    got = list(read_events(tmp_path, follow=True, poll_s=0.01, timeout=0.2))
    assert len(got) == 1


def test_tail_events_keeps_the_last_n(tmp_path):
    with EventLogWriter(tmp_path) as w:
        for i in range(10):
            w(ev.Log(run_id="r", extra={"i": i}))
    assert [e.data["i"] for e in tail_events(tmp_path, 3)] == [7, 8, 9]
    assert tail_events(tmp_path, 0) == []


def test_run_ids_sort_by_time_and_list_newest_first(tmp_path):
    a, b, c = new_run_id(1_000_000), new_run_id(1_000_060), new_run_id(2_000_000)
    assert a < b < c and a.startswith("19700112-")
    assert new_run_id(5) != new_run_id(5)
    for rid in (b, a, c):
        run_dir(tmp_path, rid, create=True)
    assert [p.name for p in list_runs(tmp_path)] == [c, b, a]
    assert latest_run(tmp_path) == run_dir(tmp_path, c)
    assert (run_dir(tmp_path, c) / "tasks").is_dir()
    assert find_run(tmp_path, None).name == c
    assert find_run(tmp_path, c[:12]).name == c  # unique prefix
    with pytest.raises(NotFoundError, match="ambiguous"):
        find_run(tmp_path, "1970")
    with pytest.raises(NotFoundError, match="no run"):
        find_run(tmp_path, "2099")
    with pytest.raises(NotFoundError):
        run_dir(tmp_path, "../etc")
    assert list_runs(tmp_path / "nothing") == [] and latest_run(tmp_path / "nothing") is None


def test_summary_round_trip_and_bad_file(tmp_path):
    d = run_dir(tmp_path, "r1", create=True)
    assert read_summary(d) is None
    s = RunSummary.model_validate(
        {
            "run_id": "r1",
            "status": "failed",
            "cost_usd": 1.25,
            "tokens_by_role": {"worker": {"input": 10, "output": 5, "cost_usd": 1.0}},
            "failures": [{"task_id": "3", "reason": "tests failed"}],
            "future_key": "ignored",
        }
    )
    write_summary(d, s)
    assert read_summary(d) == s
    assert not [p for p in d.iterdir() if p.name.endswith(".tmp")]
    (d / "summary.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(TaskFileError, match="unreadable run summary"):
        read_summary(d)


def test_summary_from_events(tmp_path):
    d = run_dir(tmp_path, "r2", create=True)
    with EventLogWriter(d) as w:
        w(ev.RunStarted(run_id="r2", total=3, ts=100.0))
        w(ev.TaskCompleted(run_id="r2", task_id="1", ts=110.0))
        w(ev.TaskFailed(run_id="r2", task_id="2", reason="boom", ts=120.0))
        w(ev.Usage(run_id="r2", cost_usd=0.7, ts=121.0))
    s = summary_from_events(d)
    assert (s.status, s.tasks_done, s.tasks_failed, s.cost_usd, s.duration_s) == ("running", 1, 1, 0.7, 21.0)
    assert s.failures[0].task_id == "2" and s.failures[0].reason == "boom"


def test_summary_prefers_run_finished_counts_and_the_ledger_cost(tmp_path):
    d = run_dir(tmp_path, "r3", create=True)
    with EventLogWriter(d) as w:
        w(ev.RunStarted(run_id="r3", total=3, ts=100.0))
        w(ev.TaskCompleted(run_id="r3", task_id="2.1", cost_usd=0.5, ts=101.0))
        w(ev.TaskCompleted(run_id="r3", task_id="2", cost_usd=0.5, subtasks=["2.1"], ts=101.0))
        w(ev.TaskCompleted(run_id="r3", task_id="1", cost_usd=0.25, ts=102.0))
    s = summary_from_events(d)
    assert (s.tasks_done, s.cost_usd, s.duration_s) == (3, 0.75, 2.0)  # the group's cost is not added twice
    with EventLogWriter(d) as w:
        w(ev.RunFinished(run_id="r3", status="completed", done=2, failed=0, duration_s=3.5))
    (d / "usage.json").write_text(
        json.dumps({"by_role_model": [{"role": "worker", "model": "m", "cost_usd": 0.8}]})
    )
    s = summary_from_events(d)
    assert (s.status, s.tasks_done, s.duration_s, s.cost_usd) == ("completed", 2, 3.5, 0.8)
    assert s.tokens_by_model["m"].cost_usd == 0.8
    write_summary(d, s)
    assert read_summary(d) == s
