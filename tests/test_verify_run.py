"""The verification gate in real runs: the api backend through the real anthropic SDK against the fake model,
real git worktrees, and checks run by the orchestrator itself."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from run_helpers import git, tasks_of
from run_helpers import make_project as make_repo
from run_helpers import task as _task
from test_engine import env_fake, run_cli  # noqa: F401 (env_fake: fixture)

from claude_orchestrator.testing.demo_model import request_text
from claude_orchestrator.testing.fake_anthropic import (
    FakeRequest,
    Reply,
    json_reply,
    text_reply,
    tool_use_reply,
)

PY = sys.executable
CHECK = """import sys
got = open("hello.txt").read()
if got != "hello\\n":
    print("collected 1 item")
    print(f"FAILED test_hello: expected 'hello', got {got!r}")
    sys.exit(1)
print("1 passed")
"""


def events_of(root: Path) -> list[dict[str, Any]]:
    run_dir = next((root / ".taskmaster" / "runs").iterdir())
    return [json.loads(x) for x in (run_dir / "events.ndjson").read_text().splitlines()]


def _model(files: dict[str, list[str]], reviews: list[str]) -> Any:
    """Task N writes files[N][k] to its file on its k-th conversation (a retry is a new conversation); the
    reviewer passes everything and keeps what it was shown."""
    conversations: dict[str, int] = {}

    def model(req: FakeRequest) -> Reply:
        if "reviewing manager" in req.system_text:
            reviews.append(req.last_user_text)
            return json_reply({"verdict": "pass", "issues": [], "follow_ups": []})
        m = re.search(r"^# Task (\S+):", request_text(req), re.MULTILINE)
        tid = m.group(1) if m else "?"
        if req.tool_results:
            return text_reply(
                f"Done: task {tid} is complete and all tests pass."
            )  # the claim, checked or not
        k = conversations[tid] = conversations.get(tid, 0) + 1
        bodies = files[tid]
        path = "hello.txt" if tid == "1" else f"f{tid}.txt"
        return tool_use_reply("write_file", {"path": path, "content": bodies[min(k, len(bodies)) - 1]})

    return model


def test_a_claimed_success_that_fails_its_check_goes_back_with_the_output_then_passes(tmp_path, env_fake):  # noqa: F811
    root = make_repo(tmp_path / "p", [_task(1, metadata={"verify": [[PY, "check.py"]]}), _task(2)])
    (root / "check.py").write_text(CHECK)
    git(root, "add", "check.py")
    git(root, "commit", "-q", "-m", "the check")
    reviews: list[str] = []
    fake = env_fake(_model({"1": ["helo\n", "hello\n"], "2": ["two\n"]}, reviews))
    res = run_cli(root, "--backend", "api", "--workers", "2")
    assert res.exit_code == 0, res.output
    assert (root / "hello.txt").read_text() == "hello\n"
    tasks = tasks_of(root)
    assert tasks["1"]["status"] == tasks["2"]["status"] == "done"
    assert tasks["1"]["metadata"]["orchestrator"]["verification"] == "passed"
    assert tasks["2"]["metadata"]["orchestrator"]["verification"] == "none"
    # the worker's second conversation was told which command failed and what it printed
    retry = [r for r in fake.requests if "FAILED test_hello" in request_text(r) and not r.tool_results]
    assert retry and f"$ {PY} check.py" in request_text(retry[0]) and "exit 1" in request_text(retry[0])
    # the review ran once per task, after the checks passed, and read the real exit code
    review_1 = [r for r in reviews if r.startswith("Task 1:")]
    assert len(review_1) == 1 and f"$ {PY} check.py\n  -> exit 0" in review_1[0]
    review_2 = next(r for r in reviews if r.startswith("Task 2:"))
    assert "(none: this task has no verify commands)" in review_2
    kinds = [(e["task_id"], e["data"]["status"]) for e in events_of(root) if e["kind"] == "task_verification"]
    assert kinds.count(("1", "failed")) == 1 and kinds.count(("1", "passed")) == 1 and ("2", "none") in kinds
    retries = [e for e in events_of(root) if e["kind"] == "task_retry"]
    assert [e["task_id"] for e in retries] == ["1"]
    assert "checks: 1 verified, 0 failed verification, 1 without checks" in res.output
    summary = json.loads((next((root / ".taskmaster" / "runs").iterdir()) / "summary.json").read_text())
    assert (summary["tasks_verified"], summary["tasks_failed_verification"], summary["tasks_unchecked"]) == (
        1,
        0,
        1,
    )
    assert git(root, "status", "--porcelain", "--untracked-files=no").strip() == ""


def test_a_hanging_check_is_killed_at_its_timeout_and_fails_the_task_after_one_retry(tmp_path, env_fake):  # noqa: F811
    hang = [[PY, "-c", "import time; print('waiting for a server', flush=True); time.sleep(300)"]]
    root = make_repo(tmp_path / "p", [_task(1, metadata={"verify": hang})])
    cfg = json.loads((root / "orchestrator_config.json").read_text())
    cfg["verification"] = {"timeout_seconds": 1.0}
    (root / "orchestrator_config.json").write_text(json.dumps(cfg))
    git(root, "commit", "-q", "-am", "short check timeout")
    env_fake(_model({"1": ["a\n", "b\n"]}, []))
    t0 = time.monotonic()
    res = run_cli(root, "--backend", "api", "--no-review")
    assert res.exit_code == 1, res.output
    assert time.monotonic() - t0 < 120
    meta = tasks_of(root)["1"]["metadata"]["orchestrator"]
    assert tasks_of(root)["1"]["status"] == "blocked"
    assert (
        meta["reason"].startswith("verification failed twice:") and "killed at its timeout" in meta["reason"]
    )
    failed = [e["data"] for e in events_of(root) if e["kind"] == "task_verification"]
    assert [(d["status"], d["exit_code"], d.get("timed_out")) for d in failed] == [("failed", 124, True)] * 2
    assert "waiting for a server" in failed[0]["output"]
    assert "checks: 0 verified, 1 failed verification, 0 without checks" in res.output


def test_no_verify_skips_the_checks_and_says_so(tmp_path, env_fake):  # noqa: F811
    root = make_repo(tmp_path / "p", [_task(1, metadata={"verify": [[PY, "-c", "raise SystemExit(1)"]]})])
    env_fake(_model({"1": ["x\n"]}, []))
    res = run_cli(root, "--backend", "api", "--no-review", "--no-verify")
    assert res.exit_code == 0, res.output
    assert tasks_of(root)["1"]["metadata"]["orchestrator"]["verification"] == "skipped"
    assert "checks: 0 verified, 0 failed verification, 1 without checks" in res.output


def test_a_malformed_verify_is_refused_before_anything_runs(tmp_path, env_fake):  # noqa: F811
    root = make_repo(tmp_path / "p", [_task(1, metadata={"verify": ["python", "-m", "pytest"]})])
    fake = env_fake(_model({"1": ["x\n"]}, []))
    res = run_cli(root, "--backend", "api")
    assert res.exit_code == 2
    assert "task 1: metadata.verify looks like one argument list" in res.output
    assert fake.requests == [] and tasks_of(root)["1"]["status"] == "pending"
