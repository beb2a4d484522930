"""`claude-orchestrator demo`: the whole system on a small PRD, in a fresh git repository.

Offline (no credentials): the manager and the workers talk to the embedded fake model
(claude_orchestrator.testing) through the real anthropic SDK and the real Claude Code CLI. With
credentials (see credentials.py: an API key, a token, Bedrock or Vertex), the same steps drive real Claude."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, OrchestratorError

DEMO_ENV = {
    "ANTHROPIC_API_KEY": "sk-ant-demo-offline-fake-key-not-real",
}


@dataclass
class DemoResult:
    repo: Path
    offline: bool
    backend: str
    report: Any
    tasks: list[Any]
    git_log: list[str]


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise OrchestratorError(f"git {' '.join(args)} failed: {proc.stderr.strip()[:300]}")
    return proc.stdout


def prepare_repo(repo: Path) -> None:
    """A git repository with the project initialised and committed, and the demo PRD in place."""
    from .project import init_orchestrator
    from .testing.demo_model import demo_prd

    repo.mkdir(parents=True, exist_ok=True)
    if any(repo.iterdir()):
        raise InputError(f"{repo}: the demo needs an empty folder")
    _git(repo, "init", "-q")
    # a local identity so commits work on a machine without git config (the user's own wins if set)
    for key, value in (("user.name", "claude-orchestrator demo"), ("user.email", "demo@localhost")):
        probe = subprocess.run(["git", "-C", str(repo), "config", key], capture_output=True, text=True)
        if not probe.stdout.strip():
            _git(repo, "config", key, value)
    init_orchestrator(repo, "wordfreq-demo")
    (repo / ".taskmaster" / "docs" / "prd.txt").write_text(demo_prd(), encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "Start the demo project")


@contextlib.contextmanager
def offline_model() -> Iterator[str]:
    """The embedded fake model, with this process's environment pointing at it while the demo runs."""
    from .testing.demo_model import demo_model
    from .testing.fake_anthropic import FakeAnthropic

    saved = {k: os.environ.get(k) for k in ("ANTHROPIC_BASE_URL", *DEMO_ENV)}
    with FakeAnthropic(model=demo_model) as fake:
        os.environ.update(DEMO_ENV, ANTHROPIC_BASE_URL=fake.base_url)
        try:
            yield fake.base_url
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def demo_model_choice(offline: bool | None = None) -> tuple[bool, str]:
    """(offline, the model named for people): the embedded fake unless the credential rule finds a source
    (or `offline` says so)."""
    from .credentials import detect_credentials

    creds = detect_credentials()
    if offline is None:
        offline = not creds.available
    return offline, "offline, embedded fake model" if offline else f"real Claude; {creds.describe()}"


def run_demo(
    repo: Path | None,
    *,
    workers: int = 3,
    no_progress: bool = False,
    console: Any = None,
    offline: bool | None = None,
    backend: str | None = None,
    record: Path | None = None,
) -> DemoResult:
    from .config import OrchestratorConfig
    from .environment import find_claude_cli
    from .llm import LLM, Ledger, Recorder
    from .manager import Manager, service
    from .run.engine import RunEngine, RunOptions
    from .taskmaster.store import TaskStore

    offline, model = demo_model_choice(offline)
    repo = Path(repo) if repo is not None else Path(tempfile.mkdtemp(prefix="orchestrator-demo-"))
    prepare_repo(repo.resolve())
    repo = repo.resolve()
    cfg = OrchestratorConfig()
    backend = backend or ("claude-code" if find_claude_cli() is not None else "api")

    def say(text: str) -> None:
        if console is not None:
            console.print(text, markup=False, highlight=False)
        else:
            print(text)

    with offline_model() if offline else contextlib.nullcontext():
        say(f"Demo project: {repo}  ({model})")
        store = TaskStore.discover(repo)
        ledger = Ledger()
        recorder = Recorder(record.with_suffix(".manager.jsonl")) if record else None
        llm = LLM.from_config(cfg, ledger=ledger, recorder=recorder)
        manager = Manager(llm=llm, cfg=cfg, project_root=repo)
        say("The manager reads the PRD and plans the task graph ...")
        try:
            tasks = service.parse_prd(manager, store)
        finally:
            llm.close()
        for t in tasks:
            deps = ", ".join(str(d) for d in t.dependencies) or "-"
            say(f"  task {t.id}: {t.title}  (after: {deps})")
        if recorder is not None:
            recorder.close()
        options = RunOptions(
            workers=workers, backend=backend, no_progress=no_progress, console=console, record=record
        )
        engine = RunEngine(store, cfg, options)
        report = engine.run()
        report.cost_usd += ledger.cost_usd()
    log = _git(repo, "log", "--oneline").splitlines()
    return DemoResult(repo, offline, backend, report, tasks, log)
