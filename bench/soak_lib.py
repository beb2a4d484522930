"""Pieces of bench/soak.py: generated projects, the fake model (with fault injection), runs as processes,
and the checks of a finished run."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claude_orchestrator.events import RunWarning
from claude_orchestrator.testing.demo_model import FILES, demo_model, request_text
from claude_orchestrator.testing.fake_anthropic import (
    FakeAnthropic,
    FakeRequest,
    Reply,
    error_reply,
    reset_reply,
    stream_error_reply,
)
from claude_orchestrator.workers.base import WorkUnit

TASK_RE = re.compile(r"^# Task (\d+(?:\.\d+)?):", re.MULTILINE)
PER_TASK = re.compile(r"\[orchestrator\] Task (\d+):")
KEY = "sk-soak-canary-key-0001"  # the run's model key: it must never reach a command
CANARIES = {
    "GITHUB_TOKEN": "soak-canary-2",
    "AWS_SECRET_ACCESS_KEY": "soak-canary-3",
    "MY_PASSWORD": "soak-canary-4",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def make_project(root: Path, n: int, *, chain: bool = False, track_tasks: bool = True) -> Path:
    """A git repository with orchestrator_config.json and `n` tasks (independent, or a chain)."""
    from claude_orchestrator.project import init_orchestrator

    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Soak")
    git(root, "config", "user.email", "soak@example.com")
    init_orchestrator(root, "soak")
    cfg_path = root / "orchestrator_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["execution"]["retry_backoff_seconds"] = 0.2
    cfg_path.write_text(json.dumps(cfg))
    tasks = [
        {
            "id": i,
            "title": f"Task number {i}",
            "description": f"Write the file of task {i}",
            "status": "pending",
            "priority": "medium",
            "dependencies": [i - 1] if chain and i > 1 else [],
            "details": "",
            "testStrategy": "",
            "subtasks": [],
        }
        for i in range(1, n + 1)
    ]
    path = root / ".taskmaster" / "tasks" / "tasks.json"
    path.write_text(json.dumps({"master": {"tasks": tasks, "metadata": {}}}, indent=2))
    git(root, "add", "-A")
    if not track_tasks:
        git(root, "rm", "-q", "--cached", str(path))
    git(root, "commit", "-q", "-m", "start")
    return root


def expected_file(uid: str) -> tuple[str, str]:
    if uid.isdigit() and int(uid) in FILES:
        return FILES[int(uid)]
    return f"notes/task-{uid}.md", f"# Task {uid}\n\nDone by the demo worker.\n"


class faulty:  # noqa: N801 (used as a function)
    """`model`, except that a share `rate` of requests get a transient fault (500, 529, 429, a broken
    stream or a connection reset), which the client must retry. `injected` counts them."""

    FAULTS: tuple[Callable[[], Reply], ...] = (
        lambda: error_reply(500),
        lambda: error_reply(529),
        lambda: error_reply(429, retry_after=0.2),
        stream_error_reply,
        reset_reply,
    )

    def __init__(self, model: Callable[[FakeRequest], Reply], rate: float, seed: int = 0) -> None:
        self.model, self.rate, self.injected = model, rate, 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, req: FakeRequest) -> Reply:
        with self._lock:
            hit = self._rng.random() < self.rate
            pick = self._rng.choice(self.FAULTS)
            self.injected += hit
        return pick() if hit else self.model(req)


def worker_starts(fake: FakeAnthropic) -> list[str]:
    """Task ids of worker conversations that started (a first request, no tool result yet)."""
    out = []
    for r in list(fake.requests):
        if r.endpoint != "/v1/messages" or r.tool_results or "reviewing manager" in r.system_text:
            continue
        if r.has_tool("write_file") or r.has_tool("Write"):
            m = TASK_RE.search(request_text(r))
            if m:
                out.append(m.group(1))
    return out


def model_env(fake: FakeAnthropic, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(ANTHROPIC_BASE_URL=fake.base_url, ANTHROPIC_API_KEY=KEY, **CANARIES, **extra)
    return env


def start_run(root: Path, backend: str, workers: int, env: dict[str, str]) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "claude_orchestrator", "run", "--no-progress", "--backend", backend]
    return subprocess.Popen(
        [*argv, "--workers", str(workers)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run(root: Path, backend: str, workers: int, env: dict[str, str], timeout: float = 900) -> tuple[int, str]:
    proc = start_run(root, backend, workers, env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return -1, out + err + "\n(timed out)"
    return proc.returncode, out + err


def statuses(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / ".taskmaster" / "tasks" / "tasks.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return {str(t["id"]): t["status"] for t in data["master"]["tasks"]}


@dataclass
class Check:
    """What a finished run left: every problem found, one line each."""

    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def check_finished(root: Path, n: int, code: int, output: str, *, ran_again: set[str] = frozenset()) -> Check:  # type: ignore[assignment]
    c = Check()
    if code != 0:
        c.problems.append(f"exit {code}: {output.strip().splitlines()[-1:]}")
    if "Traceback" in output:
        c.problems.append("a traceback")
    st = statuses(root)
    if sorted(st.values()) != ["done"] * n:
        c.problems.append(f"statuses {st}")
    for i in range(1, n + 1):
        path, body = expected_file(str(i))
        if not (root / path).is_file() or (root / path).read_text() != body:
            c.problems.append(f"file of task {i} missing or wrong")
    commits = PER_TASK.findall(git(root, "log", "--format=%s", "main"))
    if sorted(commits, key=int) != [str(i) for i in range(1, n + 1)]:
        c.problems.append(f"per-task commits {sorted(commits, key=int)}")
    if ran_again:
        c.problems.append(f"ran again after done: {sorted(ran_again)}")
    fsck = subprocess.run(["git", "fsck", "--no-progress"], cwd=root, capture_output=True, text=True)
    if fsck.returncode != 0:
        c.problems.append(f"git fsck: {fsck.stderr.strip()[:200]}")
    if (root / ".git" / "index.lock").exists():
        c.problems.append("index.lock left")
    return c


def note_warning(seen: list[str], event: Any) -> None:
    """An EventBus observer: keeps the RunWarnings' messages in `seen`."""
    if isinstance(event, RunWarning):
        seen.append(event.message)


def record_while(rec: Any, other: subprocess.Popen[bytes], ids: list[str]) -> dict[str, int]:
    """Record `ids` started then done, then done again with a new `seq` in the metadata, round and round,
    a flush after each (acknowledged), until `other` exits. Returns each id's last acknowledged seq; the
    greatest seq is the number of acknowledged writes."""
    last: dict[str, int] = {}
    k = 0
    while other.poll() is None:
        uid = ids[k % len(ids)]
        if k < len(ids):
            rec.started(WorkUnit(unit_id=uid, task_id=uid, title=f"Task number {uid}"))
        k += 1
        rec.done(uid, {"run_id": "soak", "status": "done", "seq": k})
        rec.flush()
        last[uid] = k
        time.sleep(0.02)
    return last


def fake(model: Callable[[FakeRequest], Reply] = demo_model, latency: float = 0.05) -> FakeAnthropic:
    f = FakeAnthropic(model=model, latency=latency).start()
    server = getattr(f, "_server", None)
    if server is not None:  # a client killed mid-request resets its connection: expected here, not news
        server.handle_error = lambda *_: None
    return f


def wait_until(pred: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


def as_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
