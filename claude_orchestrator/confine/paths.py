"""File access beneath one folder that no link can lead out of.

A path is resolved component by component from the folder: each directory is opened relative to the last
one with ``O_NOFOLLOW | O_DIRECTORY``, so the kernel never follows a link on our behalf. A symlink met on
the way is read (``readlinkat``) and its target resolved the same way; a target that leaves the folder,
``..`` above it, or an absolute path elsewhere is refused. A file is written by creating a new file beside
it and renaming it into place: a symlink swapped in after the check is replaced, never written through,
and a hard link to an outside file is unlinked from the folder, never written through.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..errors import SandboxError

MAX_LINKS = 40
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # a FIFO does not block the open


def _outside(path: str, why: str = "outside the workspace") -> SandboxError:
    return SandboxError(f"{path}: {why}")


class Beneath:
    """Paths beneath `root`, resolved without ever letting the kernel follow a link."""

    def __init__(self, root: Path) -> None:
        self.given = Path(os.path.abspath(root))
        self.root = Path(root).resolve()

    # -- resolution -------------------------------------------------------------------------------------

    def _relative(self, path: str, target: str) -> list[str]:
        """The components of `target` relative to root (absolute targets must lie beneath root)."""
        if not os.path.isabs(target):
            return [c for c in target.split("/") if c not in ("", ".")]
        parts = Path(target).parts
        for base in (self.root, self.given):
            if parts[: len(base.parts)] == base.parts:
                return [c for c in parts[len(base.parts) :] if c != "."]
        raise _outside(path)

    @contextlib.contextmanager
    def _dir(self, parts: list[str], *, create: bool = False) -> Iterator[int]:
        """An fd of the directory root/parts, opened one component at a time, never through a link."""
        fd = os.open(self.root, _DIR)
        try:
            for name in parts:
                try:
                    nxt = os.open(name, _DIR, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, 0o777, dir_fd=fd)
                    nxt = os.open(name, _DIR, dir_fd=fd)
                os.close(fd)
                fd = nxt
            yield fd
        finally:
            os.close(fd)

    def _link(self, parts: list[str], name: str) -> str | None:
        """The target of root/parts/name when it is a symlink; None when it is not (or does not exist)."""
        try:
            with self._dir(parts) as fd:
                return os.readlink(name, dir_fd=fd)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            if e.errno == 22:  # EINVAL: not a link
                return None
            raise

    def parts(self, path: str, *, write: bool = False) -> list[str]:
        """The real components (no link, no ``..``) beneath root that `path` names, links resolved."""
        if not isinstance(path, str) or not path.strip() or "\0" in path:
            raise SandboxError("path must be a non-empty string")
        todo = self._relative(path, path)
        stack: list[str] = []
        links = 0
        while todo:
            name = todo.pop(0)
            if name == "..":
                if not stack:
                    raise _outside(
                        path, "resolves outside the workspace (symlink)" if links else "outside the workspace"
                    )
                stack.pop()
                continue
            target = self._link(stack, name)
            if target is None:
                stack.append(name)
                continue
            links += 1
            if links > MAX_LINKS:
                raise SandboxError(f"{path}: cannot resolve: too many levels of symbolic links")
            try:
                rest = self._relative(path, target)
            except SandboxError:
                raise _outside(path, "resolves outside the workspace (symlink)") from None
            if os.path.isabs(target):
                stack = []
            todo = rest + todo
        if write and ".git" in stack:
            raise SandboxError(f"{path}: writing inside .git is not allowed")
        return stack

    # -- operations -------------------------------------------------------------------------------------

    def kind(self, parts: list[str]) -> str | None:
        """ "file", "dir", "other" or None (missing) for root/parts, not following a final link."""
        if not parts:
            return "dir"
        try:
            with self._dir(parts[:-1]) as fd:
                st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISDIR(st.st_mode):
            return "dir"
        return "file" if stat.S_ISREG(st.st_mode) else "other"

    def read(self, path: str, parts: list[str], max_bytes: int) -> bytes:
        """The bytes of the regular file root/parts (SandboxError when not one, or too large)."""
        if not parts:
            raise SandboxError(f"{path}: no such file")
        try:
            with self._dir(parts[:-1]) as d:
                fd = os.open(parts[-1], _FILE, dir_fd=d)
        except (FileNotFoundError, NotADirectoryError):
            raise SandboxError(f"{path}: no such file") from None
        except OSError as e:
            raise SandboxError(f"{path}: cannot open: {e.strerror}") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise SandboxError(f"{path}: no such file")
        if st.st_size > max_bytes:
            os.close(fd)
            raise SandboxError(f"{path}: too large to read ({st.st_size} bytes); use grep or run_command")
        with os.fdopen(fd, "rb") as fh:
            return fh.read(max_bytes + 1)[:max_bytes]

    def write(self, path: str, parts: list[str], data: bytes) -> None:
        """Replace (or create) root/parts with `data`: a new file renamed into place, its parents created.
        An existing file's permission bits are kept."""
        if not parts:
            raise SandboxError(f"{path}: is a directory")
        name = parts[-1]
        with self._dir(parts[:-1], create=True) as d:
            try:
                old = os.stat(name, dir_fd=d, follow_symlinks=False)
            except FileNotFoundError:
                old = None
            if old is not None and stat.S_ISDIR(old.st_mode):
                raise SandboxError(f"{path}: is a directory")
            mode = (
                stat.S_IMODE(old.st_mode) & 0o777 if old is not None and stat.S_ISREG(old.st_mode) else None
            )
            tmp = f".{name[:100]}.{uuid.uuid4().hex[:12]}.tmp"
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=d
            )
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    if mode is not None:
                        os.fchmod(fh.fileno(), mode)
                os.rename(tmp, name, src_dir_fd=d, dst_dir_fd=d)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=d)
                raise

    def entries(self, parts: list[str]) -> list[tuple[str, str]]:
        """(name, "dir" | "link" | "file") of the directory root/parts, by name."""
        out = []
        with self._dir(parts) as fd, os.scandir(fd) as it:
            for e in it:
                kind = "link" if e.is_symlink() else "dir" if e.is_dir(follow_symlinks=False) else "file"
                out.append((e.name, kind))
        return sorted(out)
