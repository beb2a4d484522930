import json
import subprocess
import sys

import pytest
from tm_helpers import clean_env, make_project, read_json, run_ours, sub, task, tasks_path


@pytest.fixture
def proj(tmp_path):
    return make_project(
        tmp_path / "p",
        [
            task(1, "done", priority="high", custom={"x": 1}),
            task(2, "in-progress", deps=[1], subtasks=[sub(1), sub(2, deps=[1])]),
            task(3, deps=["2.1"], priority="low"),
        ],
    )


BAD_FILES = {
    "malformed": ("{not json", "malformed JSON"),
    "non-list tasks": ('{"master": {"tasks": {"1": {}}}}', "tasks must be a list"),
    "duplicate ids": (json.dumps({"master": {"tasks": [task(1), task(1)]}}), "duplicate task id 1"),
    "unknown status": (json.dumps({"master": {"tasks": [task(1, "started")]}}), "unknown status 'started'"),
    "non-numeric id": (json.dumps({"master": {"tasks": [{**task(1), "id": "abc"}]}}), "is not a number"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["next"],
        ["set-status", "--id=1", "--status=done"],
        ["add-task", "--title=t", "--description=d"],
    ],
)
def test_bad_files_one_line_exit_2_file_untouched(tmp_path, case, args):
    root = make_project(tmp_path)
    text, problem = BAD_FILES[case]
    tasks_path(root).write_text(text)
    proc = run_ours(args, root, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert str(tasks_path(root)) in lines[0] and problem in lines[0]
    assert tasks_path(root).read_text() == text
    assert not tasks_path(root).with_name("tasks.json.lock").exists()


def test_missing_database_and_missing_project(tmp_path):
    make_project(tmp_path / "p")
    proc = run_ours(["list", "--file", "nope.json"], tmp_path / "p", check=False)
    assert (
        proc.returncode == 2 and "nope.json: no such file" in proc.stderr and "Traceback" not in proc.stderr
    )
    (tmp_path / "bare" / ".git").mkdir(parents=True)
    proc = run_ours(["next"], tmp_path / "bare", check=False)
    assert proc.returncode == 2 and "no .taskmaster/ directory" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_list_json_and_filters(proj):
    data = json.loads(run_ours(["list", "--json"], proj).stdout)
    assert [t["id"] for t in data["tasks"]] == ["1", "2", "3"]
    assert data["tasks"][0]["blocks"] == ["2"] and data["tasks"][1]["subtasks"] == []
    assert data["metadata"] == {
        "total": 3,
        "filtered": 3,
        "tag": "master",
        "storageType": "file",
        "allTags": False,
    }
    data = json.loads(run_ours(["list", "-s", "pending,done", "--with-subtasks", "-f", "json"], proj).stdout)
    assert [t["id"] for t in data["tasks"]] == ["1", "3"] and data["metadata"]["filtered"] == 2
    data = json.loads(run_ours(["list", "--with-subtasks", "--json"], proj).stdout)
    assert [s["dependencies"] for s in data["tasks"][1]["subtasks"]] == [[], ["2.1"]]
    text = run_ours(["list", "--with-subtasks"], proj).stdout
    assert "Next task: 2.1" in text and "2.2" in text
    proc = run_ours(["list", "-s", "completed"], proj, check=False)
    assert proc.returncode == 2 and "invalid status" in proc.stderr


def test_next_and_show(proj):
    out = json.loads(run_ours(["next", "-f", "json"], proj).stdout)
    assert out["task"]["id"] == "2.1" and out["task"]["parentId"] == "2" and out["found"] is True
    assert json.loads(run_ours(["next", "--json"], proj).stdout) == out
    one = json.loads(run_ours(["show", "2.1", "--json"], proj).stdout)
    assert one["task"]["id"] == 1 and one["originalTaskId"] == "2.1"
    many = json.loads(run_ours(["show", "1,3,9", "--json"], proj).stdout)
    assert [t["id"] for t in many["tasks"]] == [1, 3] and many["notFound"] == ["9"]
    assert many["tasks"][0]["custom"] == {"x": 1}
    proc = run_ours(["show", "7"], proj, check=False)
    assert proc.returncode == 2 and "task 7 not found" in proc.stderr


def test_set_status_forms_and_parent_follows(proj):
    run_ours(["set-status", "--id=2.1,2.2", "--status=done"], proj)
    tasks = read_json(proj)["master"]["tasks"]
    assert tasks[1]["status"] == "done" and tasks[0]["custom"] == {"x": 1}
    run_ours(["set-status", "3", "review"], proj)
    run_ours(["status", "-i", "2.2", "-s", "pending"], proj)
    tasks = read_json(proj)["master"]["tasks"]
    assert tasks[2]["status"] == "review" and tasks[1]["status"] == "in-progress"
    before = tasks_path(proj).read_bytes()
    for args in (
        ["set-status", "--id=1,99", "--status=done"],
        ["set-status", "--id=1", "--status=completed"],
    ):
        proc = run_ours(args, proj, check=False)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert tasks_path(proj).read_bytes() == before


def test_add_task_subtask_remove_and_dependencies(proj):
    assert (
        "Added task 4"
        in run_ours(
            ["add-task", "--title=New", "--description=D", "--priority=high", "--dependencies=1,3"], proj
        ).stdout
    )
    run_ours(["add-subtask", "--parent=4", "--title=Part", "--dependencies=2.1"], proj)
    t4 = read_json(proj)["master"]["tasks"][3]
    assert t4["dependencies"] == [1, 3] and t4["subtasks"][0]["dependencies"] == ["2.1"]
    run_ours(["add-dependency", "--id=3", "--depends-on=1"], proj)
    proc = run_ours(["add-dependency", "--id=1", "--depends-on=4"], proj, check=False)
    assert proc.returncode == 2 and "cycle" in proc.stderr
    for bad in (["--id=3", "--depends-on=3"], ["--id=3", "--depends-on=42"]):
        assert run_ours(["add-dependency", *bad], proj, check=False).returncode == 2
    run_ours(["remove-dependency", "--id=3", "--depends-on=2.1"], proj)
    assert read_json(proj)["master"]["tasks"][2]["dependencies"] == [1]
    run_ours(["remove-task", "--id=1", "-y"], proj)
    tasks = read_json(proj)["master"]["tasks"]
    assert [t["id"] for t in tasks] == [2, 3, 4] and tasks[1]["dependencies"] == []


def test_validate_and_fix_dependencies(tmp_path):
    root = make_project(
        tmp_path, [task(1, deps=[7]), task(2, deps=[3]), task(3, deps=[2]), task(4, deps=[4])]
    )
    proc = run_ours(["validate-dependencies"], root, check=False)
    assert proc.returncode == 1
    for p in ("1 depends on missing task 7", "cycle: 2 -> 3 -> 2", "4 depends on itself"):
        assert p in proc.stdout
    assert "removed" in run_ours(["fix-dependencies"], root).stdout
    assert run_ours(["validate-dependencies"], root).returncode == 0


def test_tags_and_the_tag_flag(proj):
    run_ours(["tags", "add", "feature-x", "--description", "Feature X"], proj)
    run_ours(["add-task", "--tag", "feature-x", "--title=F", "--description=f"], proj)
    assert (
        json.loads(run_ours(["list", "--json", "--tag", "feature-x"], proj).stdout)["tasks"][0]["id"] == "1"
    )
    run_ours(["tags", "use", "feature-x"], proj)
    assert json.loads(run_ours(["list", "--json"], proj).stdout)["metadata"]["tag"] == "feature-x"
    listing = json.loads(run_ours(["tags", "list", "--json"], proj).stdout)
    assert listing["currentTag"] == "feature-x" and [t["name"] for t in listing["tags"]] == [
        "master",
        "feature-x",
    ]
    run_ours(["tags", "remove", "feature-x", "-y"], proj)
    assert "master" in run_ours(["tags"], proj).stdout
    assert run_ours(["use-tag", "gone"], proj, check=False).returncode == 2


def test_file_flag_with_an_untagged_file(tmp_path):
    make_project(tmp_path)
    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps({"tasks": [task(1), task(2, deps=[1])]}))
    assert (
        json.loads(run_ours(["next", "--file", str(other), "-f", "json"], tmp_path).stdout)["task"]["id"]
        == "1"
    )
    run_ours(["set-status", "--id=1", "--status=done", "--file", str(other)], tmp_path)
    assert json.loads(other.read_text())["tasks"][0]["status"] == "done"  # still untagged


def test_generate_writes_markdown(proj):
    run_ours(["generate"], proj)
    text = (proj / ".taskmaster" / "tasks" / "task_002.md").read_text()
    assert text.startswith("# Task ID: 2\n") and "**Dependencies:** 1 ✓" in text and "### 2.2. Sub 2" in text
    run_ours(["remove-task", "--id=3", "-y"], proj)
    run_ours(["generate"], proj)
    assert not (proj / ".taskmaster" / "tasks" / "task_003.md").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["parse-prd", "prd.txt"],
        ["expand", "--id=2"],
        ["analyze-complexity"],
        ["add-task", "--prompt=x"],
    ],
)
def test_ai_commands_without_credentials_say_what_to_set(proj, args):
    (proj / "prd.txt").write_text("# PRD\nA thing.\n")
    proc = run_ours(args, proj, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "ANTHROPIC_API_KEY" in proc.stderr and "Traceback" not in proc.stderr


def test_complexity_report_without_a_report(proj):
    proc = run_ours(["complexity-report"], proj, check=False)
    assert proc.returncode == 2 and "analyze-complexity" in proc.stderr


def test_init_command(tmp_path):
    run_ours(["init", "-y", "--name", "demo"], tmp_path)
    assert (tmp_path / ".taskmaster" / "config.json").exists()
    assert not tasks_path(tmp_path).exists()


def test_list_imports_nothing_heavy(proj):
    code = (
        "import sys\n"
        "from claude_orchestrator.cli.taskmaster import main\n"
        "try:\n    main(['list', '--with-subtasks'])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = ['anthropic', 'claude_agent_sdk', 'git', 'rich.live', 'rich', 'networkx', 'pydantic']\n"
        "print('LOADED=' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=proj, capture_output=True, text=True, env=clean_env()
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "LOADED="


def test_subtask_removal_and_tag_rename_copy(proj):
    run_ours(["add-dependency", "--id=3", "--depends-on=2.2"], proj)
    run_ours(["remove-subtask", "--id=2.2"], proj)
    tasks = read_json(proj)["master"]["tasks"]
    assert [s["id"] for s in tasks[1]["subtasks"]] == [1] and tasks[2]["dependencies"] == ["2.1"]
    assert run_ours(["remove-subtask", "--id=2"], proj, check=False).returncode == 2
    assert "Removed 1 subtasks" in run_ours(["clear-subtasks", "--all"], proj).stdout
    assert read_json(proj)["master"]["tasks"][2]["dependencies"] == []
    run_ours(["tags", "copy", "master", "copy1"], proj)
    run_ours(["tags", "use", "copy1"], proj)
    run_ours(["tags", "rename", "copy1", "renamed"], proj)
    listing = json.loads(run_ours(["tags", "list", "--json"], proj).stdout)
    assert listing["currentTag"] == "renamed" and [t["name"] for t in listing["tags"]] == [
        "master",
        "renamed",
    ]
    assert listing["tags"][1]["tasks"] == 3
    assert run_ours(["tags", "rename", "master", "x"], proj, check=False).returncode == 2
