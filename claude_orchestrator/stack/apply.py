"""Write a validated plan into a fresh folder under the output folder, never outside it."""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

from ..errors import PlanError
from .plan import Plan

_EXECUTABLE_NAMES = {"run.sh", "gradlew", "mvnw"}


def slugify(name: str) -> str:
    """A safe folder name: lower-case letters, digits, '-', '_' and '.'; never empty, never dot-led."""
    s = re.sub(r"[^a-z0-9._-]+", "-", name.strip().lower()).strip("-.")
    return s[:64] or "project"


def _fresh_dir(out_dir: Path, slug: str) -> Path:
    for n in range(1, 1000):
        cand = out_dir / (slug if n == 1 else f"{slug}-{n}")
        try:
            cand.mkdir()
        except FileExistsError:
            continue
        return cand
    raise PlanError([f"no free folder name for {slug!r} under {out_dir}"])


def _mkdirs_inside(root: Path, rel_parts: list[str]) -> Path:
    """Create rel_parts under root one level at a time, refusing any existing symlink on the way."""
    cur = root
    for part in rel_parts:
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            cur.mkdir()
            continue
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise PlanError([f"{cur.relative_to(root)} is not a plain folder (symlink or file)"])
    return cur


def write_plan(plan: Plan, out_dir: Path) -> Path:
    """Write every file of `plan` into out_dir/<slug>[-N]; returns the project folder.

    The output folder itself may be a symlink (it is resolved first); inside the project folder no
    path may pass through a symlink or end outside it. On any failure the new folder is removed.
    """
    base = Path(out_dir).expanduser()
    base.mkdir(parents=True, exist_ok=True)
    base = base.resolve()
    project = _fresh_dir(base, slugify(plan.name))
    try:
        for f in plan.files:
            parts = f.path.split("/")
            parent = _mkdirs_inside(project, parts[:-1])
            dest = parent / parts[-1]
            real_parent = parent.resolve()
            if real_parent != project and project not in real_parent.parents:
                raise PlanError([f"{f.path}: resolves outside the project folder"])
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            mode = 0o755 if parts[-1] in _EXECUTABLE_NAMES or parts[-1].endswith(".sh") else 0o644
            fd = os.open(dest, flags, mode)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(f.content)
            os.chmod(dest, mode)
    except BaseException:
        shutil.rmtree(project, ignore_errors=True)
        raise
    return project
