"""The README's walkthrough, run line by line in a fresh git repository against the fake model."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from claude_orchestrator.testing.demo_model import demo_model
from claude_orchestrator.testing.fake_anthropic import FakeAnthropic

REPO = Path(__file__).resolve().parent.parent


def walkthrough() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    body = re.search(r"```bash\n(.*?)```", block, re.DOTALL)
    assert body is not None
    return [line for line in body.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_top_gives_exactly_two_setup_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    first = re.search(r"```bash\n(.*?)```", text, re.DOTALL)
    assert first is not None
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines() if line.strip()]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def test_the_env_example_of_the_readme_is_shipped():
    from claude_orchestrator.project import ENV_EXAMPLE

    assert "cp .env.example .env" in (REPO / "README.md").read_text(encoding="utf-8")
    assert (REPO / ".env.example").read_text(encoding="utf-8") == ENV_EXAMPLE


def test_examples_prd_is_the_demo_prd():
    from claude_orchestrator.testing.demo_model import demo_prd

    assert (REPO / "claude_orchestrator" / "examples" / "prd.txt").read_text(encoding="utf-8") == demo_prd()


@pytest.mark.slow
def test_readme_walkthrough_runs(tmp_path: Path):
    repo = tmp_path / "project"
    repo.mkdir()
    (repo / "README.md").write_text("A project of the reader's own.\n")  # nothing from this checkout
    bindir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "SLACK_"))}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", HOME=str(tmp_path), NO_COLOR="1")
    env.update(
        GIT_AUTHOR_NAME="T",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="T",
        GIT_COMMITTER_EMAIL="t@example.com",
    )

    def sh(cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", cmd], cwd=repo, env=env, capture_output=True, text=True, timeout=600
        )

    sh("git init -q && git config user.name T && git config user.email t@example.com")
    assert sh("git add -A && git commit -qm start").returncode == 0
    with FakeAnthropic(model=demo_model) as fake:
        env.update(ANTHROPIC_BASE_URL=fake.base_url, ANTHROPIC_API_KEY="sk-test-readme")
        outputs = {}
        for line in walkthrough():
            proc = sh(line)
            assert proc.returncode == 0, f"{line!r} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            outputs[line] = proc.stdout + proc.stderr
    out = "\n".join(outputs.values())
    assert "Wrote 6 tasks" in out
    assert "Critical path:" in out
    run_line = next(k for k in outputs if k.startswith("claude-orchestrator run --workers"))
    assert "completed" in outputs[run_line]
    log = sh("git log --format=%s").stdout
    assert log.count("[orchestrator] Task ") >= 6
    assert "hello from a generated plan" in out
    assert "ANTHROPIC_API_KEY" not in out or "sk-test-readme" not in out
