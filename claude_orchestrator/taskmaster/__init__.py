"""The Task Master-compatible task database (.taskmaster/tasks/tasks.json).

model (Task, Subtask, TagData; tolerant reader, strict writer), store (discovery, tags, locked atomic writes),
graph (validate, fix, next, ready set, critical path), ids (the one id order and id parser), ops (the non-AI
commands), moves (moving tasks and subtasks; turning one into the other), render (CLI output). networkx is
imported only by the graph methods that need it.
"""

from __future__ import annotations

from .graph import TaskGraph
from .model import PRIORITIES, STATUSES, Document, Subtask, TagData, Task, parse_document
from .store import TaskStore, find_taskmaster_dir, init_project
from .writer import dump_document

__all__ = [
    "PRIORITIES",
    "STATUSES",
    "Document",
    "Subtask",
    "TagData",
    "Task",
    "TaskGraph",
    "TaskStore",
    "dump_document",
    "find_taskmaster_dir",
    "init_project",
    "parse_document",
]
