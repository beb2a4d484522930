"""Every command we start: one secret-scrubbed environment, one process-group runner, one kill.

The environment. :func:`scrubbed_env` is the environment of every command the orchestrator starts (the
commands a model issues, build, install and run steps, git): the caller's environment minus every name
that looks like a secret (:func:`is_secret_name`). Claude Code sessions get their own rule
(``workers/claude_code.py``): the same names blanked, except the credential the CLI itself needs.

The process tree. A command runs in a new session, so ``killpg`` reaches everything that stayed in its
process group. A descendant that called ``setsid`` (or ``setpgid``) leaves the group; to reach it as well,
every command carries ``MARKER_VAR=<token>`` in its environment, which its descendants inherit, and the
kill also signals every process whose environment holds the marker (``/proc/PID/environ``, Linux), plus
their descendants. A process that both leaves the group and drops the marker (``env -i`` after
``setsid``) is out of reach; only an OS sandbox (cgroups) would catch it.

The runner (:func:`run_process_group`) starts a command in such a group, with that environment, and makes
sure nothing it started outlives the call: timeout, cancel, Ctrl-C.
"""

from __future__ import annotations

from .env import ALLOWED_ENV, is_secret_name, marked, scrubbed_env
from .runner import TIMEOUT_STATUS, ProcessGroup, ProcessResult, run_process_group
from .tree import MARKER_VAR, alive, kill_tree, signal_pids, tree_pids, wait_gone

__all__ = [
    "ALLOWED_ENV",
    "MARKER_VAR",
    "TIMEOUT_STATUS",
    "ProcessGroup",
    "ProcessResult",
    "alive",
    "is_secret_name",
    "kill_tree",
    "marked",
    "run_process_group",
    "scrubbed_env",
    "signal_pids",
    "tree_pids",
    "wait_gone",
]
