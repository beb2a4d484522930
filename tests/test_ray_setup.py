"""Choosing the Ray executor, without a cluster: never imported on the default path, one clear line and
exit 2 when it cannot be used, nothing of the run written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from run_helpers import make_project as make_repo
from run_helpers import task as _task

from claude_orchestrator.config import OrchestratorConfig

RUN = r"""
import sys
{prelude}
from claude_orchestrator.cli.main import main
main(["run", "--working-dir", sys.argv[1], "--backend", "api", "--no-progress", *sys.argv[2:]])
"""


def _run(root: Path, *args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    return subprocess.run(
        [sys.executable, "-c", RUN.format(prelude=prelude), str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_ray_is_never_imported_on_the_default_path():
    code = (
        "import sys\n"
        "import claude_orchestrator.cli.main, claude_orchestrator.run.engine, claude_orchestrator.run.parts\n"
        "import claude_orchestrator.run.executor, claude_orchestrator.workspace.bundles\n"
        "from click.testing import CliRunner\n"
        "CliRunner().invoke(claude_orchestrator.cli.main.cli, ['run', '--help'])\n"
        "print('ray' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_without_the_extra_executor_ray_is_one_line_and_exit_2(tmp_path: Path):
    root = make_repo(tmp_path / "p", [_task(1)])
    res = _run(root, "--executor", "ray", prelude="sys.modules['ray'] = None  # as if not installed")
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    assert lines == ['Error: the Ray executor needs the ray extra: pip install "claude-orchestrator[ray]"']
    assert not (root / ".taskmaster" / "runs").exists()


def test_a_ray_address_nothing_listens_on_is_exit_2_before_anything_is_written(tmp_path: Path):
    import socket

    root = make_repo(tmp_path / "p", [_task(1)])
    with socket.socket() as s:  # bound, never listening: a connection is refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        res = _run(root, "--executor", "ray", "--ray-address", f"127.0.0.1:{port}")
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in res.stdout + res.stderr
    assert not (root / ".taskmaster" / "runs").exists()


def test_ray_client_addresses_are_refused_in_one_line(tmp_path: Path):
    root = make_repo(tmp_path / "p", [_task(1)])
    res = _run(root, "--executor", "ray", "--ray-address", "ray://127.0.0.1:10001")
    assert res.returncode == 2, res.stdout + res.stderr
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "Ray Client (ray://) cannot run the Ray executor" in lines[0]
    assert not (root / ".taskmaster" / "runs").exists()


def test_ray_needs_the_git_workspace(tmp_path: Path):
    root = make_repo(tmp_path / "p", [_task(1)])
    cfg = root / "orchestrator_config.json"
    cfg.write_text(cfg.read_text().replace('"auto_commit": true', '"auto_commit": false'))
    res = _run(root, "--executor", "ray")
    assert res.returncode == 2
    assert "git.auto_commit and git.use_worktrees must be on" in res.stdout + res.stderr


def test_the_config_keys_and_their_defaults():
    ex = OrchestratorConfig().execution
    assert ex.executor == "local"
    assert (ex.ray.address, ex.ray.worker_resources, ex.ray.forward_env) == (None, {}, [])
    cfg = OrchestratorConfig.model_validate(
        {"execution": {"executor": "ray", "ray": {"address": "auto", "worker_resources": {"claude": 1}}}}
    )
    assert cfg.execution.ray.worker_resources == {"claude": 1.0}


def test_without_an_address_a_leftover_cluster_file_is_not_followed():
    """Ray would try the cluster named in <tmp>/ray/ray_current_cluster for minutes when it is gone; with
    no address given, a run starts its own Ray instance instead (or follows RAY_ADDRESS when set)."""
    import shutil
    import tempfile

    import pytest
    from ray_helpers import node_env

    pytest.importorskip("ray")

    temp = tempfile.mkdtemp(prefix="rayt-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    try:
        (Path(temp) / "ray").mkdir()
        (Path(temp) / "ray" / "ray_current_cluster").write_text("127.0.0.1:9")  # nothing listens there
        code = (
            "from claude_orchestrator.run.ray.cluster import RayCluster\n"
            "c = RayCluster.connect(None)\n"
            "print(c.address)\n"
            "c.close()\n"
        )
        env = {**os.environ, **node_env(), "RAY_TMPDIR": temp}
        env.pop("RAY_ADDRESS", None)
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip().splitlines()[-1] == "local"
    finally:
        shutil.rmtree(temp, ignore_errors=True)
