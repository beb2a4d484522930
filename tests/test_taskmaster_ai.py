"""task-master's AI commands run the manager: through the real SDK against the fake model, as processes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from tm_helpers import first_json, make_project, ours_bin, read_json, run_real, task, tasks_path

from claude_orchestrator.testing.demo_model import PLAN, demo_model
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic


@pytest.fixture
def fake_env():
    with FakeAnthropic(model=demo_model) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
        env.update(ANTHROPIC_BASE_URL=fake.base_url, ANTHROPIC_API_KEY="sk-test-tm-ai", NO_COLOR="1")
        yield fake, env


def tm(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([ours_bin(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
    return proc


def test_parse_prd_expand_complexity_add_task(tmp_path: Path, fake_env):
    fake, env = fake_env
    root = make_project(tmp_path / "p")
    (root / ".taskmaster" / "docs" / "prd.txt").write_text("# PRD\nwordfreq\n")
    tm(["parse-prd"], root, env)  # default PRD location
    assert [t["id"] for t in read_json(root)["master"]["tasks"]] == [t["id"] for t in PLAN]

    out = tm(["analyze-complexity", "--threshold", "3"], root, env).stdout
    report = json.loads((root / ".taskmaster" / "reports" / "task-complexity-report.json").read_text())
    assert report["meta"]["thresholdScore"] == 3 and report["meta"]["tasksAnalyzed"] == len(PLAN)
    assert {i["taskId"] for i in report["complexityAnalysis"]} == {t["id"] for t in PLAN}
    assert "written to" in out
    shown = tm(["complexity-report"], root, env).stdout
    assert "score 4" in shown

    tm(["expand", "--id=2"], root, env)  # count and guidance from the report
    subs = read_json(root)["master"]["tasks"][1]["subtasks"]
    assert [s["id"] for s in subs] == [1, 2] and subs[1]["dependencies"] == ["2.1"]
    expand_req = [r for r in fake.requests if "Break one task into" in r.system_text][0]
    assert "Split setup from the rest." in expand_req.last_user_text  # the report's expansionPrompt
    assert "Break one task into 2 subtasks" in expand_req.system_text  # its recommendedSubtasks

    tm(["add-task", "--prompt=Add a --json flag", "--priority=high", "--dependencies=4"], root, env)
    new = read_json(root)["master"]["tasks"][-1]
    assert new["id"] == 7 and new["priority"] == "high" and new["dependencies"] == [4]

    real = first_json(run_real(["list", "--json"], root, tmp_path).stdout)
    assert sorted(int(t["id"]) for t in real["tasks"]) == list(range(1, 8))
    nxt = first_json(run_real(["next", "-f", "json"], root, tmp_path).stdout)
    assert str(nxt["task"]["id"]) in ("1", "6")


def test_parse_prd_refuses_non_empty_tag(tmp_path: Path, fake_env):
    fake, env = fake_env
    root = make_project(tmp_path / "p", [task(1)])
    (root / "prd.txt").write_text("x")
    before = tasks_path(root).read_bytes()
    proc = subprocess.run(
        [ours_bin(), "parse-prd", "prd.txt"], cwd=root, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2 and "--append" in proc.stderr
    assert tasks_path(root).read_bytes() == before
    assert fake.requests == []
