import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_orchestrator.errors import NotFoundError, TaskFileError
from claude_orchestrator.taskmaster.model import (
    STATUSES,
    Document,
    Subtask,
    TagData,
    Task,
    loads_document,
    parse_document,
)
from claude_orchestrator.taskmaster.writer import dump_document


def doc_of(data):
    return parse_document(data, "tasks.json")


def test_tagged_file_with_string_ids_and_mixed_deps():
    data = {
        "master": {
            "tasks": [
                {"id": "1", "title": "A", "description": "a", "status": "done", "priority": "high"},
                {
                    "id": "2",
                    "title": "B",
                    "description": "b",
                    "status": "in-progress",
                    "priority": "critical",
                    "dependencies": ["1", 1, "1.1"],
                    "subtasks": [
                        {
                            "id": 1,
                            "title": "s",
                            "status": "pending",
                            "dependencies": [],
                            "parentId": "undefined",
                        },
                        {
                            "id": 2,
                            "title": "t",
                            "status": "pending",
                            "dependencies": [1, "2"],
                            "parentTaskId": 2,
                        },
                    ],
                },
            ],
            "metadata": {
                "version": "1.0.0",
                "lastModified": "x",
                "taskCount": 2,
                "completedCount": 1,
                "tags": ["master"],
            },
        }
    }
    data["master"]["tasks"][0]["subtasks"] = [{"id": 1, "title": "x", "status": "done", "dependencies": []}]
    doc = doc_of(data)
    tag = doc.tags["master"]
    a, b = tag.tasks
    assert (a.id, b.id) == (1, 2)
    assert b.dependencies == [1, 1, "1.1"]
    s1, s2 = b.subtasks
    assert s1.parent_id == 2 and "parentId" not in s1.extra  # the "undefined" bug value is dropped
    assert s2.dependencies == ["2.1", "2.2"]  # bare ids are siblings
    assert s2.extra == {"parentTaskId": 2}
    assert tag.metadata["taskCount"] == 2


def test_untagged_file_reads_as_master_and_stays_untagged():
    doc = doc_of(
        {"tasks": [{"id": 1, "title": "A", "description": "a"}], "metadata": {"created": "c"}, "foo": 1}
    )
    assert list(doc.tags) == ["master"] and not doc.tagged
    out = json.loads(dump_document(doc))
    assert list(out) == ["tasks", "metadata", "foo"]
    assert out["foo"] == 1 and out["metadata"] == {"created": "c"}
    t = out["tasks"][0]  # written without freeze(): every field, as for a new task
    assert t["status"] == "pending" and t["priority"] == "medium" and t["subtasks"] == []
    doc.tags["other"] = TagData("other")  # a second tag needs the tagged form
    out = json.loads(dump_document(doc))
    assert list(out) == ["master", "other"] and out["master"]["foo"] == 1


def test_unknown_keys_survive_a_round_trip_unchanged():
    data = {
        "master": {
            "tasks": [
                {
                    "id": 1,
                    "title": "A",
                    "description": "a",
                    "status": "pending",
                    "priority": "low",
                    "dependencies": [],
                    "metadata": {"owner": {"n": [1, 2]}},
                    "acceptanceCriteria": ["x"],
                    "relevantFiles": [{"path": "a.py", "description": "d", "action": "modify"}],
                    "subtasks": [
                        {"id": 1, "title": "s", "status": "done", "weird": None, "acceptanceCriteria": "y"}
                    ],
                }
            ],
            "metadata": {"created": "c", "custom": True},
            "tagExtra": [1],
        },
        "notATag": {"hello": "world"},
    }
    out = json.loads(dump_document(doc_of(data)))
    t = out["master"]["tasks"][0]
    for key in ("metadata", "acceptanceCriteria", "relevantFiles"):
        assert t[key] == data["master"]["tasks"][0][key]
    assert t["subtasks"][0]["weird"] is None and t["subtasks"][0]["acceptanceCriteria"] == "y"
    assert out["master"]["tagExtra"] == [1] and out["master"]["metadata"]["custom"] is True
    assert out["notATag"] == {"hello": "world"}


def test_writer_is_strict_two_space_int_ids_no_trailing_newline():
    tag = TagData("master", [Task(7, "T", "", dependencies=[3, "2.1"])])
    text = dump_document(Document(tags={"master": tag}))
    assert not text.endswith("\n") and '\n  "master": {' in text
    t = json.loads(text)["master"]["tasks"][0]
    assert t["id"] == 7 and t["description"] == "T"  # never an empty description
    assert t["dependencies"] == [3, "2.1"]
    tag.tasks[0].title = " "
    with pytest.raises(TaskFileError, match="title"):
        dump_document(Document(tags={"master": tag}))


def test_completed_is_read_as_done():
    doc = doc_of({"master": {"tasks": [{"id": 1, "title": "A", "description": "a", "status": "completed"}]}})
    assert doc.tags["master"].tasks[0].status == "done"


def test_subtask_bare_dep_on_a_top_level_task_without_such_sibling():
    subs = [{"id": 1, "title": "s"}, {"id": 2, "title": "t", "dependencies": [1, 3, "7"]}]
    doc = doc_of(
        {
            "master": {
                "tasks": [
                    {"id": 3, "title": "A", "description": "a"},
                    {"id": 5, "title": "B", "description": "b", "subtasks": subs},
                ]
            }
        }
    )
    # 1 is a sibling; 3 is no sibling but a top-level task; 7 is neither (kept as a sibling ref for validate)
    assert doc.tags["master"].tasks[1].subtasks[1].dependencies == ["5.1", 3, "5.7"]


def test_find_and_next_id():
    tag = TagData("master", [Task(1, "a", "a", subtasks=[Subtask(2, 1, "s")]), Task(4, "b", "b")])
    assert tag.find("1.2").title == "s" and tag.find(4).title == "b"
    assert tag.next_id() == 5
    for bad in ("9", "1.9", "x", "1.x"):
        with pytest.raises(NotFoundError):
            tag.find(bad)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{nope", "malformed JSON"),
        ("[1, 2]", "top level"),
        ('{"master": {"tasks": {"id": 1}}}', "tasks must be a list"),
        ('{"tasks": 5}', "tasks must be a list"),
        (
            '{"master": {"tasks": [{"id": 1, "title": "a"}, {"id": "1", "title": "b"}]}}',
            "duplicate task id 1",
        ),
        ('{"master": {"tasks": [{"id": 1, "title": "a", "status": "started"}]}}', "unknown status 'started'"),
        ('{"master": {"tasks": [{"id": "one", "title": "a"}]}}', "is not a number"),
        ('{"master": {"tasks": [{"id": 1, "title": "a", "dependencies": ["x"]}]}}', "not a task id"),
        (
            '{"master": {"tasks": [{"id": 1, "subtasks": [{"id": 1}, {"id": 1}]}]}}',
            "duplicate subtask id 1.1",
        ),
        ('{"master": {"tasks": [{"id": 1, "title": 5}]}}', "title must be a string"),
        ('{"something": 1}', "no tasks found"),
    ],
)
def test_bad_files_give_one_clear_line(text, problem):
    with pytest.raises(TaskFileError) as info:
        loads_document(text, "/p/tasks.json")
    msg = str(info.value)
    assert msg.startswith("/p/tasks.json: ") and problem in msg and "\n" not in msg


def test_empty_file_and_empty_object_are_empty_documents():
    assert loads_document("", "x").tags == {}
    assert loads_document("{}", "x").tags == {}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 20) | st.text(max_size=5) | st.sampled_from(list(STATUSES)),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
    max_leaves=20,
)
task_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers(-1, 5) | st.sampled_from(["1", "2", "x", "1.1"]) | st.none(),
        "title": st.text(max_size=3) | st.integers(),
        "description": st.text(max_size=3),
        "status": st.sampled_from([*STATUSES, "completed", "bogus", 3]),
        "priority": st.sampled_from(["low", "high", "critical", "urgent", None]),
        "dependencies": st.lists(st.integers(0, 6) | st.sampled_from(["1", "2.1", "a", "1.2.3"]), max_size=3)
        | json_values,
        "subtasks": st.lists(json_values | st.fixed_dictionaries({"id": st.integers(0, 3)}), max_size=3),
        "extra": json_values,
    },
)
documents = (
    json_values
    | st.fixed_dictionaries({"tasks": st.lists(task_like | json_values, max_size=4)})
    | st.dictionaries(
        st.sampled_from(["master", "feature", "tasks", "metadata"]),
        st.fixed_dictionaries(
            {"tasks": st.lists(task_like, max_size=4) | json_values}, optional={"metadata": json_values}
        )
        | json_values,
        max_size=3,
    )
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents)
def test_reader_raises_only_task_file_error(data):
    text = json.dumps(data)
    try:
        doc = loads_document(text, "fuzz.json")
    except TaskFileError as e:
        assert "\n" not in str(e) and str(e).startswith("fuzz.json: ")
        return
    # whatever we accept, we can write (or refuse with our own error) and read back the same ids
    try:
        out = dump_document(doc, "fuzz.json")
    except TaskFileError:
        return
    again = loads_document(out, "fuzz.json")
    assert {n: [t.id for t in tg.tasks] for n, tg in again.tags.items()} == {
        n: [t.id for t in tg.tasks] for n, tg in doc.tags.items()
    }


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60) | st.text(max_size=60))
def test_reader_on_random_bytes(blob):
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    with contextlib.suppress(TaskFileError):
        loads_document(text, "r.json")


def test_example_database_is_valid_and_round_trips():
    from pathlib import Path

    from claude_orchestrator.taskmaster.graph import TaskGraph

    text = (
        Path(__file__).resolve().parent.parent / "claude_orchestrator" / "examples" / "tasks.json"
    ).read_text()
    doc = loads_document(text, "examples/tasks.json")
    TaskGraph(doc.tags["master"]).check()
    assert json.loads(dump_document(doc)) == json.loads(text)
