"""Run one build step: an argument list (never a shell string), its own process group, a timeout,
its output appended to the build log, its exit status checked."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..confine import Jail
from ..errors import BuildError
from ..process import TIMEOUT_STATUS, run_process_group, scrubbed_env

KILL_GRACE_SECONDS = 3.0


def build_env(extra: Mapping[str, str] | None = None, path_prepend: Sequence[Path] = ()) -> dict[str, str]:
    """The scrubbed environment of every command we start, without the caller's virtualenv, plus `extra`,
    with `path_prepend` in front of PATH."""
    env = scrubbed_env(extra=extra, path_prepend=path_prepend)
    if "VIRTUAL_ENV" not in (extra or {}):
        env.pop("VIRTUAL_ENV", None)
    return env


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
    jail: Jail | None = None,
) -> int:
    """Run argv in cwd (inside `jail` when given); output goes to the build log. Raises BuildError on a
    non-zero status or timeout."""
    argv = [str(a) for a in argv]
    shown = shlex.join(argv)
    where = f"in {cwd}" + ("" if jail is None else ", sandboxed" + ("" if jail.network else ", no network"))
    log.path.parent.mkdir(parents=True, exist_ok=True)
    if log.on_step:
        log.on_step(f"{name}: {shown}")
    started = time.monotonic()
    with log.path.open("ab") as fh:
        fh.write(f"\n$ {shown}    [{name}; {where}]\n".encode())
        fh.flush()
        try:
            # unconfined, a step may leave a daemon running on purpose (a build server): only a timeout
            # kills the group; confined, nothing outlives the step (its PID namespace ends with it)
            r = run_process_group(
                jail.wrap(argv) if jail is not None else argv,
                cwd=cwd,
                env=env if env is not None else build_env(),
                timeout=timeout,
                log=fh,
                term_grace=KILL_GRACE_SECONDS,
                reap=False,
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
        status = TIMEOUT_STATUS if r.timed_out else (r.returncode if r.returncode is not None else -1)
        if r.timed_out:
            fh.write(f"\n# timed out after {timeout:g}s; process group killed\n".encode())
        fh.write(f"# exit status {status} after {time.monotonic() - started:.1f}s\n".encode())
    log.steps.append({"step": name, "argv": argv, "status": status, "pid": r.pid})
    if check and status != 0:
        why = f"timed out after {timeout:g}s" if status == TIMEOUT_STATUS else f"exit status {status}"
        tail = log_tail(log.path)
        raise BuildError(
            f"step '{name}' failed ({why}); build log {log.path}; last lines:\n{tail}",
            step=name,
            status=status,
            log=str(log.path),
            tail=tail,
            pid=r.pid,
        )
    return status
