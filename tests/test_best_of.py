"""Best of N in real runs: the api backend through the real anthropic SDK against the fake model, real git
worktrees (one per attempt), checks run by the orchestrator, the manager's pick."""

from __future__ import annotations

import json
import re
import sys
import threading
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
CHECK = "import sys\nbody = open('out.txt').read()\nprint(repr(body))\nsys.exit(0 if body.startswith('good') else 1)\n"
VARIANTS = ["bad: fails the check\n", "good: short\n", "good: long version\n"]


def _run_dir(root: Path) -> Path:
    return next((root / ".taskmaster" / "runs").iterdir())


def _events(root: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (_run_dir(root) / "events.ndjson").read_text().splitlines()]


def _model(picks: list[str], order: list[str], variants: list[str] = VARIANTS) -> Any:
    """Task 1's attempts write VARIANTS in the order their conversations start; task 2 writes its own
    file. The manager picks the attempt whose diff holds "long version", and passes every review."""
    lock = threading.Lock()
    started: list[int] = []

    def model(req: FakeRequest) -> Reply:
        system = req.system_text
        if "Several workers did the same task" in system:
            picks.append(req.last_user_text)
            sections = re.split(r"^## Attempt (\d+)$", req.last_user_text, flags=re.MULTILINE)
            chosen = next(
                int(n)
                for n, body in zip(sections[1::2], sections[2::2], strict=True)
                if "long version" in body
            )
            return json_reply({"attempt": chosen, "reason": "the long version explains itself"})
        if "reviewing manager" in system:
            return json_reply({"verdict": "pass", "issues": [], "follow_ups": []})
        m = re.search(r"^# Task (\S+):", request_text(req), re.MULTILINE)
        tid = m.group(1) if m else "?"
        if req.tool_results:
            return text_reply(f"Task {tid} done.")
        with lock:
            order.append(tid)
            if tid == "2":
                return tool_use_reply("write_file", {"path": "two.txt", "content": "2\n"})
            started.append(1)
            body = variants[(len(started) - 1) % len(variants)]
        return tool_use_reply("write_file", {"path": "out.txt", "content": body})

    return model


def test_best_of_3_keeps_the_managers_pick_among_passing_attempts(tmp_path: Path, env_fake: Any):  # noqa: F811
    tasks = [
        _task(1, priority="high", metadata={"verify": [[PY, "check.py"]], "attempts": 3}),
        _task(2, priority="low"),
    ]
    root = make_repo(tmp_path / "p", tasks)
    (root / "check.py").write_text(CHECK)
    git(root, "add", "check.py")
    git(root, "commit", "-q", "-m", "the check")
    picks: list[str] = []
    order: list[str] = []
    env_fake(_model(picks, order), latency=0.1)
    res = run_cli(root, "--backend", "api", "--workers", "3")
    assert res.exit_code == 0, res.output

    # the pick: among the two attempts that passed, the manager's choice was merged
    assert (root / "out.txt").read_text() == "good: long version\n"
    assert len(picks) == 1 and picks[0].count("## Attempt ") == 2 and "bad: fails" not in picks[0]
    meta = tasks_of(root)["1"]["metadata"]["orchestrator"]
    assert meta["pick_reason"] == "the long version explains itself" and meta["verification"] == "passed"
    outcomes = sorted(a["outcome"].split(":")[0] for a in meta["attempts"])
    assert outcomes == ["checks failed", "passed", "passed"]
    picked = [e["data"] for e in _events(root) if e["kind"] == "task_picked"]
    assert len(picked) == 1 and picked[0]["candidates"] == 3 and len(picked[0]["passing"]) == 2
    assert picked[0]["winner"] == meta["picked"]

    # only the kept attempt was committed and merged; the other attempts' branches are gone
    subjects = git(root, "log", "--format=%s", "main").splitlines()
    assert [s for s in subjects if s.startswith("[orchestrator] Task 1")] == [
        "[orchestrator] Task 1: Task number 1"
    ]
    branches = git(root, "branch", "--list", "--format=%(refname:short)").split()
    assert not [b for b in branches if re.search(r"/1-c\d+$", b)], branches
    assert git(root, "worktree", "list").count("\n") == 1  # the main tree only

    # every attempt was checked; the cost of all three is the task's
    checks = [e["data"] for e in _events(root) if e["kind"] == "task_verification" and e["task_id"] == "1"]
    assert sorted((d["candidate"], d["status"]) for d in checks)[0][1] in ("passed", "failed")
    assert sorted(d["status"] for d in checks) == ["failed", "passed", "passed"]
    usage = json.loads((_run_dir(root) / "usage.json").read_text())
    worker_cost = sum(
        r["cost_usd"] for r in usage["records"] if r["role"] == "worker" and r["task_id"] == "1"
    )
    assert worker_cost > 0 and abs(meta["cost_usd"] - worker_cost) < 1e-6
    workers_1 = [r for r in usage["records"] if r["role"] == "worker" and r["task_id"] == "1"]
    assert len(workers_1) == 6  # three attempts, two requests each
    completed = next(
        e["data"] for e in _events(root) if e["kind"] == "task_completed" and e["task_id"] == "1"
    )
    assert abs(completed["cost_usd"] - worker_cost) < 1e-6

    # the three attempts took the whole pool: task 2 started only after they were done
    assert order[:3] == ["1", "1", "1"] and order[3:] == ["2"]
    assert (root / "two.txt").read_text() == "2\n"


def test_when_no_attempt_passes_the_task_goes_back_and_the_next_round_starts_afresh(tmp_path, env_fake):  # noqa: F811
    root = make_repo(tmp_path / "p", [_task(1, metadata={"verify": [[PY, "-c", "raise SystemExit(5)"]]})])
    picks: list[str] = []
    env_fake(_model(picks, []))
    res = run_cli(root, "--backend", "api", "--workers", "2", "--attempts", "2", "--no-review")
    assert res.exit_code == 1, res.output
    meta = tasks_of(root)["1"]["metadata"]["orchestrator"]
    assert meta["reason"].startswith("verification failed twice (best of 2):") and "exit 5" in meta["reason"]
    checks = [e["data"] for e in _events(root) if e["kind"] == "task_verification"]
    assert [d["status"] for d in checks] == ["failed"] * 4 and sorted(d["candidate"] for d in checks) == [
        1,
        1,
        2,
        2,
    ]
    assert picks == []
    branches = git(root, "branch", "--list", "--format=%(refname:short)").split()
    assert sorted(b.rsplit("/", 1)[-1] for b in branches) == [
        "1-c1",
        "1-c2",
        "main",
    ]  # the last round, to read


def test_without_a_manager_the_smallest_passing_change_is_kept(tmp_path: Path, env_fake: Any):  # noqa: F811
    root = make_repo(tmp_path / "p", [_task(1, metadata={"attempts": 2})])
    picks: list[str] = []
    env_fake(_model(picks, [], ["good: one\ntwo\nthree\n", "good: one\n"]))
    res = run_cli(root, "--backend", "api", "--workers", "2", "--no-review")
    assert res.exit_code == 0, res.output
    assert (root / "out.txt").read_text() == "good: one\n" and picks == []
    meta = tasks_of(root)["1"]["metadata"]["orchestrator"]
    assert meta["pick_reason"] == "no manager to compare them; the smallest change (1 changed line)"
    assert meta["verification"] == "none"  # no checks: both attempts could be kept
