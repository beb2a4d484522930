"""`claude-orchestrator demo`: the whole system offline, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from claude_orchestrator.testing.demo_model import FILES, PLAN


def test_demo_runs_offline_end_to_end(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "SLACK_"))}
    env["HOME"] = str(tmp_path / "home")
    keep = tmp_path / "demo"
    record = tmp_path / "exchanges.jsonl"
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "claude_orchestrator",
            "demo",
            "--keep",
            str(keep),
            "--no-progress",
            "--record",
            str(record),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "offline, embedded fake model" in out and "Where everything is" in out
    for t in PLAN:
        assert f"task {t['id']}: {t['title']}" in out  # the manager's graph is shown
    for path, content in FILES.values():
        assert (keep / path).read_text() == content
    log = subprocess.run(
        ["git", "-C", str(keep), "log", "--format=%s"], capture_output=True, text=True
    ).stdout
    assert sum(1 for line in log.splitlines() if line.startswith("[orchestrator] Task ")) == len(PLAN)
    merges = sum(1 for line in log.splitlines() if line.startswith("[orchestrator] Merge task "))
    assert "one commit per task" not in out  # there are merge commits too, and it says how many
    assert f"({len(PLAN)} task commits" + (f", {merges} merge commit" if merges else "") in out
    tasks = json.loads((keep / ".taskmaster" / "tasks" / "tasks.json").read_text())["master"]["tasks"]
    assert all(t["status"] == "done" for t in tasks)
    assert "cost $" in out
    assert "checks: 5 verified, 0 failed verification, 1 without checks" in out  # USAGE.md has none
    manager_log = record.with_suffix(".manager.jsonl")
    assert manager_log.is_file() and manager_log.read_text().count("\n") >= 1
    assert "sk-ant-demo-offline" not in out + proc.stderr
    assert elapsed < 120, f"the demo took {elapsed:.0f}s"
