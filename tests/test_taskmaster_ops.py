import pytest
from tm_helpers import sub, task

from claude_orchestrator.errors import DependencyError, InputError, NotFoundError
from claude_orchestrator.taskmaster import ops
from claude_orchestrator.taskmaster.model import parse_document


def tag_of(*tasks):
    return parse_document({"master": {"tasks": list(tasks)}}, "t.json").tags["master"]


def test_set_status_parent_follows_subtasks():
    tag = tag_of(task(1), task(2, subtasks=[sub(1), sub(2)]))
    assert ops.set_status(tag, ["2.1"], "in-progress") == ["2.1", "2"]
    assert tag.task(2).status == "in-progress"
    assert ops.set_status(tag, ["2.1", "2.2"], "done") == ["2.1", "2.2", "2"]
    assert tag.task(2).status == "done"
    assert ops.set_status(tag, ["2.1", "2.2"], "pending") == ["2.1", "2.2", "2"]
    assert tag.task(2).status == "pending"
    # setting a parent does not cascade (as the CLI does it)
    assert ops.set_status(tag, ["2"], "done") == ["2"]
    assert [s.status for s in tag.task(2).subtasks] == ["pending", "pending"]
    assert ops.set_status(tag, "1", "done") == ["1"] and ops.set_status(tag, "1", "done") == []


def test_set_status_checks_everything_before_changing_anything():
    tag = tag_of(task(1), task(2))
    with pytest.raises(NotFoundError):
        ops.set_status(tag, ["1", "9"], "done")
    with pytest.raises(InputError, match="invalid status 'completed'"):
        ops.set_status(tag, ["1"], "completed")
    assert [t.status for t in tag.tasks] == ["pending", "pending"]


def test_add_task_and_subtask():
    tag = tag_of(task(1, subtasks=[sub(1)]), task(4))
    t = ops.add_task(tag, "New", "Does it", priority="high", dependencies=["4", "1.1", "4"])
    assert (t.id, t.dependencies, t.priority, t.subtasks) == (5, ["1.1", 4], "high", [])
    with pytest.raises(DependencyError, match="9"):
        ops.add_task(tag, "x", "y", dependencies=["9"])
    with pytest.raises(InputError):
        ops.add_task(tag, "", "y")
    with pytest.raises(InputError):
        ops.add_task(tag, "x", "y", priority="urgent")
    s = ops.add_subtask(tag, "1", "Second", dependencies=["1.1"])
    assert (s.uid, s.dependencies, s.extra) == ("1.2", ["1.1"], {"parentTaskId": 1})
    assert tag.task(1).to_json()["subtasks"][1]["parentTaskId"] == 1
    with pytest.raises(InputError):
        ops.add_subtask(tag, "1.1", "nested")


def test_remove_task_cleans_dependencies():
    tag = tag_of(
        task(1, subtasks=[sub(1), sub(2, deps=["1.1"])]), task(2, deps=[1, "1.2"]), task(3, deps=[2])
    )
    assert ops.remove_task(tag, ["1.1", "2"]) == ["1.1", "2"]
    assert [t.id for t in tag.tasks] == [1, 3]
    assert tag.task(1).subtasks[0].dependencies == [] and tag.task(3).dependencies == []


def test_add_and_remove_dependency_refuse_bad_ones():
    tag = tag_of(task(1), task(2, deps=[1]), task(3, deps=[2], subtasks=[sub(1)]))
    assert ops.add_dependency(tag, "3", "1") is True
    assert tag.task(3).dependencies == [1, 2]  # sorted
    assert ops.add_dependency(tag, "3", "1") is False
    with pytest.raises(DependencyError, match="cycle: 1 -> 3 -> 1"):
        ops.add_dependency(tag, "1", "3")
    with pytest.raises(DependencyError, match="itself"):
        ops.add_dependency(tag, "2", "2")
    with pytest.raises(DependencyError, match="not found"):
        ops.add_dependency(tag, "2", "7")
    with pytest.raises(NotFoundError):
        ops.add_dependency(tag, "8", "1")
    with pytest.raises(DependencyError, match="parent"):
        ops.add_dependency(tag, "3.1", "3")
    # a bare 1 in 3.1's dependencies would name its sibling 3.1 (itself), not task 1
    with pytest.raises(DependencyError, match="names its sibling 3.1"):
        ops.add_dependency(tag, "3.1", "1")
    assert ops.add_dependency(tag, "3.1", "2") and tag.find("3.1").dependencies == [2]
    assert ops.remove_dependency(tag, "3", "2") is True and tag.task(3).dependencies == [1]
    assert ops.remove_dependency(tag, "3", "2") is False
