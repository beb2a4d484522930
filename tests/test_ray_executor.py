"""The Ray executor on a real Ray runtime started in this process (one per module: it takes ~15 s), with
real git repositories and the real anthropic SDK against the loopback fake model."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from ray_helpers import local_cluster, node_env, pids_with, wait_for
from run_helpers import git, tasks_of
from run_helpers import make_project as make_repo
from run_helpers import task as _task
from test_engine import _writer, run_cli

from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    FakeRequest,
    Reply,
    text_reply,
    tool_use_reply,
)

pytest.importorskip("ray")
pytestmark = pytest.mark.slow
KEY = "sk-test-ray-node"


@pytest.fixture(scope="module")
def fake() -> Any:
    with FakeAnthropic() as f:
        yield f


@pytest.fixture(scope="module")
def ray_here(fake: FakeAnthropic) -> Any:
    """Ray in this process; its workers (the nodes' environment) reach the fake model."""
    with local_cluster({"ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": KEY}) as started:
        yield started


@pytest.fixture(scope="module")
def cluster(ray_here: Any) -> Any:
    return ray_here[0]


@pytest.fixture(scope="module")
def node_tmp(ray_here: Any) -> Path:
    """The workers' temporary folder."""
    return Path(ray_here[1])


@pytest.fixture
def model(fake: FakeAnthropic, cluster: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set the fake's model for this test (the driver reaches the fake too, for reviews)."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    fake.requests.clear()
    fake.latency = 0.0

    def set_model(m: Any, latency: float = 0.0) -> FakeAnthropic:
        fake.model, fake.latency = m, latency
        return fake

    return set_model


def _events(root: Path) -> list[dict[str, Any]]:
    run_dir = sorted((root / ".taskmaster" / "runs").iterdir())[-1]
    return [json.loads(x) for x in (run_dir / "events.ndjson").read_text().splitlines()]


def _tree(root: Path) -> list[str]:
    """The merged files (`.taskmaster/state.json` holds each repository's own creation time)."""
    return [ln for ln in git(root, "ls-tree", "-r", "main").splitlines() if "\t.taskmaster/" not in ln]


FOUR = {str(i): (f"f{i}.txt", f"{i}\n") for i in range(1, 5)}


def _graph() -> list[dict[str, Any]]:
    return [_task(1), _task(2, [1]), _task(3, [1]), _task(4, [2, 3])]


def test_a_run_on_ray_merges_what_a_local_run_merges(tmp_path: Path, model: Any):
    model(_writer(FOUR))
    local = make_repo(tmp_path / "local", _graph())
    assert run_cli(local, "--backend", "api", "--workers", "2").exit_code == 0
    remote = make_repo(tmp_path / "remote", _graph())
    res = run_cli(remote, "--backend", "api", "--workers", "2", "--executor", "ray")
    assert res.exit_code == 0, res.output
    assert all(t["status"] == "done" for t in tasks_of(remote).values())
    assert _tree(remote) == _tree(local)
    subjects = [s for s in git(remote, "log", "--format=%s", "main").splitlines() if "] Task " in s]
    assert sorted(subjects) == sorted(f"[orchestrator] Task {i}: Task number {i}" for i in range(1, 5))
    assert "node:" not in git(remote, "log", "--format=%B", "main")  # the node's commit was unwrapped
    events = _events(remote)
    nodes = {e["data"].get("node") for e in events if e["kind"] == "task_progress"} - {None}
    assert len(nodes) == 1 and re.fullmatch(r".+:[0-9a-f]{8}", nodes.pop())
    assert sum(e["kind"] == "task_reviewed" for e in events) == 4  # integration ran as for local units
    run_dir = sorted((remote / ".taskmaster" / "runs").iterdir())[-1]
    usage = json.loads((run_dir / "usage.json").read_text())
    workers = {r["task_id"] for r in usage["records"] if r["role"] == "worker"}
    assert workers == {"1", "2", "3", "4"}  # the nodes' model usage reached the driver's ledger
    assert (run_dir / "tasks" / "1" / "transcript-1.jsonl").stat().st_size > 0


def test_a_review_retry_starts_on_the_node_from_the_earlier_attempt(tmp_path: Path, model: Any):
    seen: list[str] = []

    def review(tid: str, req: FakeRequest) -> dict[str, Any]:
        seen.append(tid)
        ok = len(seen) > 1
        return {"verdict": "pass" if ok else "fail", "issues": [] if ok else ["add more"], "follow_ups": []}

    inner = _writer({"1": ("a.txt", "a\n")}, review)

    def writer(req: FakeRequest) -> Reply:
        if (
            "add more" in json.dumps(req.messages)
            and not req.tool_results
            and "reviewing" not in req.system_text
        ):
            return tool_use_reply("run_command", {"command": "test -f a.txt && echo more >> a.txt"})
        return inner(req)

    model(writer)
    root = make_repo(tmp_path / "p", [_task(1)])
    res = run_cli(root, "--backend", "api", "--executor", "ray")
    assert res.exit_code == 0, res.output
    assert (root / "a.txt").read_text() == "a\nmore\n"  # the second attempt saw the first one's commit


def _blocking(arrived: threading.Event, release: threading.Event, inner: Any) -> Any:
    calls = []

    def m(req: FakeRequest) -> Reply:
        calls.append(1)
        if len(calls) == 1:
            arrived.set()
            release.wait(120)
        return inner(req)

    return m


def test_a_killed_ray_worker_fails_the_attempt_and_our_retry_policy_reruns_it(
    tmp_path: Path, model: Any, node_tmp: Path
):
    arrived, release = threading.Event(), threading.Event()
    model(_blocking(arrived, release, _writer({"1": ("a.txt", "a\n")})))
    root = make_repo(tmp_path / "p", [_task(1)])
    killed: list[int] = []

    def kill() -> None:
        try:
            arrived.wait(180)
            pids = wait_for(lambda: pids_with(b"ray::NodeAgent"), 60, "the Ray worker running the attempt")
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        finally:
            release.set()

    t = threading.Thread(target=kill)
    t.start()
    res = run_cli(root, "--backend", "api", "--no-review", "--executor", "ray")
    t.join()
    assert killed, "no Ray worker was found running the attempt"
    assert res.exit_code == 0, res.output
    assert tasks_of(root)["1"]["status"] == "done"
    retries = [e for e in _events(root) if e["kind"] == "task_retry"]
    assert len(retries) == 1 and "died mid-task" in retries[0]["data"]["reason"]
    homes = lambda: list(node_tmp.glob("claude-orchestrator-agent-*"))  # noqa: E731
    assert wait_for(lambda: not homes(), 30, "the watchdogs to clear the agents' folders") is True


def test_ctrl_c_cancels_the_remote_task_and_kills_its_processes_on_the_node(tmp_path: Path, model: Any):
    def m(req: FakeRequest) -> Reply:
        if req.tool_results:
            return text_reply("done")
        return tool_use_reply("run_command", {"command": "sleep 817.25"})

    model(m)
    root = make_repo(tmp_path / "p", [_task(1)])
    cfg_path = root / "orchestrator_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["execution"]["shutdown_grace_seconds"] = 0
    cfg_path.write_text(json.dumps(cfg))
    git(root, "commit", "-qam", "no grace")
    seen: list[int] = []

    def interrupt() -> None:
        seen.extend(wait_for(lambda: pids_with(b"sleep\x00817.25"), 180, "the command on the node"))
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C

    t = threading.Thread(target=interrupt)
    t.start()
    res = run_cli(root, "--backend", "api", "--no-review", "--executor", "ray")
    t.join()
    assert seen
    assert res.exit_code == 130, res.output  # stopped
    assert "did not stop" not in res.output and "left behind" not in res.output
    assert pids_with(b"sleep\x00817.25") == []  # killed on the node before the attempt returned
    assert tasks_of(root)["1"]["status"] != "done"
    run_dir = sorted((root / ".taskmaster" / "runs").iterdir())[-1]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "stopped"


def test_a_worktree_that_cannot_be_made_while_the_node_works_fails_that_attempt_only(
    tmp_path: Path, model: Any, monkeypatch: pytest.MonkeyPatch
):
    """A first attempt's worktree is made on the driver while its node works; when that fails, the remote
    task is cancelled (its command on the node killed) and the retry runs as usual."""
    from claude_orchestrator.errors import WorkspaceError
    from claude_orchestrator.workspace.git import GitWorkspace

    writer, asked = _writer(FOUR), []

    def m(req: FakeRequest) -> Reply:
        asked.append(req)
        if len(asked) == 1:  # the first attempt's first turn: a command that runs until it is killed
            return tool_use_reply("run_command", {"command": "sleep 818.5"})
        return writer(req)

    model(m)
    root = make_repo(tmp_path / "p", [_task(1)])
    real = GitWorkspace.prepare
    failed: list[str] = []

    def prepare(ws: GitWorkspace, task_id: str) -> Path:
        if not failed:
            wait_for(lambda: pids_with(b"sleep\x00818.5"), 180, "the command on the node")
            failed.append(task_id)
            raise WorkspaceError("no room left for the worktree")
        return real(ws, task_id)

    monkeypatch.setattr(GitWorkspace, "prepare", prepare)
    res = run_cli(root, "--backend", "api", "--no-review", "--executor", "ray")
    assert failed == ["1"]
    assert res.exit_code == 0, res.output
    assert tasks_of(root)["1"]["status"] == "done"
    assert pids_with(b"sleep\x00818.5") == []  # the cancelled attempt's command is gone from the node
    reasons = [e["data"].get("reason") or "" for e in _events(root) if e["kind"] == "task_retry"]
    assert any("no room left for the worktree" in r for r in reasons), reasons


def test_the_drivers_worktree_is_made_once_the_node_has_its_clone(
    tmp_path: Path, model: Any, node_tmp: Path, monkeypatch: pytest.MonkeyPatch
):
    """A node on the driver's host shares its CPUs: the driver makes a first attempt's worktree once the
    node has cloned (its first message after `placed`), and makes none ahead (a node clones for itself)."""
    from claude_orchestrator.workspace.git import GitWorkspace

    model(_writer(FOUR))
    root = make_repo(tmp_path / "p", _graph())
    real = GitWorkspace.prepare
    clones: dict[str, list[str]] = {}

    def prepare(ws: GitWorkspace, task_id: str) -> Path:
        ref = f"ref: refs/heads/{ws.branch(task_id)}\n"
        heads = node_tmp.glob("claude-orchestrator-agent-*/*/repo/.git/HEAD")
        clones.setdefault(task_id, [str(h) for h in heads if h.read_text() == ref])
        return real(ws, task_id)

    ahead: list[list[str]] = []
    monkeypatch.setattr(GitWorkspace, "prepare", prepare)
    monkeypatch.setattr(GitWorkspace, "prepare_ahead", lambda _ws, ids: ahead.append(ids))
    res = run_cli(root, "--backend", "api", "--workers", "2", "--executor", "ray")
    assert res.exit_code == 0, res.output
    assert sorted(clones) == ["1", "2", "3", "4"]
    assert all(len(found) == 1 for found in clones.values()), clones  # the node's clone was there
    assert ahead == []
    assert all(t["status"] == "done" for t in tasks_of(root).values())


KILL_SCRIPT = r"""
import sys
from claude_orchestrator.cli.main import main
main(["run", "--working-dir", sys.argv[1], "--backend", "api", "--no-progress", "--no-review",
      "--workers", "2", "--executor", "ray", "--ray-address", sys.argv[2]])
"""


def test_driver_kill_9_then_resume_merges_nothing_twice(tmp_path: Path, model: Any, cluster: Any):
    n = 5
    contents = {str(i): (f"f{i}.txt", f"{i}\n") for i in range(1, n + 1)}
    fake = model(_writer(contents), latency=0.3)
    root = make_repo(tmp_path / "p", [_task(i, [i - 1] if i > 1 else []) for i in range(1, n + 1)])
    address = cluster.get_runtime_context().gcs_address
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(root), address],
        env={**os.environ, **node_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def done() -> set[str]:
        try:
            return {k for k, t in tasks_of(root).items() if t["status"] == "done"}
        except (json.JSONDecodeError, KeyError):
            return set()

    try:
        done_before = wait_for(done, 240, "a first task done")
    finally:
        proc.kill()
        proc.wait()
    done_before = done()
    starts_before = len(fake.requests)
    res = run_cli(root, "--backend", "api", "--no-review", "--executor", "ray")
    assert res.exit_code == 0, res.output
    assert "resuming run" in res.output
    assert all(t["status"] == "done" for t in tasks_of(root).values())
    again = {
        m.group(1)
        for r in fake.requests[starts_before:]
        if (m := re.search(r"# Task (\d+):", json.dumps(r.messages)))
    }
    assert not again & done_before, "a finished task ran again"
    subjects = [
        s
        for s in git(root, "log", "--format=%s", "main").splitlines()
        if re.match(r"\[orchestrator\] Task", s)
    ]
    assert len(subjects) == n, subjects
    for i in range(1, n + 1):
        assert (root / f"f{i}.txt").read_text() == f"{i}\n"


def test_one_agent_runs_its_nodes_attempts_side_by_side(tmp_path: Path, model: Any):
    together = threading.Barrier(2, timeout=60)
    agents: list[list[int]] = []
    inner = _writer({"1": ("a.txt", "a\n"), "2": ("b.txt", "b\n")})

    def m(req: FakeRequest) -> Reply:
        if not req.tool_results:  # each task's first request waits for the other's
            together.wait()
            agents.append(pids_with(b"ray::NodeAgent"))
        return inner(req)

    model(m)
    root = make_repo(tmp_path / "p", [_task(1), _task(2)])
    res = run_cli(root, "--backend", "api", "--workers", "2", "--no-review", "--executor", "ray")
    assert res.exit_code == 0, res.output
    assert all(t["status"] == "done" for t in tasks_of(root).values())
    assert len(agents) == 2 and len(agents[0]) == 1, agents  # both in flight in the node's one agent
    assert wait_for(lambda: not pids_with(b"ray::NodeAgent"), 30, "the run's agents to end with it")


def test_slots_follow_the_nodes_resources():
    from claude_orchestrator.run.ray.agents import per_worker, slots_of

    node = {"CPU": 2.0, "claude": 4.0, "memory": 1e9}
    assert slots_of(node, per_worker({}), 16) == 2  # one CPU per worker by default
    assert slots_of(node, per_worker({"claude": 1, "num_cpus": 0}), 16) == 4
    assert slots_of(node, per_worker({"claude": 1, "num_cpus": 0}), 3) == 3  # at most the run's workers
    assert slots_of(node, per_worker({"num_cpus": 0.5}), 16) == 4
    assert slots_of(node, per_worker({"num_cpus": 0}), 5) == 5
    assert slots_of(node, per_worker({"gpu_box": 1}), 16) == 0


def test_a_cluster_with_no_room_for_a_worker_is_one_line_and_exit_2(tmp_path: Path, model: Any):
    root = make_repo(tmp_path / "p", [_task(1)])
    cfg_path = root / "orchestrator_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["execution"]["ray"] = {"worker_resources": {"gpu_box": 1}}
    cfg_path.write_text(json.dumps(cfg))
    git(root, "commit", "-qam", "a resource no node has")
    res = run_cli(root, "--backend", "api", "--executor", "ray")
    assert res.exit_code == 2, res.output
    assert "no node of the Ray cluster can host a worker" in res.output and "gpu_box" in res.output
    assert "Traceback" not in res.output
    assert not list((root / ".taskmaster" / "runs").glob("*"))  # nothing of the run was written
    assert tasks_of(root)["1"]["status"] == "pending"


def test_an_agent_that_cannot_start_is_one_clear_error_before_any_dispatch(cluster: Any):
    from claude_orchestrator.errors import OrchestratorError
    from claude_orchestrator.run.ray.agents import Agents

    agents = Agents({"num_cpus": 0}, 2, backends=("api", "no-such-backend"))
    agents.start()
    try:
        with pytest.raises(OrchestratorError) as caught:
            agents.wait_ready(timeout_s=120)
        said = str(caught.value)
        assert "the Ray agent on node" in said and "could not start" in said, said
        assert "unknown backend 'no-such-backend'" in said and "\n" not in said, said
        agents._refresh()  # what `take` does when it finds no free slot
        assert not agents._agents  # that node gets no new agent: it would fail the same way
    finally:
        agents.close()


def test_an_agent_still_starting_is_said_and_kept(cluster: Any):
    from claude_orchestrator.run.ray.agents import Agents

    agents = Agents({"num_cpus": 0}, 2, backends=("api",))
    agents.start()
    try:
        said = agents.wait_ready(timeout_s=0)  # a process that starts takes longer than no time at all
        assert len(said) == len(agents._agents) == 1, said
        assert "has not started after 0s: the attempts sent to it wait" in said[0]
        assert agents.wait_ready(timeout_s=120) == []  # then it is up, and kept
        assert len(agents._agents) == 1
    finally:
        agents.close()


def test_admission_is_one_bucket_for_every_node(cluster: Any):
    from ray import cloudpickle
    from ray.exceptions import GetTimeoutError

    from claude_orchestrator.config import RateLimitConfig
    from claude_orchestrator.run.ray.admission import RemoteLimiter, start_admission

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    actor = start_admission(RateLimitConfig(requests_per_minute=2), "admission-test")
    try:

        @cluster.remote(num_cpus=0)
        def take(handle: Any, model: str) -> int:
            return RemoteLimiter(handle).acquire(model, 10)

        here = RemoteLimiter(actor)
        assert cluster.get(take.remote(actor, "m")) >= 1  # a worker's request ...
        assert here.acquire("m", 10) >= 1  # ... and the driver's: the minute's two
        with pytest.raises(GetTimeoutError):
            cluster.get(take.remote(actor, "m"), timeout=3)  # a third waits, wherever it comes from
        here.pause("other", 60)  # a 429 seen anywhere holds that model everywhere
        with pytest.raises(GetTimeoutError):
            cluster.get(take.remote(actor, "other"), timeout=3)
    finally:
        cluster.kill(actor)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_task_arguments_carry_no_credentials(tmp_path: Path, cluster: Any, monkeypatch: pytest.MonkeyPatch):
    from claude_orchestrator.config import load_config
    from claude_orchestrator.llm import Ledger
    from claude_orchestrator.run.executor import Job
    from claude_orchestrator.run.parts import open_workspace
    from claude_orchestrator.run.ray.cluster import RayCluster
    from claude_orchestrator.run.ray.executor import Driver, RayExecutor
    from claude_orchestrator.workers.base import WorkUnit

    secret, hook = "sk-ant-secret-value-1234", "https://hooks.example.com/services/T0/B0/secret99"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    root = make_repo(tmp_path / "p", [_task(1)])
    cfg = load_config(root / "orchestrator_config.json")
    cfg.notifications.slack_webhook_url = hook  # type: ignore[assignment]
    ws = open_workspace(root, "r1", cfg, None)
    ex = RayExecutor(RayCluster.connect(None), Driver(cfg, ws, tmp_path, "r1", Ledger("r1")))
    try:
        unit = WorkUnit("1", "1", "Task number 1", backend="api")
        cwd = ws.prepare("1")
        tip = git(root, "rev-parse", "main").strip()
        spec = ex._spec(Job(1, unit, "r1"), git(cwd, "rev-parse", "HEAD").strip(), tip)
        blob = cloudpickle_dumps(spec)
        assert secret.encode() not in blob and hook.encode() not in blob
        assert spec.cfg.notifications.slack_webhook_url is None
    finally:
        ex.close(1)


def cloudpickle_dumps(obj: Any) -> bytes:
    from ray import cloudpickle

    return bytes(cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
