"""The orchestrator's own git never runs a program someone planted in the repository.

A task's commands could write the main repository's ``.git`` (hooks, config). So every git command we run:

- has hooks off (``core.hooksPath=/dev/null``: no pre-commit, post-commit, post-checkout, post-merge,
  reference-transaction … hook runs) and no fsmonitor program (``core.fsmonitor``), and never shows
  signatures (``log.showSignature``, which runs gpg);
- diffs with ``--no-ext-diff --no-textconv`` (no ``diff.external``, ``diff.<driver>.command`` or
  ``textconv`` program);
- runs in a scrubbed environment (see :mod:`.gitops`).

Filters and merge drivers (``filter.<name>.clean/smudge/process`` and ``merge.<name>.driver`` in the git
config, chosen per path by ``.gitattributes``) are programs too, but turning them all off would change
what gets committed (git-lfs, git-crypt …). The :class:`ConfigGuard` takes the config as it is when the run
opens the repository (the user's own setup) and watches the config files: a filter, merge driver or
signing program that appears later is overridden on every later command line (filters pass content
through, a merge driver becomes git's own text merge, signing is off). Not covered: a config file changed
in the instant between that check and git reading it; programs git starts only for commands we never run
(network helpers, pagers, editors).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import WorkspaceError

log = logging.getLogger(__name__)

BASE_ARGS = (
    *("-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "core.quotepath=off"),
    *("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=", "-c", "log.showSignature=false"),
)
DIFF_ARGS = ("--no-ext-diff", "--no-textconv")  # for every `git diff` whose output we read

_FILTER = re.compile(r"filter\.(.+)\.(clean|smudge|process)", re.DOTALL)
_DRIVER = re.compile(r"merge\.(.+)\.driver", re.DOTALL)
_SIGNING = re.compile(r"gpg(\..+)?\.program|commit\.gpgsign", re.DOTALL)
_INCLUDE = re.compile(r"include\.path|includeif\..+\.path", re.DOTALL)
TEXT_MERGE = "git merge-file --marker-size=%L %A %O %B"  # git's own merge, as a merge driver


@dataclass(frozen=True)
class ConfigEntry:
    origin: str  # as git prints it: "file:<path>", "command line:" …
    key: str
    value: str

    @property
    def runs_program(self) -> bool:
        return any(p.fullmatch(self.key) for p in (_FILTER, _DRIVER, _SIGNING))


def parse_config(raw: str) -> list[ConfigEntry]:
    """The output of ``git config -z --show-origin --list``."""
    parts = raw.split("\0")
    entries = []
    for origin, item in zip(parts[0::2], parts[1::2], strict=False):  # a last, empty part
        key, _, value = item.partition("\n")
        entries.append(ConfigEntry(origin, key, value))
    return entries


def _name(name: str, key: str) -> str:
    if "=" in name or "\n" in name:
        raise WorkspaceError(f"git config {key!r} set during the run cannot be overridden: remove it")
    return name


def overrides(entries: Iterable[ConfigEntry]) -> tuple[str, ...]:
    """``-c`` arguments that neutralise these (program-running) config entries."""
    args: list[str] = []
    for e in entries:
        if m := _FILTER.fullmatch(e.key):
            name = _name(m.group(1), e.key)
            for k in ("clean", "smudge", "process"):
                args += ["-c", f"filter.{name}.{k}="]
            args += ["-c", f"filter.{name}.required=false"]
        elif m := _DRIVER.fullmatch(e.key):
            args += ["-c", f"merge.{_name(m.group(1), e.key)}.driver={TEXT_MERGE}"]
        elif _SIGNING.fullmatch(e.key):
            args += ["-c", "commit.gpgSign=false"]
    unique = dict.fromkeys(zip(args[0::2], args[1::2], strict=True))  # each pair once, in order
    return tuple(a for pair in unique for a in pair)


Stamp = tuple[tuple[str, int, int, int], ...]


class ConfigGuard:
    """Watches a repository's git config; program-running entries that were not there when :meth:`start`
    ran are overridden in :meth:`args`. `scan` returns ``git config -z --show-origin --list`` run in
    `root` (without this guard's overrides)."""

    def __init__(self, root: Path, common_dir: Path, scan: Callable[[], str]) -> None:
        self.root = root
        self.common_dir = common_dir
        self._scan = scan
        self._lock = threading.Lock()
        self._baseline: frozenset[tuple[str, str]] = frozenset()
        self._warned: set[tuple[str, str]] = set()
        self._files: list[Path] = []
        self._worktree_config = False
        self._stamp: Stamp | None = None
        self._args: tuple[str, ...] = ()

    def start(self) -> list[ConfigEntry]:
        """Take the config as it is now for the user's own; returns its program-running entries that live
        in the repository's own files (for a notice)."""
        with self._lock:
            entries = self._read()
            stamp = self._stat()
            self._baseline = frozenset((e.key, e.value) for e in entries if e.runs_program)
            self._stamp, self._args = stamp, ()
        mine = str(self.common_dir.resolve()) + os.sep
        return [e for e in entries if e.runs_program and self._file(e.origin).startswith(mine)]

    def args(self) -> tuple[str, ...]:
        """The ``-c`` overrides for the next git command (a few stat calls when nothing changed)."""
        stamp = self._stat()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    entries = self._read()
                    new = [e for e in entries if e.runs_program and (e.key, e.value) not in self._baseline]
                    for e in new:
                        if (e.key, e.value) not in self._warned:
                            self._warned.add((e.key, e.value))
                            log.warning(
                                "git config %s (%s) appeared during the run: overridden", e.key, e.origin
                            )
                    self._stamp, self._args = stamp, overrides(new)
        return self._args

    def _read(self) -> list[ConfigEntry]:
        entries = parse_config(self._scan())
        files = {self.common_dir / "config", self.common_dir / "config.worktree", *_global_files()}
        for e in entries:
            if e.origin.startswith("file:"):
                files.add(Path(self._file(e.origin)))
            if _INCLUDE.fullmatch(e.key) and e.origin.startswith("file:"):
                target = Path(os.path.expanduser(e.value))
                files.add(target if target.is_absolute() else Path(self._file(e.origin)).parent / target)
        self._worktree_config = any(
            e.key == "extensions.worktreeconfig" and e.value.lower() in ("true", "yes", "on", "1")
            for e in entries
        )
        self._files = sorted(files)
        return entries

    def _file(self, origin: str) -> str:
        path = Path(origin.partition(":")[2])
        return str(path if path.is_absolute() else self.root / path)

    def _stat(self) -> Stamp:
        files = self._files
        if self._worktree_config:
            files = [*files, *sorted(self.common_dir.glob("worktrees/*/config.worktree"))]
        stamp = []
        for f in files:
            try:
                st = f.stat()
            except OSError:
                stamp.append((str(f), 0, -1, 0))
                continue
            stamp.append((str(f), st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(stamp)


def _global_files() -> list[Path]:
    if os.environ.get("GIT_CONFIG_GLOBAL"):
        return [Path(os.environ["GIT_CONFIG_GLOBAL"])]
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return [Path(os.path.expanduser("~/.gitconfig")), Path(xdg) / "git" / "config"]
