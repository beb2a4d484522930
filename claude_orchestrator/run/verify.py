"""The verification gate: a task's `verify` commands, run by the orchestrator itself in the unit's worktree
after the worker finished and before the review. The worker's word is not taken: each command runs with a
timeout, the scrubbed environment and the process-group kill of the process package; a failing one sends the work
back with the command and the end of its output, and the review reads the real exit codes.

`metadata.verify` holds one command string, or a list of commands, each an argument list
(``["python", "-m", "pytest", "-q"]``, run as is) or a string (split like a shell would and run without
one, unless it uses shell syntax such as pipes, ``&&``, redirections or globs: then ``sh -c``).
"""

from __future__ import annotations

import re
import shlex
import shutil
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..events import EventBus, TaskVerification
from ..process import TIMEOUT_STATUS, run_process_group
from ..workers.base import WorkUnit

PASSED, FAILED, NONE, SKIPPED = "passed", "failed", "none", "skipped"
_SHELL_SYNTAX = re.compile(r"[|&;<>()`*?~{}\[\]!\n]|\$")
_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")
MAX_CHECKS = 20


@dataclass(frozen=True)
class Check:
    """One command of a task's `verify` list."""

    argv: tuple[str, ...]
    text: str  # as people read it

    @classmethod
    def from_string(cls, text: str) -> Check:
        text = text.strip()
        unquoted = _QUOTED.sub("", text)
        if _SHELL_SYNTAX.search(unquoted) or "$" in text or "`" in text:
            return cls(("sh", "-c", text), text)
        try:
            argv = tuple(shlex.split(text))
        except ValueError:  # unbalanced quotes: let the shell say what is wrong
            return cls(("sh", "-c", text), text)
        return cls(argv, text)


def checks_of(unit_id: str, metadata: Any) -> list[Check]:
    """The unit's checks from its metadata (none when it has no `verify`). Raises InputError, naming the
    task, for a value of the wrong shape."""
    value = metadata.get("verify") if isinstance(metadata, dict) else None
    where = f"task {unit_id}: metadata.verify"
    if value is None or value == [] or value == "":
        return []
    if isinstance(value, str):
        return [Check.from_string(value)]
    if not isinstance(value, list):
        raise InputError(
            f"{where} must be a command string or a list of commands, not {type(value).__name__}"
        )
    if all(isinstance(v, str) for v in value) and any(v.startswith("-") for v in value):
        raise InputError(f"{where} looks like one argument list: write it as a list of lists, [[...]]")
    if len(value) > MAX_CHECKS:
        raise InputError(f"{where} has {len(value)} commands; at most {MAX_CHECKS}")
    out = []
    for i, item in enumerate(value, 1):
        if isinstance(item, str) and item.strip():
            out.append(Check.from_string(item))
        elif isinstance(item, list) and item and all(isinstance(a, str) for a in item) and item[0].strip():
            out.append(Check(tuple(item), shlex.join(item)))
        else:
            raise InputError(f"{where}: command {i} must be a non-empty string or a list of strings")
    return out


@dataclass(frozen=True)
class CheckResult:
    command: str
    exit_code: int | None  # None: the process could not be reaped
    timed_out: bool
    duration_s: float
    output: str  # the end of its merged stdout and stderr

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class Verification:
    """What the gate found for one unit (or one attempt of it)."""

    status: str  # passed | failed | none | skipped
    results: tuple[CheckResult, ...] = ()
    duration_s: float = 0.0

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    def report(self) -> str:
        """For the review: every command with its real exit code, and the output of the failing ones."""
        if self.status == NONE:
            return "(none: this task has no verify commands)"
        if self.status == SKIPPED:
            return "(not run: verification was turned off for this run)"
        lines = [f"$ {r.command}\n  -> {_exit(r)}" for r in self.results]
        for r in self.failures:
            lines.append(f"\nOutput of `{r.command}` (the end):\n{r.output.strip() or '(no output)'}")
        return "\n".join(lines)

    def feedback(self) -> str:
        """For the worker whose work failed the checks."""
        parts = ["The orchestrator ran the task's checks in your worktree and they failed:"]
        for r in self.failures:
            parts.append(f"$ {r.command}\n{_exit(r)}; the end of its output:\n{r.output.strip() or '(none)'}")
        parts.append("Fix the work so that every one of these commands passes.")
        return "\n\n".join(parts)

    def summary(self) -> str:
        bad = self.failures
        if not bad:
            return f"{len(self.results)} check(s) passed"
        return "; ".join(f"`{r.command}` {_exit(r)}" for r in bad)[:300]


def _exit(r: CheckResult) -> str:
    if r.timed_out:
        return f"killed at its timeout after {r.duration_s:.0f}s (exit {r.exit_code})"
    return f"exit {r.exit_code}" if r.exit_code is not None else "exit unknown"


def run_check(check: Check, cwd: Path, timeout_s: float, output_chars: int) -> CheckResult:
    t0 = time.monotonic()
    try:
        p = run_process_group(check.argv, cwd=cwd, timeout=timeout_s, merge_stderr=True, max_output=200_000)
    except OSError as e:  # not found, not executable
        return CheckResult(check.text, 127, False, time.monotonic() - t0, f"could not start: {e}")
    code = TIMEOUT_STATUS if p.timed_out else p.returncode
    return CheckResult(check.text, code, p.timed_out, p.duration_s, p.stdout[-output_chars:])


def run_checks(
    checks: Sequence[Check], cwd: Path, timeout_s: float, output_chars: int = 4000
) -> Verification:
    """Every check, in order, in `cwd`; what they leave behind in a git worktree is removed after."""
    t0 = time.monotonic()
    before = _dirty(cwd)
    try:
        results = tuple(run_check(c, cwd, timeout_s, output_chars) for c in checks)
    finally:
        _restore(cwd, before)
    status = PASSED if all(r.ok for r in results) else FAILED
    return Verification(status, results, time.monotonic() - t0)


def _dirty(cwd: Path) -> tuple[Path, set[tuple[str, bool]]] | None:
    """The worktree's root and its changed paths (untracked or not); None outside git."""
    from ..workspace import gitops

    top = gitops.git(cwd, "rev-parse", "--show-toplevel", check=False)
    if top.returncode != 0 or not top.stdout.strip():
        return None
    root = Path(top.stdout.strip())
    return root, {(e.path, e.untracked) for e in gitops.status(root)}


def _restore(cwd: Path, before: tuple[Path, set[tuple[str, bool]]] | None) -> None:
    """Undo what the checks changed (caches, reports, rewritten files); the work itself stays as it was."""
    from ..workspace import gitops

    after = _dirty(cwd)
    if before is None or after is None:
        return
    root, seen = before
    for path, untracked in sorted(after[1] - seen):
        if untracked:
            target = root / path
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
        elif all(p != path for p, _ in seen):
            gitops.git(root, "checkout", "-q", "--", path, check=False)


@dataclass
class VerifyGate:
    """The run's gate: runs the checks, publishes a `TaskVerification` per unit (or attempt), and keeps
    each unit's last status for the run's counts."""

    bus: EventBus
    run_id: str
    enabled: bool = True
    timeout_s: float = 600.0
    output_chars: int = 4000
    statuses: dict[str, str] = field(default_factory=dict)  # unit id -> its last verification status
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_config(cls, cfg: Any, bus: EventBus, run_id: str, enabled: bool | None = None) -> VerifyGate:
        """From `OrchestratorConfig.verification`; `enabled` (run --no-verify) overrides."""
        on = cfg.enabled if enabled is None else enabled
        return cls(bus, run_id, on, cfg.timeout_seconds, cfg.output_chars)

    def check(self, unit: WorkUnit, workdir: Path, *, candidate: int | None = None) -> Verification:
        checks = checks_of(unit.unit_id, unit.metadata)
        if not self.enabled:
            v = Verification(SKIPPED)
        elif not checks:
            v = Verification(NONE)
        else:
            v = run_checks(checks, workdir, self.timeout_s, self.output_chars)
        bad = v.failures[0] if v.failures else None
        self.bus.publish(
            TaskVerification(
                run_id=self.run_id,
                task_id=unit.unit_id,
                status=v.status,
                checks=len(v.results),
                passed=len(v.results) - len(v.failures),
                command=bad.command if bad else None,
                exit_code=bad.exit_code if bad else None,
                timed_out=True if bad is not None and bad.timed_out else None,
                output=bad.output[-1000:] if bad else None,
                duration_s=round(v.duration_s, 3) if v.results else None,
                candidate=candidate,
            )
        )
        if candidate is None:
            self.record(unit.unit_id, v.status)
        return v

    def record(self, unit_id: str, status: str) -> None:
        with self._lock:
            self.statuses[unit_id] = status

    def counts(self) -> dict[str, int]:
        """verified, failed_verification, unchecked (no checks, or the gate was off)."""
        with self._lock:
            c = Counter(self.statuses.values())
        return {"verified": c[PASSED], "failed_verification": c[FAILED], "unchecked": c[NONE] + c[SKIPPED]}
