"""Reading refs and worktree heads from the files git keeps them in, without starting a git process.

A branch's commit is its loose ref file (``<common>/refs/heads/<name>``) or, failing that, its line in
``packed-refs``; a worktree's HEAD is ``<common>/HEAD`` (the main worktree) or
``<common>/worktrees/<id>/HEAD``. git replaces these files by renaming a lock file into place, so a read
sees the old or the new value, never half of one. Where the repository keeps refs another way (the reftable
backend) every read answers None and the caller asks git.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


@dataclass(frozen=True)
class HeadInfo:
    """One working tree: where it is and what its HEAD points at (a full ref name, or None when detached)."""

    path: Path
    branch: str | None


class Unknown(Exception):
    """The ref could not be read from the files: ask git."""


class RefReader:
    """In-process reads of one repository's refs (`common_dir`: its git common dir)."""

    def __init__(self, common_dir: Path) -> None:
        self.common_dir = common_dir
        self.usable = _files_backend(common_dir)

    def read(self, ref: str, _depth: int = 0) -> str | None:
        """The commit id `ref` (a full name such as refs/heads/main) points at; None when the ref does not
        exist. Raises Unknown when the files cannot tell (then ask git)."""
        if not self.usable or _depth > 5 or ".." in ref or not ref.startswith("refs/"):
            raise Unknown(ref)
        try:
            text = (self.common_dir / ref).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return self._packed(ref)
        except OSError as e:  # a folder where the ref would be, unreadable …
            raise Unknown(ref) from e
        if text.startswith("ref: "):
            return self.read(text[5:].strip(), _depth + 1)
        if not _SHA.fullmatch(text):
            raise Unknown(ref)
        return text

    def _packed(self, ref: str) -> str | None:
        try:
            lines = (self.common_dir / "packed-refs").read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise Unknown(ref) from e
        for line in lines:
            sha, _, name = line.partition(" ")
            if name == ref:
                if not _SHA.fullmatch(sha):
                    raise Unknown(ref)
                return sha
        return None

    def head(self, git_dir: Path) -> tuple[str | None, str | None]:
        """(the branch ref HEAD names or None when detached, the commit id or None) of the working tree
        whose git dir is `git_dir`."""
        try:
            text = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            return None, None
        if text.startswith("ref: "):
            ref = text[5:].strip()
            try:
                return ref, self.read(ref)
            except Unknown:
                return ref, None
        return None, text if _SHA.fullmatch(text) else None

    def heads(self, root: Path) -> list[HeadInfo]:
        """Every working tree of the repository (`root`: the main one) with what its HEAD names."""
        found = [HeadInfo(root, self.head(self.common_dir)[0])]
        base = self.common_dir / "worktrees"
        try:
            entries = sorted(base.iterdir())
        except OSError:
            return found
        for d in entries:
            try:
                gitfile = Path((d / "gitdir").read_text(encoding="utf-8").strip())
            except OSError:
                continue
            found.append(HeadInfo(gitfile.parent, self.head(d)[0]))
        return found


def worktree_git_dir(path: Path) -> Path | None:
    """The git dir of the linked worktree at `path` (what its ``.git`` file names), or None."""
    try:
        text = (path / ".git").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text.startswith("gitdir: "):
        return None
    d = Path(text[8:].strip())
    d = d if d.is_absolute() else (path / d).resolve()
    return d if d.is_dir() else None


def _files_backend(common_dir: Path) -> bool:
    """False when the repository keeps its refs in a reftable (or the config cannot be read)."""
    try:
        config = (common_dir / "config").read_text(encoding="utf-8", errors="replace").lower()
    except OSError:
        return False
    return "refstorage" not in config.replace(" ", "")
