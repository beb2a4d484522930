"""What a builder gets (BuildContext) and gives back (ComponentBuild)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..confine import Jail
from .proc import StepLog, build_env, run_step


@dataclass
class ComponentBuild:
    stack: str
    path: str  # relative to the project folder, '.' for the root
    run_command: str | None = None  # shell text, relative to the component folder, names quoted
    path_dirs: list[str] = field(default_factory=list)  # dirs (relative to the component) put on PATH
    tool: str = ""  # the installer/build tool used (pip, poetry, npm, cargo, javac, cmake, ...)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "stack": self.stack,
            "path": self.path,
            "run_command": self.run_command,
            "tool": self.tool,
            "notes": list(self.notes),
        }


@dataclass
class BuildContext:
    project: Path
    folder: Path  # the component folder
    rel: str  # the component folder relative to the project
    log: StepLog
    timeout: float
    allow_commands: bool = False
    python: str = ""  # interpreter used to create venvs (default: the one running us)
    wants_pip: bool = False  # post_install commands will run (they may need pip in the venv)
    jail: Jail | None = None  # the sandbox of every step (None: unconfined, execution.sandbox "off")

    def which(self, tool: str) -> str | None:
        return shutil.which(tool)

    def run(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        extra_env: dict[str, str] | None = None,
        path_prepend: Sequence[Path] = (),
    ) -> int:
        env = build_env(extra_env, path_prepend)
        return run_step(
            name, argv, cwd=cwd or self.folder, log=self.log, timeout=self.timeout, env=env, jail=self.jail
        )

    def files(self, *suffixes: str) -> list[str]:
        """Relative paths (to the component folder) of files ending in `suffixes`, skipping tool dirs."""
        from .detect import SKIP_DIRS

        out = []
        for p in sorted(self.folder.rglob("*")):
            rel = p.relative_to(self.folder)
            if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
                continue
            if p.is_file() and not p.is_symlink() and p.name.lower().endswith(suffixes):
                out.append(rel.as_posix())
        return out

    def read(self, name: str) -> str:
        try:
            return (self.folder / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def load_toml(text: str) -> dict[str, Any]:
    """Parse TOML; {} when malformed. On Python 3.10 (no tomllib) a rough reader of tables and strings."""
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        return _rough_toml(text)
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError:
        return {}


def _rough_toml(text: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    cur = root
    for line in text.splitlines():
        if m := re.match(r"^\s*\[+\s*([^\]]+?)\s*\]+", line):
            cur = root
            for part in m.group(1).split("."):
                nxt = cur.setdefault(part.strip().strip('"'), {})
                cur = nxt if isinstance(nxt, dict) else {}
        elif m := re.match(r'^\s*([A-Za-z0-9_.-]+)\s*=\s*"([^"]*)"', line):
            cur.setdefault(m.group(1), m.group(2))
    return root
