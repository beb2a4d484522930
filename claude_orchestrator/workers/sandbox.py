"""The api backend's tools, confined to one worktree.

Paths are relative to `root` (absolute paths are accepted only inside it), resolved component by component
without the kernel ever following a link (``confine/paths.py``): ``..`` above the root and symlinks that
resolve outside are refused, nothing is written under ``.git``, and files are replaced by a rename, so a
link swapped in after the check or a hard link to an outside file is never written through. Commands run with ``bash -c`` in
their own process group, killed with all their children at the timeout, with secrets scrubbed from the
environment (``process.scrubbed_env``, the one policy for every command we start), inside bubblewrap
(``confine/``): the worktree writable, everything else read-only, no network unless configured. Where
bubblewrap cannot run, commands are refused unless ``execution.sandbox`` is ``"off"``.
"""

from __future__ import annotations

import errno
import fnmatch
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..confine import CommandPolicy
from ..confine.paths import Beneath
from ..errors import SandboxError
from ..process import run_process_group, scrubbed_env

SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache"}
MAX_READ = 20_000_000


class Sandbox:
    def __init__(
        self,
        root: Path,
        command_timeout: float = 120.0,
        *,
        cancel: threading.Event | None = None,
        env: Mapping[str, str] | None = None,
        max_output: int = 30_000,
        max_matches: int = 200,
        max_entries: int = 500,
        policy: CommandPolicy | None = None,
        protect: tuple[Path, ...] = (),
    ) -> None:
        """`policy` confines run_command (default: the default config's); `protect` names more paths
        its commands may not write (the main repository's .git)."""
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise SandboxError(f"{root}: the sandbox root is not a directory")
        self.tree = Beneath(self.root)
        self.command_timeout = command_timeout
        self.cancel = cancel
        self.env = scrubbed_env(env)
        self.max_output, self.max_matches, self.max_entries = max_output, max_matches, max_entries
        self.policy = policy if policy is not None else CommandPolicy.from_config()
        self.protect = protect

    # -- paths ----------------------------------------------------------------------------------------

    def resolve(self, path: str, *, write: bool = False) -> list[str]:
        """The real components beneath root that `path` names (confine/paths.py), or SandboxError."""
        try:
            return self.tree.parts(path, write=write)
        except NotADirectoryError:
            raise SandboxError(f"{path}: not a directory on the way") from None
        except OSError as e:
            raise SandboxError(f"{path}: cannot resolve: {e.strerror or e}") from None

    @staticmethod
    def rel(parts: list[str]) -> str:
        return "/".join(parts) or "."

    # -- tools ----------------------------------------------------------------------------------------

    def read_file(self, path: str, offset: int | None = None, limit: int | None = None) -> str:
        parts = self.resolve(path)
        lines = self.tree.read(path, parts, MAX_READ).decode("utf-8", errors="replace").splitlines()
        if not lines:
            return f"({self.rel(parts)} is empty)"
        start = max(1, offset or 1)
        stop = len(lines) if limit is None else min(len(lines), start - 1 + max(0, limit))
        out, size = [], 0
        for n in range(start, stop + 1):
            line = f"{n:6}\t{lines[n - 1]}"
            if size + len(line) > self.max_output:
                out.append(f"[truncated at line {n}; read on with offset={n}]")
                break
            out.append(line)
            size += len(line) + 1
        return "\n".join(out)

    def write_file(self, path: str, content: str) -> str:
        if not isinstance(content, str):
            raise SandboxError("content must be a string")
        parts = self.resolve(path, write=True)
        data = content.encode("utf-8")
        self._write(path, parts, data)
        return f"wrote {len(data)} bytes to {self.rel(parts)}"

    def _write(self, path: str, parts: list[str], data: bytes) -> None:
        try:
            self.tree.write(path, parts, data)
        except NotADirectoryError:
            raise SandboxError(f"{path}: not a directory on the way") from None
        except OSError as e:
            if e.errno == errno.ELOOP:  # a link swapped in on the way since the check
                raise SandboxError(f"{path}: resolves outside the workspace (symlink)") from None
            raise

    def edit_file(self, path: str, old: str, new: str) -> str:
        if not isinstance(old, str) or not isinstance(new, str) or old == "":
            raise SandboxError("old must be a non-empty string and new a string")
        parts = self.resolve(path, write=True)
        text = self.tree.read(path, parts, MAX_READ).decode("utf-8")
        n = text.count(old)
        if n == 0:
            raise SandboxError(
                f"{self.rel(parts)}: old text not found (it must match exactly, whitespace included)"
            )
        if n > 1:
            raise SandboxError(
                f"{self.rel(parts)}: old text occurs {n} times; include more context so it matches once"
            )
        self._write(path, parts, text.replace(old, new, 1).encode("utf-8"))
        return f"edited {self.rel(parts)}"

    def list_dir(self, path: str = ".") -> str:
        parts = self.resolve(path)
        if self.tree.kind(parts) != "dir":
            raise SandboxError(f"{path}: not a directory")
        mark = {"dir": "/", "link": "@", "file": ""}
        out = [name + mark[kind] for name, kind in self.tree.entries(parts)]
        more = len(out) - self.max_entries
        out = out[: self.max_entries] + ([f"[{more} more entries]"] if more > 0 else [])
        return "\n".join(out) if out else f"({self.rel(parts)} is empty)"

    def grep(self, pattern: str, path: str = ".", glob: str | None = None) -> str:
        try:
            rx = re.compile(pattern)
        except (re.error, TypeError) as e:
            raise SandboxError(f"invalid regular expression: {e}") from None
        base = self.resolve(path)
        files = [base] if self.tree.kind(base) != "dir" else self._walk(base, glob)
        hits: list[str] = []
        for parts in files:
            try:
                data = self.tree.read(path, parts, 2_000_000)
            except (SandboxError, OSError):
                continue
            if b"\0" in data[:8192]:
                continue
            for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
                if rx.search(line):
                    hits.append(f"{self.rel(parts)}:{n}:{line[:300]}")
                    if len(hits) >= self.max_matches:
                        return "\n".join([*hits, f"[stopped after {self.max_matches} matches]"])
        return "\n".join(hits) if hits else "no matches"

    def _walk(self, base: list[str], glob: str | None) -> list[list[str]]:
        """Files beneath root/base, not entering linked folders; a linked file is read only if its
        target is beneath root."""
        out: list[list[str]] = []
        todo = [base]
        while todo:
            here = todo.pop(0)
            try:
                entries = self.tree.entries(here)
            except OSError:
                continue
            for name, kind in entries:
                if kind == "dir":
                    if name not in SKIP_DIRS:
                        todo.append([*here, name])
                    continue
                rel = self.rel([*here, name])
                if glob and not (fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(name, glob)):
                    continue
                try:
                    out.append(self.resolve(rel) if kind == "link" else [*here, name])
                except SandboxError:
                    continue
        return out

    def run_command(self, command: str, timeout: float | None = None) -> str:
        return self._command(command, timeout)[0]

    def _command(self, command: str, timeout: float | None) -> tuple[str, bool]:
        if not isinstance(command, str) or not command.strip():
            raise SandboxError("command must be a non-empty string")
        limit = self.command_timeout if timeout is None else min(float(timeout), self.command_timeout)
        jail = self.policy.jail([self.root], protect=self.protect)  # SandboxUnavailableError: refused
        argv = ["bash", "-c", command]
        r = run_process_group(
            jail.wrap(argv) if jail else argv,
            cwd=self.root,
            env=self.env,
            timeout=limit,
            cancel=self.cancel,
            merge_stderr=True,
            max_output=self.max_output,
        )
        if r.timed_out:
            return f"{r.stdout}\n[killed: timed out after {limit:g}s]", True
        if r.cancelled:
            return f"{r.stdout}\n[killed: the task was cancelled]", True
        return f"{r.stdout}\n[exit code {r.returncode}]", r.returncode != 0

    # -- the model's view -----------------------------------------------------------------------------

    def tool_specs(self) -> list[dict[str, Any]]:
        return [dict(name=n, description=d, input_schema=s) for n, (d, s, _) in _TOOLS.items()]

    def dispatch(self, name: str, input: Any) -> tuple[str, bool]:
        """Run one tool call; returns (text, is_error). Refusals and bad input come back as errors."""
        spec = _TOOLS.get(name)
        if spec is None:
            return f"unknown tool {name!r}; available: {', '.join(_TOOLS)}", True
        if not isinstance(input, dict):
            return "tool input must be a JSON object", True
        schema = spec[1]
        missing = [k for k in schema["required"] if k not in input]
        extra = [k for k in input if k not in schema["properties"]]
        if missing or extra:
            return f"{name}: missing {missing or 'nothing'}, unexpected {extra or 'nothing'}", True
        try:
            return spec[2](self, input)
        except SandboxError as e:
            return str(e), True
        except (OSError, UnicodeError, ValueError, TypeError) as e:
            return f"{name} failed: {type(e).__name__}: {e}", True


def _obj(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


_S, _I, _N = {"type": "string"}, {"type": "integer", "minimum": 0}, {"type": "number", "exclusiveMinimum": 0}
_Call = Callable[[Sandbox, dict[str, Any]], tuple[str, bool]]
_TOOLS: dict[str, tuple[str, dict[str, Any], _Call]] = {
    "read_file": (
        "Read a text file of the workspace, with line numbers. offset is the first line (1-based), "
        "limit the number of lines.",
        _obj({"path": _S, "offset": _I, "limit": _I}, ["path"]),
        lambda s, i: (s.read_file(i["path"], i.get("offset"), i.get("limit")), False),
    ),
    "write_file": (
        "Create or overwrite a file of the workspace with the given content.",
        _obj({"path": _S, "content": _S}, ["path", "content"]),
        lambda s, i: (s.write_file(i["path"], i["content"]), False),
    ),
    "edit_file": (
        "Replace the one exact occurrence of old with new in a file. Fails if old is missing or not unique.",
        _obj({"path": _S, "old": _S, "new": _S}, ["path", "old", "new"]),
        lambda s, i: (s.edit_file(i["path"], i["old"], i["new"]), False),
    ),
    "list_dir": (
        "List a directory of the workspace (directories end with /, symlinks with @).",
        _obj({"path": _S}, []),
        lambda s, i: (s.list_dir(i.get("path", ".")), False),
    ),
    "grep": (
        "Search files for a Python regular expression; prints path:line:text. glob filters file names "
        "(e.g. *.py). Skips .git, node_modules, __pycache__, .venv and binary files.",
        _obj({"pattern": _S, "path": _S, "glob": _S}, ["pattern"]),
        lambda s, i: (s.grep(i["pattern"], i.get("path", "."), i.get("glob")), False),
    ),
    "run_command": (
        "Run a shell command (bash -c) in the workspace root; output is stdout and stderr, bounded. "
        "It is killed with its children at the timeout (seconds).",
        _obj({"command": _S, "timeout": _N}, ["command"]),
        lambda s, i: s._command(i["command"], i.get("timeout")),
    ),
}
