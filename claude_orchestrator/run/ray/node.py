"""A node's side: its agent (one Ray actor per node and run) and the attempts it runs.

`NodeAgent` is started by the driver when the run opens, pinned to its node, holding the resources of its
worker slots; it imports the backends once, so an attempt starts warm (a cold Ray worker process costs
seconds of CPU, paid once per node, not once per task). Each call of `NodeAgent.run_attempt` is one
attempt of one unit: an actor task (`max_task_retries=0`: retries are our policy) that gets the attempt as
data (`Spec`: no credentials; a node uses its own environment), the base bundle (a reference into the
object store; with the run's first base before it when it holds only what is beyond that one) and the task's
own part. A base is fetched and unpacked once per node into the agent's store (a bare repository); each
attempt's private clone borrows its objects (git alternates) and gets the part. It runs the backend there on a thread of its own, commits what the worker left uncommitted, and streams back
tuples: ("placed", node, node_id, pid), ("progress", TaskProgress), ("usage", record), ("rate_limit",
resets_at, kind), ("rate_info", notice), and last ("result", Returned).

Cancelling the call (Ctrl-C, a stop, a timeout on the driver) raises CancelledError in the generator: the
attempt's cancel flag is set, the backend stops and kills its process tree, and whatever still carries the
attempt's mark (`watchdog.JOB_VAR`, set on every command the attempt's thread starts) is killed. If the
agent's process dies, every attempt it ran fails, and the watchdogs kill what they left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import ray

from ...config import BudgetConfig, OrchestratorConfig
from ...errors import ConfigError
from ...process import kill_tree, marked
from ...workers.base import WorkContext, Worker, WorkResult, WorkUnit, run_worker
from ...workspace import bundles
from . import watchdog
from .admission import RemoteLimiter

CANCEL_WAIT_S = 20.0  # after a cancel, how long the backend gets to stop and kill its processes
CACHE_KEEP_S = 3600.0  # base bundles cached on a node are dropped after an hour unused
CACHE_DIR = "claude-orchestrator-ray"  # base bundles, shared by the agents of a host
STORE = "store.git"  # in an agent's folder: the bases' objects, which its attempts' clones borrow


@dataclass(frozen=True)
class Spec:
    """One attempt as a node gets it: plain data, never a credential."""

    unit: WorkUnit
    run_id: str
    timeout_s: float | None
    cfg: OrchestratorConfig  # with its secrets removed (the Slack webhook)
    branch: str  # the task branch
    base_sha: str  # the target branch's tip in the base bundle
    head_sha: str  # the task branch's head on the driver
    base_since: str | None = None  # the run's first base, when the base bundle holds only what is beyond it
    prefix: str = ""  # the project's folder inside the repository
    task: dict[str, Any] = field(default_factory=dict)  # the task as stored (the build backend reads it)
    templates: dict[str, str] = field(default_factory=dict)  # the project's prompt overrides
    budgets: BudgetConfig = field(default_factory=BudgetConfig)  # what is left of the run's and task's
    budget_usd: float | None = None  # what this attempt may spend (Claude Code's max budget)
    ignore: tuple[str, ...] = ()  # engine files never committed
    admission: Any = None  # the run's admission actor


@dataclass(frozen=True)
class Returned:
    """An attempt's outcome: the result, and the task branch's head with a bundle of what is new."""

    result: WorkResult
    head: str | None = None
    bundle: bytes | None = None
    transcript: str | None = None
    skipped: list[str] = field(default_factory=list)  # sensitive or engine files left on the node
    wrapped: bool | None = None  # whether `head` is the node's commit of uncommitted work


def describe_node() -> tuple[str, str]:
    node_id = str(ray.get_runtime_context().get_node_id())
    return f"{socket.gethostname()}:{node_id[:8]}", node_id


def _warm(backends: tuple[str, ...]) -> None:
    """Import what the run's backends use (the anthropic SDK, Claude Code's SDK …): once per agent,
    before its first attempt (a backend not named here is imported by its first attempt). A backend
    this node does not know, or cannot import, stops the agent's start: the run says so before it
    dispatches."""
    unknown = sorted(set(backends) - {"api", "claude-code", "build"})
    if unknown:
        raise ConfigError(f"unknown backend '{unknown[0]}'")
    if "api" in backends:
        from ...llm import client  # noqa: F401  (the anthropic SDK: llm/ loads it lazily)
        from ...workers import api_agent  # noqa: F401
    if "claude-code" in backends:
        from ...workers import claude_code  # noqa: F401
    if "build" in backends:
        from .. import dispatch  # noqa: F401


@dataclass
class Node:
    """What an agent's attempts share: its folder (one per attempt inside, named by the attempt's token,
    which the agent's watchdog reads), the store of the bases' objects (one base brought in at a time),
    one model client."""

    label: str
    home: Path
    bases: threading.Lock = field(default_factory=threading.Lock)
    stored: set[str] = field(default_factory=set)  # bases whose objects are in the store
    llm_lock: threading.Lock = field(default_factory=threading.Lock)
    llm: Any = None  # a model client made by the first api attempt, whose SDK client all of them share


class NodeAgent:
    """One node's attempts, run side by side (an async actor: each attempt's work is on a thread)."""

    def __init__(self, backends: tuple[str, ...]) -> None:
        label, self.node_id = describe_node()
        self.node = Node(label, Path(tempfile.mkdtemp(prefix="claude-orchestrator-agent-")))
        launcher = watchdog.start(self.node.home)
        _warm(backends)
        with contextlib.suppress(subprocess.TimeoutExpired):
            launcher.wait(10)

    async def run_attempt(
        self, spec: Spec, bases: list[Any], part: bytes | None
    ) -> AsyncIterator[tuple[Any, ...]]:
        """`bases`: references to the base bundle, after the run's first base's when it builds on it."""
        yield ("placed", self.node.label, self.node_id, os.getpid())
        async for msg in NodeAttempt(spec, bases, part, self.node).stream():
            yield msg


class NodeAttempt:
    def __init__(self, spec: Spec, base_refs: list[Any], part: bytes | None, node: Node) -> None:
        self.spec, self.base_refs, self.part, self.node = spec, base_refs, part, node
        self.cancel = threading.Event()
        self.token = uuid.uuid4().hex
        self.folder = node.home / self.token
        self.folder.mkdir()
        self.put: Callable[[tuple[Any, ...]], None] = lambda _msg: None

    async def stream(self) -> AsyncIterator[tuple[Any, ...]]:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

        def put(msg: tuple[Any, ...]) -> None:
            loop.call_soon_threadsafe(inbox.put_nowait, msg)

        self.put = put
        worker = threading.Thread(target=self._work, name="attempt", daemon=True)
        worker.start()
        try:
            while True:
                msg = await inbox.get()
                yield msg
                if msg[0] == "result":
                    return
        except BaseException:  # cancelled, or the agent is exiting
            self.cancel.set()
            await asyncio.to_thread(worker.join, CANCEL_WAIT_S)
            raise
        finally:
            await asyncio.to_thread(self._clean)

    def _clean(self) -> None:
        kill_tree(None, self.token, var=watchdog.JOB_VAR, grace=1.0)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _work(self) -> None:
        try:
            with marked({watchdog.JOB_VAR: self.token}):  # every command this thread starts carries it
                returned = self._attempt()
        except Exception as e:  # a clone or commit that failed: a failed attempt that says where
            returned = Returned(WorkResult.failure(f"on node {self.node.label}: {e}"))
        self.put(("result", returned))

    def _attempt(self) -> Returned:
        s = self.spec
        g = bundles.NodeGit(self.cancel)
        part = None
        if self.part is not None:
            part = self.folder / "part.bundle"
            part.write_bytes(self.part)
        repo = self.folder / "repo"
        bundles.clone(g, self._store(g), part, s.branch, s.head_sha, repo)
        workdir = repo / s.prefix if s.prefix else repo
        transcript = self.folder / "transcript.jsonl"
        backend, close = self._backend(workdir, self._settings())
        ctx = WorkContext(
            workdir,
            s.run_id,
            self.cancel,
            lambda p: self.put(("progress", p)),
            s.timeout_s,
            env={watchdog.JOB_VAR: self.token},  # for Claude Code (its SDK starts the CLI from os.environ)
            transcript_path=transcript,
            budget_usd=s.budget_usd,
        )
        try:
            res = run_worker(backend, s.unit, lambda: ctx)
        finally:
            close()
        made: list[bool] = []
        skipped = bundles.commit_work(g, repo, s.cfg.git.sensitive_patterns, list(s.ignore), made)
        head, data = bundles.bundle_back(g, repo, s.head_sha, self.folder / "back.bundle")
        text = transcript.read_text(encoding="utf-8", errors="replace") if transcript.is_file() else None
        return Returned(res, head, data, text, skipped, wrapped=bool(made and made[0]))

    def _store(self, g: bundles.NodeGit) -> Path:
        """The agent's store, holding this attempt's base (and the first base it builds on)."""
        s, node = self.spec, self.node
        store = node.home / STORE
        wanted = [(s.base_sha, s.base_since)]
        if s.base_since is not None:
            wanted.insert(0, (s.base_since, None))
        with node.bases:
            for (sha, since), ref in zip(wanted, self.base_refs, strict=True):
                if sha not in node.stored:
                    bundles.store_base(g, store, self._bundle_file(sha, since, ref))
                    node.stored.add(sha)
        return store

    def _bundle_file(self, sha: str, since: str | None, ref: Any) -> Path:
        """A base bundle, from this host's cache or fetched from the object store once."""
        cache = Path(tempfile.gettempdir()) / CACHE_DIR
        cache.mkdir(parents=True, exist_ok=True)
        path = cache / (f"{sha}-since-{since}.bundle" if since else f"{sha}.bundle")
        if path.is_file():
            os.utime(path)
            return path
        data = ray.get(ref)
        fd, tmp = tempfile.mkstemp(dir=cache, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        now = time.time()
        for old in cache.glob("*.bundle"):
            try:
                if now - old.stat().st_mtime > CACHE_KEEP_S:
                    old.unlink()
            except OSError:
                pass
        return path

    def _settings(self) -> Path:
        """A project folder holding only the project's prompt overrides (.taskmaster/templates)."""
        root = self.folder / "project"
        tdir = root / ".taskmaster" / "templates"
        tdir.mkdir(parents=True)
        for name, text in self.spec.templates.items():
            (tdir / name).write_text(text, encoding="utf-8")
        return root

    def _backend(self, workdir: Path, settings: Path) -> tuple[Worker, Callable[[], None]]:
        s = self.spec
        name = s.unit.backend
        if name == "claude-code":
            from ...workers.claude_code import ClaudeCodeWorker

            worker = ClaudeCodeWorker(
                s.cfg,
                on_rate_limit=lambda resets, kind: self.put(("rate_limit", resets, kind)),
                on_rate_info=lambda notice: self.put(("rate_info", notice)),
                project_root=settings,
            )
            return worker, lambda: None
        if name == "api":
            from ...workers.api_agent import ApiAgentWorker

            llm = self._llm()
            return ApiAgentWorker(llm, s.cfg, project_root=settings), llm.close
        if name == "build":
            from ..dispatch import BuildWorker

            return BuildWorker(
                s.cfg, workdir / s.cfg.stack.output_dir, {s.unit.unit_id: s.task}
            ), lambda: None
        raise ConfigError(f"unknown backend '{name}'")

    def _llm(self) -> Any:
        """A model client from this node's credentials; usage streamed back, admission global."""
        from ...llm import LLM, Ledger

        s, node = self.spec, self.node
        ledger = Ledger(s.run_id)
        with node.llm_lock:
            if node.llm is None:  # the agent's own: its SDK client lives as long as the agent
                node.llm = LLM.from_config(s.cfg)
        llm = LLM.from_config(s.cfg, ledger=ledger, share=node.llm)
        ledger.configure(budgets=s.budgets)
        if s.admission is not None:
            llm.limiter = cast(Any, RemoteLimiter(s.admission))  # the same interface, run-wide
        ledger.subscribe(lambda rec: self.put(("usage", rec.to_dict())))
        return llm
