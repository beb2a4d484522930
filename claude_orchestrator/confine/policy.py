"""Which commands run confined, and what happens where bubblewrap cannot run.

`CommandPolicy.from_config` reads ``execution.sandbox`` (``"on"``: every command a model or a plan chooses
runs in bubblewrap, and is refused where bubblewrap cannot run; ``"off"``: they run unconfined) and
``execution.sandbox_network`` (network for those commands; the stack runner's own install and build steps
always get it, they fetch the plan's declared dependencies).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SandboxUnavailableError
from .bwrap import Jail, probe

if TYPE_CHECKING:
    from ..config import OrchestratorConfig


@dataclass(frozen=True)
class CommandPolicy:
    mode: str = "on"  # "on" | "off"
    network: bool = False
    bwrap: str | None = None
    unavailable: str | None = None  # why bubblewrap cannot run (checked by running it)

    @classmethod
    def detect(cls, mode: str = "on", *, network: bool = False, bwrap: str | None = "") -> CommandPolicy:
        """The policy for `mode`; bubblewrap (found on PATH unless `bwrap` names it) is tried once."""
        exe = shutil.which("bwrap") if bwrap == "" else bwrap
        why = probe(exe) if mode == "on" else None
        return cls(mode, network, exe, why)

    @classmethod
    def from_config(cls, cfg: OrchestratorConfig | None = None) -> CommandPolicy:
        if cfg is None:
            from ..config import OrchestratorConfig

            cfg = OrchestratorConfig()
        ex = cfg.execution
        return cls.detect(ex.sandbox, network=ex.sandbox_network)

    @property
    def confined(self) -> bool:
        return self.mode == "on" and self.unavailable is None

    def notice(self) -> str | None:
        """One line for the start of a run when commands are not confined; None when they are."""
        if self.mode == "off":
            return 'execution.sandbox is "off": commands a model or a plan chooses run unconfined'
        if self.unavailable:
            return (
                f"no OS sandbox ({self.unavailable}): commands a model or a plan chooses will be refused; "
                'install bubblewrap, or set execution.sandbox to "off" to run them unconfined'
            )
        return None

    def check(self) -> None:
        """Raises SandboxUnavailableError when commands must be confined and cannot be."""
        if self.mode != "off" and (self.unavailable or self.bwrap is None):
            raise SandboxUnavailableError(
                f"command refused: no OS sandbox ({self.unavailable or 'bwrap not found'}); "
                'install bubblewrap, or set execution.sandbox to "off" in orchestrator_config.json'
            )

    def jail(
        self, writable: Sequence[Path], *, network: bool | None = None, protect: Sequence[Path] = ()
    ) -> Jail | None:
        """The confinement for a command writing only in `writable`; None when the sandbox is off.
        Raises SandboxUnavailableError when it is on but cannot run."""
        if self.mode == "off":
            return None
        self.check()
        assert self.bwrap is not None
        home = Path.home() if Path.home().is_dir() else None
        return Jail(
            self.bwrap,
            tuple(Path(w).resolve() for w in writable),
            network=self.network if network is None else network,
            protect=tuple(protect),
            home=home,
        )


def claude_code_sandbox_missing() -> str | None:
    """Why Claude Code's own Bash sandbox cannot run here (None: it can). On Linux it needs bubblewrap
    and socat; on macOS it uses the system's Seatbelt."""
    if sys.platform == "darwin":
        return None
    if not sys.platform.startswith("linux"):
        return f"not supported on {sys.platform}"
    why = probe(shutil.which("bwrap"))
    if why is None and shutil.which("socat") is None:
        why = "socat is not installed"
    return why


def run_notices(cfg: OrchestratorConfig, backends: set[str]) -> list[str]:
    """What a run says at its start about the confinement of the backends it will use."""
    ex = cfg.execution
    out = []
    if backends & {"api", "build"}:
        line = CommandPolicy.from_config(cfg).notice()
        if line:
            out.append(line)
    if "claude-code" in backends and ex.sandbox == "on":
        if not ex.claude_code_sandbox:
            out.append(
                "execution.claude_code_sandbox is off: Claude Code workers' Bash commands run unconfined"
            )
        elif why := claude_code_sandbox_missing():
            out.append(
                f"Claude Code's Bash sandbox cannot run ({why}): Claude Code workers get no Bash tool; "
                'install bubblewrap and socat, or set execution.sandbox to "off"'
            )
    return out
