"""bubblewrap: the argument list that confines one command.

Inside, the whole filesystem is read-only except the folders the command works in; a ``.git`` in those
folders stays read-only; ``/tmp`` is private and empty; ``/dev`` and ``/proc`` are minimal and new (the
command sees only its own processes, so not the environment of ours); secret files of the home directory
and the project are masked; every capability is dropped (also when we run as root); the network is
cut unless allowed. When our process dies, bubblewrap and everything it started die with it, and when
the command exits, nothing it started outlives it (a new PID namespace). Tool caches that would live in
the (read-only) home directory go to the private ``/tmp``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Paths under $HOME that hold credentials: masked (an empty folder, or /dev/null) inside the sandbox.
HOME_SECRETS = (
    ".ssh",
    ".aws",
    ".azure",
    ".gnupg",
    ".kube",
    ".docker",
    ".claude",
    ".claude.json",
    ".config/gcloud",
    ".config/gh",
    ".netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".cargo/credentials",
    ".cargo/credentials.toml",
)
# Files of the project folder (and each writable folder) that are masked: dotenv files.
PROJECT_SECRETS = (".env", ".env.local", ".env.production", ".env.development")

# Caches tools keep in the home directory, sent to the private /tmp (the home directory is read-only).
CACHE_ENV = {
    "TMPDIR": "/tmp",
    "XDG_CACHE_HOME": "/tmp/.cache",
    "npm_config_cache": "/tmp/.npm",
    "GOPATH": "/tmp/go",
    "GOCACHE": "/tmp/.cache/go-build",
    "CARGO_HOME": "/tmp/.cargo",
    "GRADLE_USER_HOME": "/tmp/.gradle",
    "MAVEN_OPTS": "-Dmaven.repo.local=/tmp/.m2/repository",
}

_BASE = ("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp")
_ISOLATE = ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--cap-drop", "ALL")


def probe_argv(bwrap: str) -> list[str]:
    """What we run once to learn whether bubblewrap works here, with the flags every command gets."""
    return [bwrap, *_BASE, *_ISOLATE, "--unshare-net", "true"]


@functools.lru_cache(maxsize=8)
def probe(bwrap: str | None) -> str | None:
    """None when `bwrap` runs here with our flags; else one line saying why not. Cached per binary."""
    from ..process import run_process_group

    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    try:
        r = run_process_group(probe_argv(bwrap), cwd="/", timeout=20, max_output=2000, merge_stderr=True)
    except OSError as e:
        return f"{bwrap} cannot start: {e.strerror or e}"
    if r.ok:
        return None
    why = r.stdout.strip().splitlines()[-1:] or [f"exit status {r.returncode}"]
    return f"{bwrap} fails here: {why[0][:200]}"


def _existing(paths: Iterable[Path]) -> list[Path]:
    out = []
    for p in paths:
        try:
            if p.exists() or p.is_symlink():
                out.append(p)
        except OSError:
            continue
    return out


def _mask(path: Path) -> list[str]:
    """Arguments that hide `path` (a folder becomes an empty tmpfs, a file /dev/null)."""
    real = Path(os.path.realpath(path))
    if real.is_dir():
        return ["--tmpfs", str(real)]
    return ["--dev-bind", "/dev/null", str(real)] if real.exists() else []


def _tools_under_tmp() -> list[str]:
    """This Python and the folders on PATH that live under /tmp (a checkout or venv there): the private
    /tmp would hide them, so they are bound again, read-only."""
    cands = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))]
    cands += [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    out: list[str] = []
    for c in cands:
        real = os.path.realpath(c)
        if (real == "/tmp" or not real.startswith("/tmp/")) or not os.path.isdir(real):
            continue
        if not any(real == o or real.startswith(o + "/") for o in out):
            out = [o for o in out if not o.startswith(real + "/")] + [real]
    return sorted(out)


@dataclass(frozen=True)
class Jail:
    """One confinement: which folders are writable, whether the network is on."""

    bwrap: str
    writable: tuple[Path, ...]
    network: bool = False
    protect: tuple[Path, ...] = ()  # more paths inside the writable folders that stay read-only
    home: Path | None = None

    def masked(self) -> list[Path]:
        home = [self.home / name for name in HOME_SECRETS] if self.home else []
        project = [w / name for w in self.writable for name in PROJECT_SECRETS]
        return _existing([*home, *project])

    def args(self) -> list[str]:
        """bwrap's options (without the command)."""
        out = [*_BASE]
        for tool in _tools_under_tmp():
            out += ["--ro-bind", tool, tool]
        for w in self.writable:
            out += ["--bind", str(w), str(w)]
        ro = _existing([*(w / ".git" for w in self.writable), *self.protect])
        for p in ro:
            real = os.path.realpath(p)
            out += ["--ro-bind", real, real]
        for p in self.masked():
            out += _mask(p)
        out += [*_ISOLATE]
        if not self.network:
            out.append("--unshare-net")
        for k, v in CACHE_ENV.items():
            out += ["--setenv", k, v]
        return out

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """`argv` run inside the sandbox (its working folder is kept)."""
        return [self.bwrap, *self.args(), "--", *[str(a) for a in argv]]
