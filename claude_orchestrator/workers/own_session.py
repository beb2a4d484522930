"""A program started in a session of its own, for the programs we do not start ourselves.

The Claude Agent SDK starts the Claude Code CLI in the orchestrator's process group, so the terminal's Ctrl-C
(sent to the whole foreground group) would reach every worker at once and end its work. `launcher(path)`
gives a small executable to hand the SDK instead: it calls setsid() and becomes the real program (same pid,
same arguments, same environment), so one Ctrl-C reaches only the orchestrator, which then stops its workers
as it decides (a grace period, then a kill of the whole tree: process.kill_tree).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import shutil
import sys
import tempfile
import threading
from pathlib import Path

# runs under `python -I -S -c`: no site, no environment, so it starts in a few milliseconds
_BECOME = (
    "import os, sys\ntry:\n    os.setsid()\nexcept OSError:\n    pass\nos.execv(sys.argv[1], sys.argv[1:])\n"
)
_made: dict[str, Path] = {}
_lock = threading.Lock()
_folder: Path | None = None


def _own_folder() -> Path:
    global _folder
    if _folder is None or not _folder.is_dir():
        _folder = Path(tempfile.mkdtemp(prefix="orchestrator-session-"))
        atexit.register(shutil.rmtree, _folder, True)
    return _folder


def launcher(program: Path | str) -> Path:
    """An executable that runs `program` with the arguments it is given, in a new session. Made once per
    program and process; removed when the process exits. Where there is no setsid (not POSIX), `program`."""
    if not hasattr(os, "setsid"):
        return Path(program)
    key = str(program)
    with _lock:
        made = _made.get(key)
        if made is not None and made.is_file():
            return made
        path = _own_folder() / f"{len(_made)}-{Path(key).name}"
        script = (
            "#!/bin/sh\n"
            f'exec {shlex.quote(sys.executable)} -I -S -c {shlex.quote(_BECOME)} {shlex.quote(key)} "$@"\n'
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_text(script, encoding="utf-8")
        tmp.chmod(0o700)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        tmp.rename(path)
        _made[key] = path
        return path
