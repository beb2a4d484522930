"""The run's node agents, on the driver: one `NodeAgent` actor per alive node that can host a worker, and
the worker slots each one has.

A node's slots are how many workers its resources hold (`execution.ray.worker_resources` per worker, one
CPU by default; never more than the run's worker count). The agents are created when the run opens, all at
once, so their processes start while the driver prepares the run, and the first dispatch waits until they
are up (`wait_ready`: a node whose agent cannot start is left out, with one line); each holds its slots'
resources for the run, so the cluster's accounting (and any other job on it) sees them as used. An attempt
takes a slot on the node with the most free ones; a node that joins later gets an agent when the slots run
out; an agent whose process died is replaced, if its node is still alive.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ray
from ray import exceptions as rex
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from ...errors import ConfigError, OrchestratorError
from .node import NodeAgent

REFRESH_S = 5.0  # while every slot is taken, how often to look for nodes that joined
# worker_resources names that are Ray's own resources under another name in ray.nodes()
_NAMES = {"num_cpus": "CPU", "num_gpus": "GPU"}
READY_WAIT_S = 120.0  # how long the run waits for its agents to start before it dispatches


@dataclass
class Agent:
    node_id: str
    handle: Any
    slots: int
    busy: int = 0
    starting: Any = None  # the agent's readiness (an object ref), until the run has seen it


def slots_of(node: dict[str, float], per_worker: dict[str, float], cap: int) -> int:
    """How many workers fit a node of these total resources (at most `cap`)."""
    fits = [math.floor(node.get(_NAMES.get(k, k), 0.0) / v + 1e-9) for k, v in per_worker.items() if v > 0]
    return max(0, min([cap, *fits]))


def per_worker(worker_resources: dict[str, float]) -> dict[str, float]:
    """A worker's resources, with the default of one CPU."""
    res = {k: float(v) for k, v in worker_resources.items()}
    res.setdefault("num_cpus", 1.0)
    return res


class Agents:
    """The agents of one run; thread-safe (each job's thread takes and gives back a slot)."""

    def __init__(
        self, worker_resources: dict[str, float], max_workers: int, backends: tuple[str, ...] = ()
    ) -> None:
        self.per_worker = per_worker(worker_resources)
        self.cap = max(1, max_workers)
        self.backends = backends or ("api", "claude-code", "build")  # what the agents import at start
        self._agents: dict[str, Agent] = {}  # node id -> its live agent
        self._broken: set[str] = set()  # nodes whose agent could not start: not tried again
        self._cond = threading.Condition()
        self._refreshed = 0.0
        self._closed = False

    def start(self) -> None:
        """An agent on every node that can host a worker; ConfigError when none can."""
        with self._cond:
            self._refresh()
            if not self._agents:
                raise ConfigError(
                    f"no node of the Ray cluster can host a worker of execution.ray.worker_resources "
                    f"{self.per_worker}: {_shapes()}"
                )

    def wait_ready(self, timeout_s: float = READY_WAIT_S, also: list[Any] | None = None) -> list[str]:
        """Wait until the agents (and the actors of `also`) have started, at most `timeout_s`; an agent
        that could not start is dropped. Returns one line per agent dropped or still starting;
        OrchestratorError when no agent is left, or when an actor of `also` could not start."""
        with self._cond:
            starting = {a.starting: a for a in self._agents.values() if a.starting is not None}
        extra = list(also or [])
        refs = [*starting, *extra]
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
        for ref in extra:
            try:
                ray.get(ref, timeout=0)
            except rex.GetTimeoutError:
                pass
            except rex.RayError as e:
                raise OrchestratorError(f"a Ray actor of the run could not start: {_cause(e)}") from None
        said: list[str] = []
        for ref, agent in starting.items():
            try:
                ray.get(ref, timeout=0)
            except rex.GetTimeoutError:  # still starting (its node busy?): its attempts wait for it
                said.append(
                    f"the Ray agent on node {agent.node_id[:8]} has not started after "
                    f"{timeout_s:g}s: the attempts sent to it wait"
                )
                continue
            except rex.RayError as e:
                self._broken.add(agent.node_id)
                self.lost(agent)
                said.append(f"the Ray agent on node {agent.node_id[:8]} could not start: {_cause(e)}")
            agent.starting = None
        with self._cond:
            if not self._agents:
                raise OrchestratorError("; ".join(said) or "the run's Ray agents are gone")
        return said

    def take(self, stopped: Callable[[], bool]) -> Agent | None:
        """A slot on the node with the most free ones, waiting for one; None once `stopped()`."""
        with self._cond:
            while True:
                if self._closed:
                    raise OrchestratorError("the run's Ray agents are closed")
                if stopped():
                    return None
                free = [a for a in self._agents.values() if a.busy < a.slots]
                if free:
                    agent = max(free, key=lambda a: a.slots - a.busy)
                    agent.busy += 1
                    return agent
                if time.monotonic() - self._refreshed > REFRESH_S:
                    self._refresh()
                    continue
                self._cond.wait(0.2)

    def give_back(self, agent: Agent) -> None:
        with self._cond:
            agent.busy -= 1
            self._cond.notify_all()

    def lost(self, agent: Agent) -> None:
        """`agent`'s process died: the next take makes a new one on its node, if the node is alive."""
        with self._cond:
            if self._agents.get(agent.node_id) is agent:
                del self._agents[agent.node_id]
            self._refreshed = 0.0
            self._cond.notify_all()

    def kill(self, agent: Agent) -> None:
        """End `agent`'s process (a node that does not answer a cancel); its watchdogs kill the rest."""
        self.lost(agent)
        _kill(agent.handle)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            agents, self._agents = list(self._agents.values()), {}
            self._cond.notify_all()
        for a in agents:
            _kill(a.handle)

    def _refresh(self) -> None:
        self._refreshed = time.monotonic()
        for node in _nodes():
            nid = node["NodeID"]
            if not node.get("Alive") or nid in self._agents or nid in self._broken:
                continue
            slots = slots_of(node.get("Resources", {}), self.per_worker, self.cap)
            if slots > 0:
                handle = self._create(nid, slots)
                self._agents[nid] = Agent(nid, handle, slots, starting=handle.__ray_ready__.remote())

    def _create(self, node_id: str, slots: int) -> Any:
        res = {k: v * slots for k, v in self.per_worker.items() if v > 0}
        opts: dict[str, Any] = {
            "num_cpus": res.pop("num_cpus", 0.0),
            "max_restarts": 0,
            "max_task_retries": 0,
            "max_concurrency": 4 * slots + 8,  # its attempts and their cancels
            "scheduling_strategy": NodeAffinitySchedulingStrategy(node_id, soft=False),
        }
        for top in ("num_gpus", "memory"):  # Ray's own options, not custom resources
            if top in res:
                opts[top] = res.pop(top)
        if res:
            opts["resources"] = res
        return ray.remote(NodeAgent).options(**opts).remote(self.backends)


def _kill(handle: Any) -> None:
    with contextlib.suppress(Exception):  # already gone
        ray.kill(handle)


def _nodes() -> list[dict[str, Any]]:
    return list(ray.nodes())  # type: ignore[no-untyped-call]


def _shapes() -> str:
    alive = [n.get("Resources", {}) for n in _nodes() if n.get("Alive")]
    if not alive:
        return "the cluster has no live node"
    shown = "; ".join(
        ", ".join(f"{k} {v:g}" for k, v in sorted(r.items()) if not k.startswith("node:")) for r in alive
    )
    return f"its nodes have {shown}"


def _cause(e: BaseException) -> str:
    """The line of an actor's start-up error that names the exception raised (Ray's text also holds a
    preamble and the remote traceback)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    said = [ln for ln in lines if "Error" in ln and not ln.startswith(("File ", "Traceback"))]
    return (said[-1] if said else lines[0] if lines else type(e).__name__)[:300]
