import pytest
from tm_helpers import sub, task

from claude_orchestrator.errors import DependencyError, NotFoundError
from claude_orchestrator.taskmaster.graph import TaskGraph
from claude_orchestrator.taskmaster.model import parse_document


def tag_of(*tasks):
    return parse_document({"master": {"tasks": list(tasks)}}, "t.json").tags["master"]


def nxt(*tasks):
    unit = TaskGraph(tag_of(*tasks)).next_task()
    return None if unit is None else unit.uid


def test_next_prefers_priority_then_fewer_deps_then_lower_id():
    assert nxt(task(1, "done"), task(2), task(3, priority="high", deps=[1]), task(4, priority="high")) == "4"
    assert nxt(task(1, "done"), task(3, deps=[1]), task(2)) == "2"
    assert nxt(task(5), task(2)) == "2"
    assert nxt(task(1, priority="low"), task(2, priority="critical", deps=[1])) == "1"


def test_next_in_progress_tasks_count_and_only_done_satisfies():
    # task 1 cancelled: dropped, so 2 (high, depends on 1) never becomes eligible -> 4 (low), as the CLI does
    tasks = [
        task(1, "cancelled"),
        task(2, priority="high", deps=[1]),
        task(3, "deferred"),
        task(4, priority="low"),
    ]
    assert nxt(*tasks) == "4"
    assert nxt(task(1, "in-progress"), task(2, priority="high", deps=[1])) == "1"
    assert nxt(task(1, "review"), task(2, "blocked")) is None
    assert nxt(task(1, "done")) is None


def test_next_subtasks_of_in_progress_parents_first():
    parent = task(2, "in-progress", subtasks=[sub(1, "done"), sub(2, deps=[1]), sub(3, deps=["2.2"])])
    assert nxt(task(1, priority="critical"), parent) == "2.2"
    # subtask priority beats the parent's; ties by fewer deps, then parent id, then subtask id
    p3 = task(3, "in-progress", priority="low", subtasks=[sub(1), sub(2, priority="high")])
    assert nxt(p3) == "3.2"
    p4 = task(4, "in-progress", subtasks=[sub(1, deps=["5.1"]), sub(2)])
    assert nxt(p4, task(5, subtasks=[sub(1, "done")])) == "4.2"
    # the parent's own deps are not checked; a pending parent's subtasks are not candidates
    assert nxt(task(6, "in-progress", deps=[7], subtasks=[sub(1)]), task(7)) == "6.1"
    assert nxt(task(8, subtasks=[sub(1)])) == "8"


def test_next_needs_a_subtask_done_for_a_P_S_dependency():
    assert nxt(task(1, subtasks=[sub(1)]), task(2, priority="high", deps=["1.1"])) == "1"
    assert nxt(task(1, subtasks=[sub(1, "done")]), task(2, priority="high", deps=["1.1"])) == "2"


def test_problems_name_unknown_self_duplicate_and_cycles():
    tag = tag_of(
        task(1, deps=[9]),
        task(2, deps=[2]),
        task(3, deps=[5]),
        task(5, deps=[3, 3]),
        task(6, subtasks=[sub(1, deps=["6.2"]), sub(2, deps=["6.1", "4.4"])]),
    )
    problems = TaskGraph(tag).problems()
    assert "1 depends on missing task 9" in problems
    assert "2 depends on itself" in problems
    assert "5 lists dependency 3 more than once" in problems
    assert "6.2 depends on missing task 4.4" in problems
    assert "cycle: 3 -> 5 -> 3" in problems
    assert "cycle: 6.1 -> 6.2 -> 6.1" in problems
    with pytest.raises(DependencyError) as info:
        TaskGraph(tag).check()
    assert "cycle: 3 -> 5 -> 3" in str(info.value) and info.value.cycle == ["3", "5", "3"]
    assert len(info.value.problems) == 6


def test_cycles_through_a_parent_and_its_subtasks():
    # 3 waits for 1, 1 waits for its subtask 1.1, and 1.1 waits for 3
    tag = tag_of(task(1, subtasks=[sub(1, deps=[3])]), task(2), task(3, deps=[1]))
    assert TaskGraph(tag).problems() == ["cycle: 1 -> 3 -> 1.1 -> 1"]
    assert TaskGraph(tag).fix() == ["removed circular dependency 3 from 1.1 (cycle: 1 -> 3 -> 1.1 -> 1)"]
    # a subtask inherits its parent's dependencies: 5 needs 4.1, and 4.1 waits for 4's dependency 5
    tag = tag_of(task(4, deps=[5], subtasks=[sub(1)]), task(5, deps=["4.1"]))
    assert TaskGraph(tag).problems() == ["cycle: 4.1 -> 5 -> 4.1"]
    TaskGraph(tag).fix()
    assert tag.task(4).dependencies == [] and tag.task(5).dependencies == ["4.1"]


def test_fix_removes_every_problem():
    tag = tag_of(task(1, deps=[9, 1]), task(2, deps=[3]), task(3, deps=[4]), task(4, deps=[2, 1, 1]))
    changes = TaskGraph(tag).fix()
    assert TaskGraph(tag).problems() == []
    assert any("missing dependency 9" in c for c in changes) and any("circular" in c for c in changes)
    assert [t.dependencies for t in tag.tasks][0] == []
    assert 1 in tag.task(4).dependencies


def test_ready_units_and_done_before_this_run():
    tag = tag_of(
        task(1, "done"),
        task(2, deps=[1]),
        task(3, deps=[2]),
        task(4, deps=[1], subtasks=[sub(1), sub(2, deps=["4.1"])]),
        task(5, deps=["4.2"]),
    )
    g = TaskGraph(tag)
    assert g.ready_units() == ["2", "4.1"]
    assert g.ready_units(done={"2", "4.1"}) == ["3", "4.2"]
    assert g.ready_units(done={"2", "4.1", "4.2"}) == ["3", "5"]


def test_critical_path_topological_order_and_remaining_chain():
    tag = tag_of(
        task(1, "done"),
        task(2, deps=[1]),
        task(3, deps=[2], subtasks=[sub(1), sub(2, deps=["3.1"])]),
        task(4, deps=[1]),
    )
    g = TaskGraph(tag)
    assert g.critical_path_length() == 4  # 1 -> 2 -> 3.1 -> 3.2
    assert g.critical_path_length(remaining=True) == 3
    assert g.critical_path_length({"3.2": 5.0}) == 8
    order = g.topological_order()
    assert order.index("1") < order.index("2") < order.index("3.1") < order.index("3.2") < order.index("3")
    assert g.remaining_chain_length("2") == 3 and g.remaining_chain_length("4") == 1
    with pytest.raises(NotFoundError):
        g.remaining_chain_length("99")
    with pytest.raises(DependencyError, match="cycle"):
        TaskGraph(tag_of(task(1, deps=[2]), task(2, deps=[1]))).topological_order()


def test_next_on_a_large_graph_is_fast():
    import time

    tasks = [task(i, "done" if i < 500 else "pending", deps=[i - 1] if i > 1 else []) for i in range(1, 3001)]
    tag = tag_of(*tasks)
    t0 = time.perf_counter()
    assert TaskGraph(tag).next_task().uid == "500"
    assert time.perf_counter() - t0 < 0.5


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

random_graphs = st.integers(1, 12).flatmap(
    lambda n: st.lists(
        st.tuples(
            st.sampled_from(["pending", "done", "in-progress", "cancelled"]),
            st.lists(st.integers(1, n + 2), max_size=3),
            st.lists(st.lists(st.sampled_from([1, 2, 3, "1.1", "2.1", "3.2"]), max_size=2), max_size=3),
        ),
        min_size=n,
        max_size=n,
    )
)


@settings(max_examples=150, deadline=None)
@given(random_graphs)
def test_fix_always_leaves_a_valid_acyclic_graph(spec):
    tasks = [
        task(i, status, deps=deps, subtasks=[sub(j + 1, deps=sd) for j, sd in enumerate(subs)])
        for i, (status, deps, subs) in enumerate(spec, start=1)
    ]
    tag = tag_of(*tasks)
    TaskGraph(tag).fix()
    g = TaskGraph(tag)
    assert g.problems() == []
    order = g.topological_order()
    pos = {u: i for i, u in enumerate(order)}
    for uid, unit in g.units.items():
        assert all(pos[str(d)] < pos[uid] for d in unit.dependencies)
    ready = g.ready_units()
    assert all(g.units[u].status == "pending" for u in ready)
    g.next_task()
    assert g.critical_path_length() <= len(g.units)
