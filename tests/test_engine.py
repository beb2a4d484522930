"""The run engine end to end: real git repositories, the real anthropic SDK (api backend) and the real
Claude Code CLI (claude-code backend) against the loopback fake model."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from run_helpers import TASK_RE, git, make_project, task, tasks_of

from claude_orchestrator.cli.main import cli
from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.testing.demo_model import FILES, PLAN, demo_model, request_text
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    FakeRequest,
    Reply,
    error_reply,
    json_reply,
    text_reply,
    tool_use_reply,
)


def plan_tasks(ids: list[int] | None = None) -> list[dict[str, Any]]:
    out = []
    for t in PLAN:
        if ids is None or t["id"] in ids:
            out.append(
                {
                    **t,
                    "status": "pending",
                    "subtasks": [],
                    "dependencies": [d for d in t["dependencies"] if ids is None or d in ids],
                }
            )
    return out


def worker_starts(fake: FakeAnthropic) -> list[str]:
    """Task ids of worker conversations that started (first request: no tool results yet)."""
    out = []
    for r in fake.requests:
        if r.endpoint != "/v1/messages" or "reviewing manager" in r.system_text or r.tool_results:
            continue
        if not (r.has_tool("write_file") or r.has_tool("Write")):
            continue
        m = TASK_RE.search(request_text(r))
        if m:
            out.append(m.group(1))
    return out


@pytest.fixture
def env_fake(monkeypatch: pytest.MonkeyPatch):
    def start(model: Any, **kw: Any) -> FakeAnthropic:
        fake = FakeAnthropic(model=model, **kw).start()
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-engine")
        monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
        started.append(fake)
        return fake

    started: list[FakeAnthropic] = []
    yield start
    for f in started:
        f.stop()


def run_cli(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["run", "--working-dir", str(root), "--no-progress", *args])


def test_api_backend_runs_graph_commits_one_per_task_and_merges(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", plan_tasks())
    fake = env_fake(demo_model)
    res = run_cli(root, "--backend", "api", "--workers", "3")
    assert res.exit_code == 0, res.output
    tasks = tasks_of(root)
    assert all(t["status"] == "done" for t in tasks.values())
    for tid, (path, content) in FILES.items():
        assert (root / path).read_text() == content  # merged into the starting branch's working tree
        meta = tasks[str(tid)]["metadata"]["orchestrator"]
        assert meta["commit"] and meta["backend"] == "api" and meta["turns"] >= 2
    subjects = git(root, "log", "--format=%s", "main").splitlines()
    task_commits = [s for s in subjects if re.match(r"\[orchestrator\] Task \d+:", s)]
    assert sorted(task_commits) == sorted(f"[orchestrator] Task {t['id']}: {t['title']}" for t in PLAN)
    assert git(root, "status", "--porcelain", "--untracked-files=no").strip() == ""
    # each task commit holds only its own file
    for sha in git(root, "log", "--format=%H", "--grep", "^\\[orchestrator\\] Task", "main").split():
        files = git(root, "show", "--name-only", "--format=", sha).split()
        assert len(files) == 1
    # nothing ran twice; every worker got its dependencies' results
    assert sorted(worker_starts(fake)) == sorted(str(t["id"]) for t in PLAN)
    run_dirs = list((root / ".taskmaster" / "runs").iterdir())
    assert len(run_dirs) == 1
    summary = json.loads((run_dirs[0] / "summary.json").read_text())
    assert summary["status"] == "completed"
    usage = json.loads((run_dirs[0] / "usage.json").read_text())
    roles = {r["role"] for r in usage["records"]}
    assert roles == {"worker", "manager"}


@pytest.mark.skipif(find_claude_cli() is None, reason="Claude Code CLI not available")
def test_claude_code_backend_end_to_end(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", plan_tasks([1, 2, 6]))
    env_fake(demo_model)
    res = run_cli(root, "--backend", "claude-code", "--workers", "2")
    assert res.exit_code == 0, res.output
    for tid in (1, 2, 6):
        path, content = FILES[tid]
        assert (root / path).read_text() == content
        meta = tasks_of(root)[str(tid)]["metadata"]["orchestrator"]
        assert meta["backend"] == "claude-code" and meta["cost_usd"] > 0
    subjects = git(root, "log", "--format=%s", "main").splitlines()
    assert len([s for s in subjects if re.match(r"\[orchestrator\] Task \d+:", s)]) == 3
    run_dir = next((root / ".taskmaster" / "runs").iterdir())
    usage = json.loads((run_dir / "usage.json").read_text())
    worker_models = {r["model"] for r in usage["records"] if r["role"] == "worker"}
    assert worker_models  # Claude Code's own usage booked in our ledger
    assert (run_dir / "tasks" / "1" / "transcript-1.jsonl").stat().st_size > 0


def _writer(contents: dict[str, tuple[str, str]], review: Any = None) -> Any:
    """A model: each task writes one file; reviews answer by `review(task_id, request)`."""

    def model(req: FakeRequest) -> Reply:
        if "reviewing manager" in req.system_text:
            m = re.search(r"^Task (\S+):", req.last_user_text, re.MULTILINE)
            tid = m.group(1) if m else "?"
            return json_reply(
                review(tid, req) if review else {"verdict": "pass", "issues": [], "follow_ups": []}
            )
        text = request_text(req)
        m = TASK_RE.search(text)
        if not m or m.group(1) not in contents:
            return text_reply("nothing to do")
        if req.tool_results:
            return text_reply(f"wrote for {m.group(1)}")
        path, body = contents[m.group(1)]
        if "could not be merged" in text:
            body = "merged: A then B\n"
        return tool_use_reply("write_file", {"path": path, "content": body})

    return model


def test_merge_conflict_sends_task_back_once_on_new_base(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", [task(1), task(2)])
    env_fake(_writer({"1": ("shared.txt", "A\n"), "2": ("shared.txt", "B\n")}))
    res = run_cli(root, "--backend", "api", "--workers", "2", "--no-review")
    assert res.exit_code == 0, res.output
    assert (root / "shared.txt").read_text() in ("merged: A then B\n",)
    events = [
        json.loads(x)
        for x in next((root / ".taskmaster" / "runs").iterdir())
        .joinpath("events.ndjson")
        .read_text()
        .splitlines()
    ]
    assert any(e["kind"] == "warning" and "merge conflict" in e["data"].get("message", "") for e in events)
    assert all(t["status"] == "done" for t in tasks_of(root).values())


def test_failure_blocks_task_and_dependents_only(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", [task(1), task(2, [1]), task(3)])
    inner = _writer({"2": ("b.txt", "b\n"), "3": ("c.txt", "c\n")})

    def model(req: FakeRequest) -> Reply:
        text = request_text(req)
        if "# Task 1:" in text:
            return error_reply(400, "this task cannot be done")
        return inner(req)

    env_fake(model)
    res = run_cli(root, "--backend", "api", "--no-review")
    assert res.exit_code == 1
    tasks = tasks_of(root)
    assert tasks["1"]["status"] == "blocked"
    assert "cannot be done" in tasks["1"]["metadata"]["orchestrator"]["reason"]
    assert tasks["2"]["status"] == "pending"  # reported as blocked by 1, left for a later run
    assert tasks["3"]["status"] == "done"
    assert "blocked: 2 (by 1)" in res.output and "failed: 1:" in res.output


def test_review_failure_goes_back_once_and_follow_ups_become_tasks(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", [task(1, acceptanceCriteria=["file says hello"])])
    seen: list[str] = []

    def review(tid: str, req: FakeRequest) -> dict[str, Any]:
        seen.append(tid)
        if len(seen) == 1:
            return {"verdict": "fail", "issues": ["say hello louder"], "follow_ups": []}
        follow = [{"title": "Add docs", "description": "Document hello", "priority": "low"}]
        return {"verdict": "pass", "issues": [], "follow_ups": follow if len(seen) == 2 else []}

    contents = {"1": ("hello.txt", "hello\n"), "2": ("docs.txt", "docs\n")}
    fake = env_fake(_writer(contents, review))
    res = run_cli(root, "--backend", "api")
    assert res.exit_code == 0, res.output
    tasks = tasks_of(root)
    assert tasks["1"]["status"] == "done"
    assert tasks["2"]["title"] == "Add docs" and tasks["2"]["dependencies"] == [1]
    assert tasks["2"]["status"] == "done"  # the follow-up ran in the same run
    retry = [r for r in fake.requests if "say hello louder" in json.dumps(r.messages)]
    assert retry, "the review's issues reached the worker"


def test_dirty_tree_is_refused_and_nothing_runs(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", [task(1)])
    (root / "user_notes.txt").write_text("mine")
    fake = env_fake(_writer({"1": ("a.txt", "a")}))
    res = run_cli(root, "--backend", "api")
    assert res.exit_code == 2
    assert "user_notes.txt" in res.output
    assert fake.requests == []
    assert tasks_of(root)["1"]["status"] == "pending"


def test_dry_run_prints_schedule_and_critical_path(tmp_path: Path):
    root = make_project(tmp_path / "p", plan_tasks())
    res = run_cli(root, "--dry-run", "--backend", "api")
    assert res.exit_code == 0, res.output
    assert "Critical path: 1 -> 2 -> 3 -> 4" in res.output or "Critical path: 1 -> 2 -> 3 -> 5" in res.output
    assert "nothing was executed" in res.output
    assert not (root / ".taskmaster" / "runs").exists()


def test_cycle_in_database_is_bad_input(tmp_path: Path):
    root = make_project(tmp_path / "p", [task(1, [2]), task(2, [1])])
    res = run_cli(root, "--backend", "api")
    assert res.exit_code == 2
    assert "cycle" in res.output


def test_id_with_deps_selects_unfinished_dependencies(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", [task(1), task(2, [1]), task(3)])
    env_fake(_writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n"), "3": ("c.txt", "c\n")}))
    res = run_cli(root, "--backend", "api", "--no-review", "--id", "2", "--with-deps")
    assert res.exit_code == 0, res.output
    tasks = tasks_of(root)
    assert (tasks["1"]["status"], tasks["2"]["status"], tasks["3"]["status"]) == ("done", "done", "pending")


def test_budget_stops_new_work(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", [task(1), task(2, [1]), task(3, [2])])
    env_fake(_writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n"), "3": ("c.txt", "c\n")}))
    res = run_cli(root, "--backend", "api", "--no-review", "--budget-usd", "0.005")
    assert res.exit_code == 1, res.output
    statuses = [t["status"] for t in tasks_of(root).values()]
    assert statuses.count("done") < 3
    assert "budget" in res.output.lower()


KILL_SCRIPT = r"""
import sys
from claude_orchestrator.cli.main import main
main(["run", "--working-dir", sys.argv[1], "--backend", "api", "--no-progress", "--no-review", "--workers", "2"])
"""


@pytest.mark.parametrize("kill_after", [1, 3])
def test_kill_9_then_resume_runs_nothing_twice(tmp_path: Path, env_fake: Any, kill_after: int):
    n = 6
    root = make_project(tmp_path / "p", [task(i, [i - 1] if i > 1 else []) for i in range(1, n + 1)])
    contents = {str(i): (f"f{i}.txt", f"{i}\n") for i in range(1, n + 1)}
    fake = env_fake(_writer(contents), latency=0.15)
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # wait until `kill_after` tasks are done in tasks.json, then kill -9
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            done = sum(t["status"] == "done" for t in tasks_of(root).values())
        except (json.JSONDecodeError, KeyError):
            done = 0
        if done >= kill_after:
            break
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    done_before = {k for k, t in tasks_of(root).items() if t["status"] == "done"}
    assert len(done_before) >= kill_after
    starts_before = worker_starts(fake)
    res = run_cli(root, "--backend", "api", "--no-review")
    assert res.exit_code == 0, res.output
    assert "resuming run" in res.output
    assert all(t["status"] == "done" for t in tasks_of(root).values())
    starts_after = worker_starts(fake)[len(starts_before) :]
    assert not set(starts_after) & done_before, "a finished task ran again"
    for i in range(1, n + 1):
        assert (root / f"f{i}.txt").read_text() == f"{i}\n"
    subjects = git(root, "log", "--format=%s", "main").splitlines()
    per_task = [s for s in subjects if re.match(r"\[orchestrator\] Task \d+:", s)]
    assert len(per_task) == n, subjects


def test_slack_hears_completions_and_the_url_stays_secret(tmp_path: Path, env_fake: Any, monkeypatch):
    from claude_orchestrator.testing.fake_slack import FakeSlack

    root = make_project(tmp_path / "p", [task(1), task(2, [1])])
    env_fake(_writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n")}))
    with FakeSlack() as slack:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", slack.url)
        slack.fail_next(500)  # retried with backoff, never fails the run
        res = run_cli(root, "--backend", "api", "--no-review")
        assert res.exit_code == 0, res.output
        assert slack.wait_for_posts(3, timeout=30)
        texts = [json.dumps(p) for p in slack.posts]
    assert sum("Task 1" in t or "task 1" in t for t in texts) >= 1
    assert any("complete" in t.lower() for t in texts)
    run_dir = next((root / ".taskmaster" / "runs").iterdir())
    for f in run_dir.rglob("*"):
        if f.is_file():
            assert slack.url not in f.read_text(errors="replace")
    assert slack.url not in res.output


def test_tracked_tasks_json_neither_blocks_merges_nor_loses_status(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", [task(1), task(2), task(3, [1, 2])], track_tasks=True)
    env_fake(_writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n"), "3": ("c.txt", "c\n")}))
    res = run_cli(root, "--backend", "api", "--no-review", "--workers", "2")
    assert res.exit_code == 0, res.output
    assert all(t["status"] == "done" for t in tasks_of(root).values())
    committed = json.loads(git(root, "show", "main:.taskmaster/tasks/tasks.json"))
    assert [t["status"] for t in committed["master"]["tasks"]] == ["done", "done", "done"]
    assert git(root, "status", "--porcelain", "--untracked-files=no").strip() == ""


def test_outside_git_runs_in_the_directory_and_says_so(tmp_path: Path, env_fake: Any):
    from claude_orchestrator.project import init_orchestrator

    root = tmp_path / "plain"
    root.mkdir()
    init_orchestrator(root, "plain")
    (root / ".taskmaster" / "tasks" / "tasks.json").write_text(
        json.dumps({"master": {"tasks": [task(1), task(2)], "metadata": {}}})
    )
    env_fake(_writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n")}))
    res = run_cli(root, "--backend", "api", "--no-review")
    assert res.exit_code == 0, res.output
    assert "not in a git repository" in res.output
    assert (root / "a.txt").read_text() == "a\n" and (root / "b.txt").read_text() == "b\n"


def test_build_plan_task_runs_through_the_stack_runner(tmp_path: Path, env_fake: Any):
    plan = {
        "name": "hello",
        "files": [{"filename": "main.py", "code": "print('built')\n"}],
        "run": "python3 main.py",
    }
    root = make_project(tmp_path / "p", [task(1, metadata={"plan": plan})])
    fake = env_fake(_writer({}))
    res = run_cli(root, "--no-review")
    assert res.exit_code == 0, res.output
    meta = tasks_of(root)["1"]["metadata"]["orchestrator"]
    assert meta["backend"] == "build"
    build = meta["build"]
    assert build["ok"] and build["stacks"] == ["python"] and build["run_command"] == "python3 main.py"
    assert (Path(build["folder"]) / "main.py").read_text() == "print('built')\n"
    assert fake.requests == []  # no model involved


def test_review_sees_the_commands_the_worker_ran(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", [task(1)])
    reviews: list[str] = []

    def model(req: FakeRequest) -> Reply:
        if "reviewing manager" in req.system_text:
            reviews.append(req.last_user_text)
            return json_reply({"verdict": "pass", "issues": [], "follow_ups": []})
        results = req.tool_results
        if not results:
            return tool_use_reply("run_command", {"command": "echo '7 passed'"})
        if len([m for m in req.messages if m.get("role") == "assistant"]) == 1:
            return tool_use_reply("write_file", {"path": "t.txt", "content": "t\n"})
        return text_reply("done")

    env_fake(model)
    res = run_cli(root, "--backend", "api")
    assert res.exit_code == 0, res.output
    assert len(reviews) == 1
    assert "$ echo '7 passed'" in reviews[0] and "7 passed" in reviews[0]


def test_claude_code_rate_limit_notices_pause_the_pool_and_reach_the_display(tmp_path: Path):
    import time

    from claude_orchestrator.config import OrchestratorConfig
    from claude_orchestrator.events import RATE_LIMITED
    from claude_orchestrator.observers.snapshot import SnapshotBuilder
    from claude_orchestrator.run.engine import RunEngine, RunOptions
    from claude_orchestrator.taskmaster.store import TaskStore
    from claude_orchestrator.workers.claude_code import parse_rate_limit

    root = make_project(tmp_path / "p", [task(1)])
    engine = RunEngine(TaskStore.discover(root), OrchestratorConfig(), RunOptions())
    builder = SnapshotBuilder()
    engine.bus.subscribe(builder)
    seen = []
    engine.bus.subscribe(lambda e: seen.append(e) if e.kind == RATE_LIMITED else None)
    resets = time.time() + 120
    warn = parse_rate_limit(
        {
            "type": "rate_limit_event",
            "rate_limit_info": {
                "status": "allowed_warning",
                "resetsAt": resets,
                "rateLimitType": "five_hour",
                "utilization": 0.85,
            },
        }
    )
    assert warn is not None
    engine.gate.note_rate_info(warn)  # what the Claude Code backend calls
    assert seen[-1].data["usage_window_pct"] == 85.0
    assert builder.snapshot().usage.usage_window_pct == 85.0
    engine.gate.note_rate_limit(resets, "five_hour")
    reason = engine.gate.hold_reason()
    assert reason is not None and "five_hour" in reason


def test_rejected_credentials_stop_the_run_instead_of_failing_every_task(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", [task(i) for i in range(1, 6)])
    fake = env_fake(lambda req: error_reply(401, "invalid x-api-key"))
    res = run_cli(root, "--backend", "api", "--no-review", "--workers", "1")
    assert res.exit_code == 1
    assert "refused the credentials (401)" in res.output
    worker_calls = [r for r in fake.requests if r.endpoint == "/v1/messages"]
    assert len(worker_calls) <= 2  # no retries of a 401, and no further tasks started
    assert sum(t["status"] == "pending" for t in tasks_of(root).values()) >= 4


def test_branch_option_merges_into_a_new_branch_and_leaves_the_current_one(tmp_path: Path, env_fake: Any):
    root = make_project(tmp_path / "p", [task(1), task(2, [1])])
    env_fake(_writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n")}))
    main_before = git(root, "rev-parse", "main").strip()
    res = run_cli(root, "--backend", "api", "--no-review", "--branch", "feature/work")
    assert res.exit_code == 0, res.output
    assert "merged into branch: feature/work" in res.output
    assert git(root, "rev-parse", "main").strip() == main_before
    assert (
        git(root, "show", "feature/work:a.txt") == "a\n" and git(root, "show", "feature/work:b.txt") == "b\n"
    )
    assert not (root / "a.txt").exists()  # the checked-out branch (main) did not change


def test_ctrl_c_stops_dispatch_and_leaves_files_consistent(tmp_path: Path, env_fake: Any):
    import signal
    import time

    n = 5
    root = make_project(tmp_path / "p", [task(i, [i - 1] if i > 1 else []) for i in range(1, n + 1)])
    env_fake(_writer({str(i): (f"f{i}.txt", f"{i}\n") for i in range(1, n + 1)}), latency=0.3)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if any(t["status"] == "done" for t in tasks_of(root).values()):
                break
        except (json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130  # stopped by the person (not completed, not a failure)
    statuses = [t["status"] for t in tasks_of(root).values()]
    assert statuses.count("done") < n  # dispatch stopped
    assert not (root / ".taskmaster" / "tasks" / "tasks.json.lock").exists()
    run_dir = next((root / ".taskmaster" / "runs").iterdir())
    assert json.loads((run_dir / "run.json").read_text())["status"] == "stopped"
    assert json.loads((run_dir / "summary.json").read_text())["run_id"] == run_dir.name
    # a later run finishes the rest
    res = run_cli(root, "--backend", "api", "--no-review")
    assert res.exit_code == 0, res.output
    assert all(t["status"] == "done" for t in tasks_of(root).values())


def test_a_stale_index_lock_from_a_killed_git_does_not_fail_the_run(tmp_path: Path, env_fake: Any):
    """`touch .git/index.lock; run` (what `kill -9` during a git command leaves) used to fail every task."""
    root = make_project(tmp_path / "p", [task(1), task(2)], track_tasks=True)
    (root / ".git" / "index.lock").write_text("")
    env_fake(_writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n")}))
    res = run_cli(root, "--backend", "api", "--no-review", "--workers", "2")
    assert res.exit_code == 0, res.output
    assert "index.lock" in res.output
    assert all(t["status"] == "done" for t in tasks_of(root).values())
    assert not (root / ".git" / "index.lock").exists()
