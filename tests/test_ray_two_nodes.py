"""Two Ray nodes on this machine (`ray start --head` and a second `ray start --address …` with a custom
resource, each with its own temp folder), the run connected by --ray-address: every unit is forced onto the
second node by `execution.ray.worker_resources`, through the real Claude Code CLI and through the api
backend, both against the loopback fake model; what is merged equals what a local run merges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ray_helpers import node_env, ray_nodes, wait_for
from run_helpers import git, make_project, tasks_of
from test_engine import plan_tasks, run_cli

from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.testing.demo_model import FILES, demo_model
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic

pytest.importorskip("ray")
pytestmark = pytest.mark.slow
KEY = "sk-test-ray-two-nodes"
IDS = [1, 2, 6]  # 2 waits for 1 (its base moves), 6 runs beside them


@pytest.fixture(scope="module")
def fake() -> Any:
    with FakeAnthropic(model=demo_model) as f:
        yield f


@pytest.fixture(scope="module")
def claude_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("claude-config")


@pytest.fixture(scope="module")
def cluster(fake: FakeAnthropic, claude_home: Path) -> Any:
    """(the head's address, the second node's id). The nodes' own environment reaches the fake model."""
    import ray

    env = {
        "ANTHROPIC_BASE_URL": fake.base_url,
        "ANTHROPIC_API_KEY": KEY,
        "CLAUDE_CONFIG_DIR": str(claude_home),
    }
    second = ["--num-cpus=2", '--resources={"node2": 4}']
    with ray_nodes(env, ["--num-cpus=1"], [second]) as address, pytest.MonkeyPatch.context() as mp:
        for k, v in node_env().items():
            mp.setenv(k, v)
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        try:

            def node2() -> str | None:
                alive = [n for n in ray.nodes() if n["Alive"]]
                found = [n["NodeID"] for n in alive if "node2" in n["Resources"]]
                return found[0] if len(alive) == 2 and found else None

            node2_id = wait_for(node2, 180, "the second node to join")
        finally:
            ray.shutdown()  # the runs connect by themselves, with --ray-address
        yield address, node2_id


@pytest.fixture
def driver_env(fake: FakeAnthropic, claude_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver reaches the fake too (reviews; the local runs' workers)."""
    for k, v in node_env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_home))


def _project(root: Path) -> Path:
    """The demo's tasks; every worker of a Ray run needs one "node2" (only the second node has it)."""
    ray = {"address": None, "worker_resources": {"node2": 1}, "forward_env": []}
    # no wait for a shared prompt cache
    return make_project(root, plan_tasks(IDS), execution={"ray": ray, "claude_code_stagger_seconds": 0})


def _tree(root: Path) -> list[str]:
    """The merged files (`.taskmaster/` holds each repository's own run records)."""
    return [ln for ln in git(root, "ls-tree", "-r", "main").splitlines() if "\t.taskmaster/" not in ln]


BACKENDS = [
    pytest.param(
        "claude-code",
        marks=pytest.mark.skipif(find_claude_cli() is None, reason="Claude Code CLI not available"),
    ),
    "api",
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_units_forced_onto_the_second_node_merge_what_a_local_run_merges(
    tmp_path: Path, cluster: Any, driver_env: None, backend: str
):
    address, node2_id = cluster
    local = _project(tmp_path / "local")
    res = run_cli(local, "--backend", backend, "--workers", "2")
    assert res.exit_code == 0, res.output
    remote = _project(tmp_path / "remote")
    res = run_cli(
        remote, "--backend", backend, "--workers", "2", "--executor", "ray", "--ray-address", address
    )
    assert res.exit_code == 0, res.output
    assert all(t["status"] == "done" for t in tasks_of(remote).values())
    assert _tree(remote) == _tree(local)
    for tid in IDS:
        path, content = FILES[tid]
        assert (remote / path).read_text() == content
        meta = tasks_of(remote)[str(tid)]["metadata"]["orchestrator"]
        assert meta["backend"] == backend
    run_dir = next((remote / ".taskmaster" / "runs").iterdir())
    events = [json.loads(x) for x in (run_dir / "events.ndjson").read_text().splitlines()]
    placed = {
        e["task_id"]: e["data"]["node"]
        for e in events
        if e["kind"] == "task_progress" and e["data"].get("node")
    }
    assert sorted(placed) == sorted(str(i) for i in IDS)
    assert all(label.endswith(":" + node2_id[:8]) for label in placed.values()), (placed, node2_id)
    usage = json.loads((run_dir / "usage.json").read_text())
    assert {r["task_id"] for r in usage["records"] if r["role"] == "worker"} == {str(i) for i in IDS}
