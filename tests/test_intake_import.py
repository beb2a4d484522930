"""`claude-orchestrator import` from local formats: what each fixture becomes in tasks.json, idempotent
re-import after upstream edits, done work never reset, and bad input (one line, file and line, exit 2,
tasks.json untouched)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tm_helpers import make_project, read_json, run_real, summary, task, tasks_path

from claude_orchestrator.cli.main import cli

DATA = Path(__file__).parent / "data" / "intake"


def project(tmp_path: Path, fixture: str | None = None, tasks: list[dict[str, Any]] | None = None) -> Path:
    root = make_project(tmp_path / "p", tasks)
    if fixture:
        src = DATA / fixture
        if src.is_dir():
            shutil.copytree(src, root, dirs_exist_ok=True)
        else:
            shutil.copy(src, root / src.name)
    return root


def imp(root: Path, *args: str, check: bool = True) -> Any:
    """`import` run from the project folder (relative sources are relative to the working directory)."""
    old = Path.cwd()
    os.chdir(root)
    try:
        return CliRunner().invoke(cli, ["import", *args], catch_exceptions=not check)
    finally:
        os.chdir(old)


def tasks(root: Path) -> dict[str, dict[str, Any]]:
    return {str(t["id"]): t for t in read_json(root)["master"]["tasks"]}


def by_source(root: Path) -> dict[str, dict[str, Any]]:
    return {t["metadata"]["source"]["id"]: t for t in tasks(root).values() if "metadata" in t}


def test_spec_kit_phases_become_dependencies_and_markers_metadata(tmp_path: Path):
    root = project(tmp_path, "speckit")
    res = imp(root, "specs/001-chat/tasks.md")
    assert res.exit_code == 0, res.output
    assert "spec-kit specs/001-chat/tasks.md: imported 9 new, 0 updated, 0 unchanged" in res.output
    t = by_source(root)
    ids = {k: v["id"] for k, v in t.items()}
    assert t["T001"]["status"] == "done" and t["T002"]["status"] == "pending"
    # setup -> foundational -> each story (not each other) -> polish waits for every story task
    assert t["T003"]["dependencies"] == [ids["T001"], ids["T002"]]
    assert t["T005"]["dependencies"] == t["T008"]["dependencies"] == [ids["T003"], ids["T004"]]
    assert t["T009"]["dependencies"] == [ids[k] for k in ("T005", "T006", "T007", "T008")]
    src = t["T006"]["metadata"]["source"]
    assert src["type"] == "spec-kit" and src["taskId"] == "T006" and src["story"] == "US1"
    assert src["parallel"] is True and "parallel" not in t["T007"]["metadata"]["source"]
    assert t["T006"]["relevantFiles"] == ["src/models/message.py"]
    assert t["T006"]["priority"] == "high" and t["T008"]["priority"] == "medium"  # (Priority: P1/P2)


def test_kiro_chain_subtasks_and_requirements(tmp_path: Path):
    root = project(tmp_path, "kiro")
    res = imp(root, ".")  # detected from .kiro/specs/*/tasks.md
    assert res.exit_code == 0, res.output
    t = by_source(root)
    assert [t[k]["id"] for k in ("1", "2", "3")] == [1, 2, 3]
    assert t["1"]["status"] == "done" and t["2"]["dependencies"] == [1] and t["3"]["dependencies"] == [2]
    subs = {s["metadata"]["source"]["id"]: s for s in t["2"]["subtasks"]}
    assert subs["2.2"]["dependencies"] == ["2.1"]
    assert "Requirements: 2.1, 3.3, 1.2" in subs["2.1"]["details"]
    assert subs["2.1"]["metadata"]["source"]["requirements"] == ["2.1", "3.3", "1.2"]
    assert (
        t["3"]["metadata"]["source"]["optional"] is True
        and t["3"]["subtasks"][0]["title"] == "Login flow test"
    )


def test_nested_checklist_nesting_becomes_subtasks(tmp_path: Path):
    root = project(tmp_path, "checklist.md")
    assert imp(root, "checklist.md").exit_code == 0
    t = list(tasks(root).values())
    assert [x["title"] for x in t] == [
        "Add a --json flag to the CLI",
        "Remove the old logger",
        "Update README.md",
    ]
    assert [x["status"] for x in t] == ["pending", "done", "pending"]
    assert all(x["dependencies"] == [] for x in t)
    first = t[0]
    assert first["details"] == "The flag prints machine-readable output."
    assert [s["title"] for s in first["subtasks"]] == ["Parse the flag", "Write the JSON encoder"]
    assert first["subtasks"][1]["status"] == "done"
    assert "- [ ] Handle dates" in first["subtasks"][1]["details"]
    assert "Requirements: 2.1" in first["subtasks"][1]["details"]


def test_backlog_folder_dependencies_criteria_and_subtask(tmp_path: Path):
    root = project(tmp_path, "backlog")
    res = imp(root, "backlog")
    assert res.exit_code == 0, res.output
    t = by_source(root)
    assert set(t) == {"task-1", "task-2", "task-3"}
    assert t["task-1"]["status"] == "done" and t["task-1"]["priority"] == "high"
    assert t["task-1"]["acceptanceCriteria"] == ["The app starts", "/health answers 200"]
    assert t["task-1"]["description"] == "Create the HTTP API skeleton in src/api/app.py."
    assert t["task-2"]["dependencies"] == [t["task-1"]["id"]]
    assert t["task-3"]["dependencies"] == [t["task-2"]["id"]]
    assert [s["title"] for s in t["task-2"]["subtasks"]] == ["Password hashing"]
    assert "Hash passwords with argon2" in t["task-2"]["details"]


def test_task_md_files_and_ai_docs(tmp_path: Path):
    root = project(tmp_path, "drop")
    shutil.copytree(DATA / "aidocs", root, dirs_exist_ok=True)
    assert imp(root, ".", "--format", "task-md").exit_code == 0
    t = by_source(root)
    fix = t["task_001"]
    assert fix["title"] == "Fix the database connection timeout" and fix["priority"] == "high"
    assert fix["relevantFiles"] == ["backend/db.py", "backend/config.py"]
    assert fix["acceptanceCriteria"] == [
        "No timeout under 100 concurrent requests",
        "A test covers the retry",
    ]
    assert "Context:\nSeen in production on Mondays." in fix["details"]
    assert t["task_002"]["dependencies"] == [fix["id"]]
    assert imp(root, ".ai_docs").exit_code == 0
    docs = {k: v for k, v in by_source(root).items() if v["metadata"]["source"]["type"] == "ai-docs"}
    assert set(docs) == {"T-0001", "SPEC-20251014-01K7JE-jwt-middleware", "PLAN-20251015-01K7B3-search"}
    assert [s["title"] for s in docs["T-0001"]["subtasks"]] == ["Add the login form", "Validate credentials"]
    spec = docs["SPEC-20251014-01K7JE-jwt-middleware"]
    assert spec["acceptanceCriteria"] == ["All tests passing", "Security review completed"]
    assert spec["metadata"]["source"]["plan"] == "PLAN-20251014-01K7A2-user-authentication"
    assert [s["status"] for s in docs["PLAN-20251015-01K7B3-search"]["subtasks"]] == ["pending", "done"]


def test_reimport_updates_adds_never_duplicates_never_resets_done(tmp_path: Path):
    root = project(tmp_path, "speckit", tasks=[task(1, title="Existing work")])
    path = root / "specs/001-chat/tasks.md"
    assert imp(root, str(path)).exit_code == 0
    first = tasks(root)
    assert len(first) == 10 and first["1"]["title"] == "Existing work"
    again = imp(root, str(path))
    assert "0 new, 0 updated, 9 unchanged" in again.output
    before = tasks_path(root).read_bytes()
    assert imp(root, str(path)).exit_code == 0 and tasks_path(root).read_bytes() == before  # untouched
    # work happens locally; a user adds a dependency on their own task
    data = read_json(root)
    mine = {t["metadata"]["source"]["id"]: t for t in data["master"]["tasks"] if "metadata" in t}
    t3, t4 = mine["T003"], mine["T004"]
    t3["status"], t4["status"] = "done", "in-progress"
    t3["dependencies"].append(1)
    tasks_path(root).write_text(json.dumps(data, indent=2))
    # upstream edits: a title changes, a task is added, T001 is unchecked
    text = path.read_text().replace("Setup database schema", "Create the database schema")
    text = text.replace("- [x] T001", "- [ ] T001")
    text = text.replace("- [ ] T009", "- [ ] T010 [P] Add a changelog in CHANGELOG.md\n- [ ] T009")
    path.write_text(text)
    res = imp(root, str(path))
    assert "1 new, 1 updated, 8 unchanged" in res.output, res.output
    t = by_source(root)
    assert len(tasks(root)) == 11
    assert t["T003"]["title"].startswith("Create the database schema") and t["T003"]["status"] == "done"
    assert 1 in t["T003"]["dependencies"]  # the user's own dependency is kept
    assert t["T004"]["status"] == "in-progress" and t["T001"]["status"] == "done"
    assert t["T010"]["dependencies"] == t["T009"]["dependencies"]  # the new task joins the polish phase


def test_dry_run_writes_nothing(tmp_path: Path):
    root = project(tmp_path, "checklist.md", tasks=[])
    before = tasks_path(root).read_bytes()
    res = imp(root, "checklist.md", "--dry-run")
    assert res.exit_code == 0 and "would import 3 new" in res.output and "nothing was written" in res.output
    assert tasks_path(root).read_bytes() == before


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.task.md", "---\nid: [unclosed\n---\n# T\n", "bad.task.md:2: front matter is not valid YAML"),
        (
            "specs/002-x/tasks.md",
            "## Phase 1: Setup\n\n- [ ] T001 One\n- [ ] T001 Two\n",
            "tasks.md:4: task T001 appears twice",
        ),
        ("deps.task.md", "---\nid: a\ndependencies: [nope]\n---\n# A\n", "deps.task.md:1: depends on 'nope'"),
        ("notes.md", "Just prose, no tasks.\n", "notes.md: cannot tell the format"),
    ],
)
def test_bad_input_one_line_file_and_line_exit_2_nothing_written(
    tmp_path: Path, name: str, text: str, message: str
):
    root = project(tmp_path, tasks=[task(1)])
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)
    before = tasks_path(root).read_bytes()
    res = imp(root, name, check=False)
    assert res.exit_code == 2, res.output
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], res.output
    assert tasks_path(root).read_bytes() == before


def test_cycle_from_source_is_refused(tmp_path: Path):
    root = project(tmp_path, tasks=[])
    (root / "a.task.md").write_text("---\nid: a\ndependencies: [b]\n---\n# A\n")
    (root / "b.task.md").write_text("---\nid: b\ndependencies: [a]\n---\n# B\n")
    before = tasks_path(root).read_bytes()
    res = imp(root, ".", "--format", "task-md", check=False)
    assert res.exit_code == 2 and "cycle" in res.output.lower()
    assert tasks_path(root).read_bytes() == before


def test_github_options_refused_for_files(tmp_path: Path):
    root = project(tmp_path, "checklist.md")
    res = imp(root, "checklist.md", "--label", "x", check=False)
    assert res.exit_code == 2 and "for github: sources" in res.output


@pytest.mark.taskmaster_cli
def test_imported_file_reads_in_real_task_master(tmp_path: Path):
    root = project(tmp_path, "backlog")
    assert imp(root, "backlog").exit_code == 0
    from tm_helpers import first_json

    real = summary(first_json(run_real(["list", "--with-subtasks", "--json"], root, tmp_path).stdout))
    t = by_source(root)
    one, two, three = (str(t[k]["id"]) for k in ("task-1", "task-2", "task-3"))
    assert real[one][0] == "done" and real[two] == ("pending", [one]) and real[three] == ("pending", [two])
    assert f"{two}.1" in real


def test_import_into_another_tag(tmp_path: Path):
    root = project(tmp_path, "checklist.md", tasks=[task(1)])
    res = imp(root, "checklist.md", "--tag", "release")
    assert res.exit_code == 0 and "(tag release)" in res.output
    data = read_json(root)
    assert [t["id"] for t in data["master"]["tasks"]] == [1]
    assert [t["id"] for t in data["release"]["tasks"]] == [1, 2, 3]
