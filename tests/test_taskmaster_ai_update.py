"""update, update-task, update-subtask, research, scope-up/down, and the AI commands' short flags: the
manager answers through the real SDK against the fake model; our CLI runs as a process."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tm_helpers import make_project, ours_bin, read_json, sub, task, tasks_path

from claude_orchestrator.testing.demo_model import demo_model
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic, FakeRequest, Reply, json_reply


def manager(req: FakeRequest) -> Reply:
    system, user = req.system_text, req.last_user_text
    if "rewritten to take new context" in system:
        rows = [json.loads(line) for line in user.splitlines() if line.startswith('{"id"')]
        return json_reply(
            {
                "tasks": [
                    {**r, "title": f"{r['title']} (SQLite)", "details": "Store it in SQLite."} for r in rows
                ]
            }
        )
    if "Write the text to append" in system:
        request = user.rsplit("Request:", 1)[1].split("Return the JSON", 1)[0].strip()
        return json_reply({"note": f"Learned: {request}"})
    if "research assistant" in system:
        return json_reply({"answer": "## Answer\n\nUse a write-ahead log."})
    if "its scope" in system:
        m = re.search(r"with (\d+) new ones, numbered from (\d+)", system)
        n, first = (int(m.group(1)), int(m.group(2))) if m else (0, 1)
        subs = [
            {
                "id": first + i,
                "title": f"Scoped part {i + 1}",
                "description": "A part of the adjusted task.",
                "dependencies": [first + i - 1] if i else [],
                "details": "Carry out this part of the adjusted task.",
                "status": "pending",
                "testStrategy": "Check it.",
            }
            for i in range(n)
        ]
        title = re.search(r"^Task ([\d.]+): (.*)$", user, re.MULTILINE)
        return json_reply(
            {
                "title": f"{title.group(2) if title else 'Task'} (bigger)",
                "description": "Adjusted.",
                "details": "More.",
                "testStrategy": "More tests.",
                "subtasks": subs,
            }
        )
    return demo_model(req)


@pytest.fixture
def fake_env():
    with FakeAnthropic(model=manager) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
        env.update(ANTHROPIC_BASE_URL=fake.base_url, ANTHROPIC_API_KEY="sk-test-tm-update", NO_COLOR="1")
        yield fake, env


def tm(args: list[str], cwd: Path, env: dict[str, str], code: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([ours_bin(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    return make_project(
        tmp_path / "p",
        [
            task(1, "done"),
            task(2, deps=[1], subtasks=[sub(1), sub(2, "done", deps=[1])], details="Old details."),
            task(3, deps=[2], priority="high", metadata={"owner": "me"}),
        ],
    )


def requests_for(fake: Any, marker: str) -> list[FakeRequest]:
    return [r for r in fake.requests if marker in r.system_text]


def test_update_and_update_task_rewrite_text_only(proj: Path, fake_env: Any) -> None:
    fake, env = fake_env
    tm(["update", "--from=1", "-p", "We use SQLite now"], proj, env)
    t = {x["id"]: x for x in read_json(proj)["master"]["tasks"]}
    assert (
        t[1]["title"] == "Task 1"
        and t[2]["title"] == "Task 2 (SQLite)"
        and t[3]["title"] == "Task 3 (SQLite)"
    )
    assert t[3]["dependencies"] == [2] and t[3]["metadata"] == {"owner": "me"} and t[3]["priority"] == "high"
    assert len(t[2]["subtasks"]) == 2  # subtasks, status and dependencies are not the model's to change
    (req,) = requests_for(fake, "rewritten to take new context")
    assert "We use SQLite now" in req.last_user_text and '"id": 1' not in req.last_user_text  # done: locked
    tm(
        ["update-task", "3", "use", "Postgres", "instead"], proj, env
    )  # the prompt as words, as in task-master
    assert "use Postgres instead" in requests_for(fake, "rewritten to take new context")[-1].last_user_text
    before = tasks_path(proj).read_bytes()
    proc = tm(["update-task", "--id=1", "-p", "x"], proj, env, code=2)
    assert "locked" in proc.stderr and tasks_path(proj).read_bytes() == before


def test_update_subtask_and_append_add_a_timestamped_note(proj: Path, fake_env: Any) -> None:
    fake, env = fake_env
    tm(["update-subtask", "-i", "2.1", "-p", "the cache must be warmed first"], proj, env)
    s21 = read_json(proj)["master"]["tasks"][1]["subtasks"][0]
    assert re.fullmatch(
        r"<info added on (\S+)>\nLearned: the cache must be warmed first\n</info added on \1>", s21["details"]
    )
    (req,) = requests_for(fake, "Write the text to append")
    assert "Parent task:" in req.last_user_text and "Next subtask:" in req.last_user_text
    tm(["update-task", "2", "--append", "-p", "measured 2x"], proj, env)
    details = read_json(proj)["master"]["tasks"][1]["details"]
    assert details.startswith("Old details.\n<info added on ") and "Learned: measured 2x" in details
    assert tm(["update-subtask", "-i", "2", "-p", "x"], proj, env, code=2).stderr.count("\n") == 1


def test_research_with_context_and_saving(proj: Path, fake_env: Any) -> None:
    fake, env = fake_env
    (proj / "notes.txt").write_text("We write 10k rows a second.\n")
    out = tm(
        [
            "research",
            "How to make writes durable?",
            "-i",
            "2",
            "-f",
            "notes.txt",
            "-t",
            "-d",
            "low",
            "--save-to",
            "2.1",
            "--save-file",
        ],
        proj,
        env,
    ).stdout
    assert "Use a write-ahead log." in out
    (req,) = requests_for(fake, "research assistant")
    for part in ("Task 2: Task 2", "We write 10k rows a second.", "notes.txt", "Detail level: low"):
        assert part in req.system_text + req.last_user_text
    assert (
        "## Research Query: How to make writes durable?"
        in read_json(proj)["master"]["tasks"][1]["subtasks"][0]["details"]
    )
    (saved,) = (proj / ".taskmaster" / "docs" / "research").glob("*_how-to-make-writes-durable.md")
    assert saved.read_text().startswith("---\ntitle: Research Session\n")
    tm(["research", "x", "-f", "../outside.txt"], proj, env, code=2)


def test_scope_up_replaces_pending_subtasks_and_keeps_finished_ones(proj: Path, fake_env: Any) -> None:
    fake, env = fake_env
    tm(["scope-up", "-i", "2", "-s", "regular", "-p", "add metrics"], proj, env)
    t2 = read_json(proj)["master"]["tasks"][1]
    assert t2["title"] == "Task 2 (bigger)" and t2["dependencies"] == [1]
    # regular: max(6, 1 kept + ceil(1 pending * 1.3)) * (0.8 + 0.4) = 8 in all, so 7 new after the kept one
    assert [s["id"] for s in t2["subtasks"]] == [2, 3, 4, 5, 6, 7, 8, 9] and t2["subtasks"][0][
        "status"
    ] == "done"
    assert "add metrics" in requests_for(fake, "its scope")[0].last_user_text
    tm(["scope-down", "-i", "3", "-s", "light"], proj, env)  # no subtasks: only its text changes
    assert read_json(proj)["master"]["tasks"][2]["subtasks"] == []
    tm(["scope-up", "-i", "1"], proj, env, code=2)  # done


def test_ai_flags_reach_the_manager(proj: Path, fake_env: Any) -> None:
    fake, env = fake_env
    tm(["expand", "-i", "3", "-n", "2", "-p", "mind the migration"], proj, env)
    (req,) = requests_for(fake, "Break one task into")
    assert "mind the migration" in req.last_user_text  # -p is the extra context, not the project
    tm(["analyze-complexity", "-t", "3"], proj, env)
    report = json.loads((proj / ".taskmaster" / "reports" / "task-complexity-report.json").read_text())
    assert report["meta"]["thresholdScore"] == 3
    (proj / "prd.txt").write_text("# PRD\nwordfreq\n")
    tm(["parse-prd", "prd.txt", "-f"], proj, env)  # -f is --force: the tag's tasks are replaced
    assert [t["title"] for t in read_json(proj)["master"]["tasks"]][0] == "Create the wordfreq package"
