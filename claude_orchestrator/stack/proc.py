"""Run one build step: an argument list (never a shell string), its own process group, a timeout,
its output appended to the build log, its exit status checked."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError

TIMEOUT_STATUS = 124
KILL_GRACE_SECONDS = 3.0
# environment variables that look like secrets are not handed to plan-provided code
_SECRET_ENV = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|WEBHOOK|CREDENTIAL)", re.IGNORECASE)


def build_env(extra: Mapping[str, str] | None = None, path_prepend: Sequence[Path] = ()) -> dict[str, str]:
    """os.environ minus secret-looking names, plus `extra`, with `path_prepend` in front of PATH."""
    env = {k: v for k, v in os.environ.items() if not _SECRET_ENV.search(k)}
    env.pop("VIRTUAL_ENV", None)
    if extra:
        env.update(extra)
    if path_prepend:
        env["PATH"] = os.pathsep.join([*(str(p) for p in path_prepend), env.get("PATH", "")])
    return env


def kill_group(proc: subprocess.Popen[bytes], grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM the process group, then SIGKILL it if it outlives `grace` seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):  # children may linger after the leader exits
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def log_tail(log_path: Path, lines: int = 20) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


@dataclass
class StepLog:
    """The project's build log plus the record of every step run."""

    path: Path
    steps: list[dict[str, object]] = field(default_factory=list)
    on_step: Callable[[str], None] | None = None

    def note(self, text: str) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(f"# {text}\n")


def run_step(
    name: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    log: StepLog,
    timeout: float,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> int:
    """Run argv in cwd; output goes to the build log. Raises BuildError on a non-zero status or timeout."""
    argv = [str(a) for a in argv]
    shown = shlex.join(argv)
    log.path.parent.mkdir(parents=True, exist_ok=True)
    if log.on_step:
        log.on_step(f"{name}: {shown}")
    started = time.monotonic()
    with log.path.open("ab") as fh:
        fh.write(f"\n$ {shown}    [{name}; in {cwd}]\n".encode())
        fh.flush()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env) if env is not None else build_env(),
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as e:
            fh.write(f"# cannot start: {e}\n".encode())
            log.steps.append({"step": name, "argv": argv, "status": 127, "pid": None})
            raise BuildError(
                f"step '{name}' could not start ({argv[0]}): {e.strerror or e}",
                step=name,
                status=127,
                log=str(log.path),
            ) from None
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            status = TIMEOUT_STATUS
            fh.write(f"\n# timed out after {timeout:g}s; process group killed\n".encode())
        except BaseException:
            kill_group(proc)
            raise
        fh.write(f"# exit status {status} after {time.monotonic() - started:.1f}s\n".encode())
    log.steps.append({"step": name, "argv": argv, "status": status, "pid": proc.pid})
    if check and status != 0:
        why = f"timed out after {timeout:g}s" if status == TIMEOUT_STATUS else f"exit status {status}"
        tail = log_tail(log.path)
        raise BuildError(
            f"step '{name}' failed ({why}); build log {log.path}; last lines:\n{tail}",
            step=name,
            status=status,
            log=str(log.path),
            tail=tail,
            pid=proc.pid,
        )
    return status
