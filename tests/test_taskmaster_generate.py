"""`task-master generate` writes the same files as task-master-ai 0.43.1, byte for byte: every status mark
on dependencies, subtask dependencies (siblings, "P.S", bare ids), empty and multi-line fields, ids past
999, a second tag with dots in its name, and the removal of files for tasks that no longer exist."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tm_helpers import make_project, run_ours, run_real, sub, task

from claude_orchestrator.taskmaster.model import TagData, loads_document
from claude_orchestrator.taskmaster.render import generate_files, task_markdown

TAG = "feature.x-2"


def database() -> tuple[list[dict], list[dict]]:
    master = [
        task(1, "done", title="Set up", details="Line one\n\n\n\nLine two after blank lines"),
        task(2, "in-progress", [1]),
        task(3, "blocked"),
        task(4, "cancelled"),
        task(5, "deferred"),
        task(6, "review"),
        task(
            7,
            "pending",
            [1, 2, 3, 4, 5, 6, "8.1"],
            priority="critical",
            details="",
            testStrategy="Run the suite",
            subtasks=[
                sub(1, "done", details="Sub details\nsecond line"),
                sub(2, "pending", deps=[1, "7.1"], description=""),
                sub(3, "in-progress", deps=[2], testStrategy="not shown", details=""),
            ],
        ),
        task(8, "pending", subtasks=[sub(1, "pending", deps=[3])]),
        task(1000, "pending", [7], title="A big id", description="Ünïcode — “quotes” and `code`"),
    ]
    other = [task(1, "pending", title="Tagged"), task(12, "done", [1], priority="low")]
    return master, other


@pytest.mark.taskmaster_cli
def test_generate_matches_task_master_ai_byte_for_byte(tmp_path: Path):
    master, other = database()
    ours = make_project(tmp_path / "ours", master, **{TAG: other})
    real = tmp_path / "real"
    shutil.copytree(ours, real)
    for root in (ours, real):
        out = root / ".taskmaster" / "tasks"
        for name in ("task_099.md", f"task_099_{TAG}.md", "task_007_other.md", "notes.md"):
            (out / name).write_text("stale\n")
    for args in (["generate"], ["generate", "--tag", TAG]):
        run_real(args, real, tmp_path / "scratch")
        run_ours(args, ours)
    ours_files = {
        p.name: p.read_bytes() for p in (ours / ".taskmaster/tasks").iterdir() if p.name != "tasks.json"
    }
    real_files = {
        p.name: p.read_bytes() for p in (real / ".taskmaster/tasks").iterdir() if p.name != "tasks.json"
    }
    assert sorted(ours_files) == sorted(real_files)
    assert "task_099.md" not in ours_files and f"task_099_{TAG}.md" not in ours_files
    assert {"task_007_other.md", "notes.md", "task_1000.md", f"task_012_{TAG}.md"} <= set(ours_files)
    for name in sorted(real_files):
        assert ours_files[name].decode() == real_files[name].decode(), name


def test_generate_format_details(tmp_path: Path):
    master, _ = database()
    root = make_project(tmp_path / "p", master)
    tag: TagData = loads_document((root / ".taskmaster/tasks/tasks.json").read_text()).tags["master"]
    text = task_markdown(tag, tag.task(7))  # type: ignore[arg-type]
    assert "**Dependencies:** 1 ✓, 2 ⧖, 3 ⛔, 4 ✗, 5 ⏸, 6, 8.1\n" in text
    assert "### 7.2. Sub 2\n\n**Status:** pending  \n**Dependencies:** 7.1, 7.1  \n\n### 7.3." in text
    assert "**Details:**\n\nSub details\nsecond line\n" in text and "not shown" not in text
    assert "Line one\n\nLine two" in task_markdown(tag, tag.task(1))  # 3+ newlines collapse to 2  # type: ignore[arg-type]
    out = root / "gen"
    (out).mkdir()
    (out / "task_002.md").write_text("kept: task 2 exists\n")
    (out / "task_050.md").write_text("removed\n")
    removed: list[Path] = []
    written = generate_files(tag, out, removed)
    assert [p.name for p in removed] == ["task_050.md"]
    assert [p.name for p in written][-1] == "task_1000.md"
    assert generate_files(TagData("empty"), out) == [] and (out / "task_002.md").exists()
