"""Work from where it already is: tasks imported from GitHub issues, spec-kit and Kiro `tasks.md`, markdown
checklists, Backlog.md folders, `.task.md` drop files and `.ai_docs`, merged idempotently into the Task
Master database (matched by `metadata.source`), and a watched drop folder.

    import_source(store, "specs/001-chat/tasks.md")       -> ImportResult
    import_source(store, "github:owner/repo", github=GitHubOptions(labels=["ready"]))
"""

from __future__ import annotations

from .detect import FORMATS, read_local
from .items import SourceBatch, SourceItem
from .merge import MergeReport, merge_batch
from .service import ImportResult, import_source, merge_into

__all__ = [
    "FORMATS",
    "ImportResult",
    "MergeReport",
    "SourceBatch",
    "SourceItem",
    "import_source",
    "merge_batch",
    "merge_into",
    "read_local",
]
