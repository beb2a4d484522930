"""`import` as a library call: read a source into batches, merge them into a tag, write once."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..taskmaster.store import TaskStore
from .detect import read_local
from .items import SourceBatch
from .merge import MergeReport, merge_batch


@dataclass
class ImportResult:
    tag: str
    results: list[tuple[SourceBatch, MergeReport]] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False

    @property
    def changed(self) -> bool:
        return any(r.created or r.updated for _, r in self.results)

    def lines(self) -> list[str]:
        out = []
        verb = "would import" if self.dry_run else "imported"
        for batch, rep in self.results:
            out.append(f"{batch.kind} {batch.origin}: {verb} {rep.summary()} (tag {self.tag})")
            if rep.created:
                out.append(f"  new tasks: {', '.join(rep.created)}")
            if rep.updated:
                out.append(f"  updated: {', '.join(rep.updated)}")
            out += [f"  note: {n}" for n in rep.notices]
        return out


def merge_into(store: TaskStore, batches: list[SourceBatch], tag: str | None, dry_run: bool) -> ImportResult:
    """Merge on a copy first; write (under the lock, merging again on what is on disk then) only when the
    copy changed, so a re-import of an unchanged source leaves tasks.json untouched."""
    data = copy.deepcopy(store.load(tag))  # the tag asked for, else the current one (as `list` picks it)
    name = data.name
    result = ImportResult(name, [(b, merge_batch(data, b)) for b in batches], dry_run=dry_run)
    if dry_run or not result.changed:
        return result
    with store.edit(name) as live:
        result.results = [(b, merge_batch(live, b)) for b in batches]
    result.written = True
    return result


def import_source(
    store: TaskStore,
    source: str,
    *,
    tag: str | None = None,
    fmt: str | None = None,
    dry_run: bool = False,
    github: Any = None,
) -> ImportResult:
    """Import `source` (a file, a folder, or `github:OWNER/REPO`) into the tag. `github` holds the GitHub
    filters and write-back choice (intake.github.GitHubOptions) for a GitHub source."""
    if source.startswith("github:") or fmt == "github":
        from .github import GitHubOptions, read_github

        batches = [read_github(source.removeprefix("github:"), github or GitHubOptions())]
    else:
        path = Path(source)
        if not path.is_absolute():
            path = Path.cwd() / path
        batches = read_local(path, store.root, fmt)
    return merge_into(store, batches, tag, dry_run)
