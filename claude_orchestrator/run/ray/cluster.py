"""Connecting a run to Ray: before anything of the run is written, so a bad address is one clear line."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from ...errors import ConfigError
from . import require_ray

NAMESPACE = "claude-orchestrator"
PROBE_TIMEOUT_S = 5.0


def _probe(address: str) -> None:
    """A HOST:PORT that nothing listens on fails here at once, not after Ray's long connection timeout."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as e:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {e.strerror or e}") from None


class RayCluster:
    """A run's connection to Ray. `connect` joins the cluster at `address` (auto or HOST:PORT; Ray Client's
    ray:// is refused: it cannot stream a task's messages) or, with none, the RAY_ADDRESS variable or else a
    new Ray instance in this process; when this process is already
    connected (ray.init was called), that connection is used and left open. `close` disconnects what
    `connect` connected."""

    def __init__(self, owned: bool, address: str) -> None:
        self.owned, self.address = owned, address
        self.agents: Any = None  # agents.Agents, once started
        self.starting: list[Any] = []  # readiness refs of the run's other actors (its admission)

    def start_agents(
        self, worker_resources: dict[str, float], workers: int, backends: tuple[str, ...] = ()
    ) -> Any:
        """The run's node agents (agents.py), starting now so they are warm, with `backends` imported,
        when the first unit comes; ConfigError when no node can host a worker."""
        from .agents import Agents

        agents = Agents(worker_resources, workers, backends)
        agents.start()
        self.agents = agents
        return agents

    def wait_ready(self) -> list[str]:
        """Until the agents and the run's other actors have started (their start is the cluster's, not
        the first tasks'); one line per node whose agent could not start (that node is left out)."""
        if self.agents is None:
            return []
        return list(self.agents.wait_ready(also=self.starting))

    @classmethod
    def connect(cls, address: str | None, forward_env: list[str] | None = None) -> RayCluster:
        require_ray()
        import ray

        if ray.is_initialized():
            return cls(False, "connected")
        # none given: Ray's own variable, else a new instance here ("local": never the cluster named in a
        # leftover /tmp/ray/ray_current_cluster, which Ray would try for minutes if it is gone)
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address and address.startswith("ray://"):
            raise ConfigError(
                f"Ray address {address}: Ray Client (ray://) cannot run the Ray executor (it has no streaming "
                "tasks); run on a node of the cluster with --ray-address auto or HOST:PORT"
            )
        if address:
            _probe(address)
        kw: dict[str, Any] = {}
        forwarded = {k: os.environ[k] for k in forward_env or () if k in os.environ}
        if forwarded:  # opt-in: whoever administers the cluster can read a job's runtime_env
            kw["runtime_env"] = {"env_vars": forwarded}
        if address is None:
            kw["include_dashboard"] = False
        try:
            ray.init(
                address=address or "local",
                namespace=NAMESPACE,
                log_to_driver=False,
                logging_level=logging.WARNING,
                configure_logging=False,
                **kw,
            )
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = f"at {address}" if address else "in this process"
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ConfigError(f"cannot connect to the Ray cluster {where}: {first}") from None
        return cls(True, address or "local")

    def close(self) -> None:
        if self.agents is not None:
            self.agents.close()
            self.agents = None
        if self.owned:
            import ray

            self.owned = False
            ray.shutdown()
