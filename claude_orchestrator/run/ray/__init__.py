"""The Ray executor: a run's units on the nodes of a Ray cluster, with the guarantees of a local run.

The scheduler stays on the driver (this process) and owns the run; each node that can host a worker gets
an agent (one Ray actor for the run, warm); each attempt of a unit is one call to an agent (an actor task,
never retried by Ray: retries are our policy) that clones the task's repository from git bundles into a
private folder on its node, runs the backend there, commits, and streams back its progress, its model usage
and finally an incremental bundle with the `WorkResult`. The driver fetches the bundle into the task's
worktree; integration (review, merge one at a time) runs exactly as for local units.

Modules: `cluster` (connecting), `executor` (the driver's side of the `Executor` seam), `agents` (the
node agents and their worker slots), `node` (an agent and its attempts), `admission` (the one rate-limit actor every api worker consults), `watchdog` (kills what an attempt
left running when its Ray worker dies). Nothing here is imported unless the Ray executor is chosen; `ray`
comes with the `ray` extra: ``pip install "claude-orchestrator[ray]"``.
"""

from __future__ import annotations

from ...errors import ConfigError

EXTRA_HINT = 'the Ray executor needs the ray extra: pip install "claude-orchestrator[ray]"'


def require_ray() -> None:
    """ConfigError (exit 2) when Ray is not installed."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ConfigError(EXTRA_HINT) from None
