import pytest

from claude_orchestrator.errors import InputError
from claude_orchestrator.taskmaster.ids import id_key, parse_ids, parse_task_ids, split_id


def test_one_order_for_task_and_subtask_ids():
    ids = ["10", "3.10", "2", "3", "x", "3.1", "1.2.3", "1"]
    assert sorted(ids, key=id_key) == ["1", "1.2.3", "2", "3", "3.1", "3.10", "10", "x"]


def test_split_id_accepts_task_and_subtask_ids_only():
    assert split_id("3") == (3, None) and split_id(" 3 . 1 ") == (3, 1) and split_id(7) == (7, None)
    assert [split_id(x) for x in ("", "a", "3.", ".1", "1.2.3", "-1", "3,4")] == [None] * 7


def test_parse_ids_and_task_ids():
    assert parse_ids("1, 2.1,,3 ") == ["1", "2.1", "3"] and parse_ids(["1,2", "4"]) == ["1", "2", "4"]
    assert parse_ids(None) == [] and parse_task_ids("") == []
    assert parse_task_ids("1, 2 ,3") == [1, 2, 3]
    with pytest.raises(InputError, match="'2.1' is not a task id"):
        parse_task_ids("1,2.1")
