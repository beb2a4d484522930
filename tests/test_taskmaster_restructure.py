"""move (within and across tags), add-subtask --task-id, remove-subtask --convert, copy-tag / rename-tag,
models, rules add/remove claude and init -r claude."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tm_helpers import make_project, read_json, run_ours, sub, task, tasks_path


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return make_project(
        tmp_path / "p",
        [
            task(1, "done"),
            task(2, deps=[1], subtasks=[sub(1), sub(2, deps=[1])]),
            task(3, deps=[2, "2.2"]),
            task(4),
        ],
        other=[task(1)],
    )


def by_id(root: Path, tag: str = "master") -> dict[str, dict]:
    return {str(t["id"]): t for t in read_json(root)[tag]["tasks"]}


def test_move_task_to_new_id_takes_its_references_along(proj: Path) -> None:
    run_ours(["move", "--from=2", "--to=9"], proj)
    t = by_id(proj)
    assert list(t) == ["1", "3", "4", "9"]  # a renumbered task goes last, as in task-master
    assert t["3"]["dependencies"] == [9, "9.2"]
    assert t["9"]["subtasks"][1]["dependencies"] == ["9.1"]  # still its sibling


def test_subtask_moves_within_a_tag(proj: Path) -> None:
    run_ours(["move", "--from=2.2", "--to=4.1"], proj)
    t = by_id(proj)
    assert [s["id"] for s in t["2"]["subtasks"]] == [1] and t["4"]["subtasks"][0]["title"] == "Sub 2"
    assert t["3"]["dependencies"] == [2, "4.1"]
    run_ours(["move", "--from=4.1", "--to=7"], proj)  # a subtask becomes task 7
    t = by_id(proj)
    assert t["7"]["title"] == "Sub 2" and t["3"]["dependencies"] == [2, 7] and t["4"]["subtasks"] == []
    run_ours(["move", "--from=7", "--to=2.5"], proj)  # and back under task 2
    t = by_id(proj)
    assert [s["id"] for s in t["2"]["subtasks"]] == [1, 5] and t["3"]["dependencies"] == [2, "2.5"]


def test_a_move_that_makes_a_cycle_writes_nothing(proj: Path) -> None:
    before = tasks_path(proj).read_bytes()
    # as subtask 3.1, task 1 would wait for 3's dependency 2, which depends on it
    proc = run_ours(["move", "--from=1", "--to=3.1"], proj, check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert tasks_path(proj).read_bytes() == before
    assert run_ours(["move", "--from=2", "--to=3"], proj, check=False).returncode == 2  # 3 is taken


def test_move_across_tags_and_its_dependency_rules(proj: Path) -> None:
    before = tasks_path(proj).read_bytes()
    proc = run_ours(["move", "--from=3", "--to-tag=other"], proj, check=False)
    assert proc.returncode == 2 and "--with-dependencies" in proc.stderr  # 3 depends on 2, which stays
    proc = run_ours(["move", "--from=1", "--to-tag=other"], proj, check=False)
    assert proc.returncode == 2  # task 1 is taken in 'other'
    assert tasks_path(proj).read_bytes() == before
    run_ours(["move", "--from=4", "--to-tag=fresh"], proj)
    assert [t["id"] for t in read_json(proj)["fresh"]["tasks"]] == [4]
    run_ours(["tags", "remove", "other", "-y"], proj)
    run_ours(["move", "--from=3", "--to-tag=other", "--with-dependencies"], proj)
    assert sorted(by_id(proj, "other")) == ["1", "2", "3"] and list(by_id(proj)) == []


def test_move_across_ignoring_dependencies(proj: Path) -> None:
    run_ours(["move", "--from=2", "--from-tag=master", "--to-tag=later", "--ignore-dependencies"], proj)
    assert by_id(proj, "later")["2"]["dependencies"] == []
    assert (
        by_id(proj)["3"]["dependencies"] == []
    )  # links between a moved task and one left behind are dropped


def test_add_subtask_from_a_task_and_remove_subtask_convert(proj: Path) -> None:
    run_ours(["add-subtask", "--parent=2", "--task-id=4"], proj)
    t = by_id(proj)
    assert "4" not in t and t["2"]["subtasks"][2]["title"] == "Task 4"
    run_ours(["add-dependency", "--id=3", "--depends-on=2.3"], proj)
    run_ours(["remove-subtask", "--id=2.3", "--convert"], proj)
    t = by_id(proj)
    assert t["4"]["title"] == "Task 4" and t["4"]["dependencies"] == [2]  # it depends on its old parent
    assert t["3"]["dependencies"] == [2, "2.2", 4]  # the reference followed it
    proc = run_ours(["add-subtask", "--parent=1", "--task-id=1"], proj, check=False)
    assert proc.returncode == 2


def test_legacy_tag_commands(proj: Path) -> None:
    run_ours(["copy-tag", "master", "copy", "-d", "A copy"], proj)
    run_ours(["rename-tag", "copy", "renamed"], proj)
    data = read_json(proj)
    assert data["renamed"]["tasks"] == data["master"]["tasks"]
    assert data["renamed"]["metadata"]["description"] == "A copy"
    run_ours(["add-tag", "--copy-from-current", "-d", "Current", "cur"], proj)
    assert read_json(proj)["cur"]["tasks"] == data["master"]["tasks"]
    run_ours(["delete-tag", "cur", "-y"], proj)
    run_ours(["use-tag", "renamed"], proj)
    assert json.loads(run_ours(["list", "--json"], proj).stdout)["metadata"]["tag"] == "renamed"


def test_models_show_and_set(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    shown = json.loads(run_ours(["models", "--json"], root).stdout)
    assert shown["models"]["main"]["model"] == "claude-opus-5-5" and shown["models"]["fallback"] is None
    config = root / "orchestrator_config.json"
    config.write_text(json.dumps({"execution": {"max_workers": 2}, "models": {"worker": {"model": "w"}}}))
    run_ours(["models", "--set-main", "claude-test-main"], root)
    data = json.loads(config.read_text())
    assert data == {
        "execution": {"max_workers": 2},
        "models": {"worker": {"model": "w"}, "manager": {"model": "claude-test-main"}},
    }
    assert "claude-test-main" in run_ours(["models"], root).stdout
    for bad in (
        ["--set-research", "x"],
        ["--set-fallback", "x"],
        ["--set-main", "x", "--ollama"],
        ["--setup"],
    ):
        proc = run_ours(["models", *bad], root, check=False)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert json.loads(config.read_text()) == data


def test_rules_add_and_remove_claude(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "CLAUDE.md").write_text("# My project\n\nOur own notes.\n")
    run_ours(["init", "-y", "-r", "claude"], root)
    text = (root / "CLAUDE.md").read_text()
    assert text.startswith("# My project") and "@./.taskmaster/CLAUDE.md" in text
    assert "task-master next" in (root / ".taskmaster" / "CLAUDE.md").read_text()
    commands = sorted(p.name for p in (root / ".claude" / "commands" / "tm").glob("*.md"))
    assert "next-task.md" in commands and "to-done.md" in commands and len(commands) > 30
    assert (
        "task-master set-status --id=$ARGUMENTS --status=done"
        in (root / ".claude" / "commands" / "tm" / "to-done.md").read_text()
    )
    server = json.loads((root / ".mcp.json").read_text())["mcpServers"]["task-master-ai"]
    assert server["command"] == "claude-orchestrator" and server["args"] == ["mcp"]
    run_ours(["rules", "add", "claude"], root)  # again: nothing doubled
    assert (root / "CLAUDE.md").read_text().count("@./.taskmaster/CLAUDE.md") == 1
    run_ours(["rules", "remove", "claude", "-f"], root)
    assert (root / "CLAUDE.md").read_text() == "# My project\n\nOur own notes.\n"
    assert not (root / ".claude" / "commands" / "tm").exists()
    assert json.loads((root / ".mcp.json").read_text())["mcpServers"] == {}
    assert run_ours(["rules", "add", "cursor"], root, check=False).returncode == 2
