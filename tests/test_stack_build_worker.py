import json
import shutil

import pytest

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.errors import PlanError, WorkerError
from claude_orchestrator.workers.build import plan_from_task, run_build_task

PLAN = {"name": "task-build", "files": [{"filename": "main.py", "code": "print('built by task')"}]}


def test_plan_from_metadata_dict_or_json_text():
    assert plan_from_task({"id": 1, "metadata": {"plan": PLAN}}).name == "task-build"
    assert plan_from_task({"id": 1, "metadata": {"plan": json.dumps(PLAN)}}).file_paths() == ["main.py"]


def test_plan_from_fenced_details_skips_non_plans():
    details = 'Build this.\n```json\n{"not": 1}\n```\nand\n```json\n' + json.dumps(PLAN, indent=1) + "\n```\n"
    assert plan_from_task({"id": 2, "details": details}).name == "task-build"


def test_no_plan_is_none_and_a_bad_plan_is_an_error():
    assert plan_from_task({"id": 3, "details": "just prose", "metadata": {}}) is None
    assert plan_from_task({"id": 3}) is None
    with pytest.raises(PlanError, match="is absolute"):
        plan_from_task({"id": 4, "metadata": {"plan": {"name": "x", "files": {"/etc/x": ""}}}})


@pytest.mark.skipif(shutil.which("g++") is None, reason="toolchain not installed: g++")
def test_run_build_task_ok_and_failed(tmp_path):
    ok = run_build_task({"id": 5, "metadata": {"plan": PLAN}}, tmp_path, OrchestratorConfig())
    assert ok.ok and ok.stacks == ["python"] and ok.run_command == "python main.py"
    assert ok.folder == (tmp_path / "task-build").resolve() and ok.log_path.is_file()
    assert ok.to_dict()["folder"] == str(ok.folder)
    bad = {"id": 6, "metadata": {"plan": {"name": "broken", "files": {"main.cpp": "int main( {"}}}}
    failed = run_build_task(bad, tmp_path)
    assert not failed.ok and failed.error.startswith("step 'g++' failed (exit status 1)")
    assert failed.folder == (tmp_path / "broken").resolve() and failed.log_path.is_file()
    with pytest.raises(WorkerError, match="task 7 carries no build plan"):
        run_build_task({"id": 7, "details": "prose"}, tmp_path)
