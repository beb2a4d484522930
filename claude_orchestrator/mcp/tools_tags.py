"""Tag tools: list_tags, add_tag, delete_tag, use_tag, rename_tag, copy_tag (the store's tag operations)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ..errors import InputError, NotFoundError
from ..taskmaster.model import DEFAULT_TAG
from .spec import FILE, REQUIRED, Call, Param, ToolSpec


def list_tags(c: Call) -> dict[str, Any]:
    doc = c.store.read_document()
    current = c.store.current_tag()
    names = list(doc.tags) or [DEFAULT_TAG]
    names.sort(key=lambda n: n != current)  # the current tag first, then file order
    rows = []
    for name in names:
        tag = doc.tag(name)
        subs = Counter(s.status for t in tag.tasks for s in t.subtasks)
        row: dict[str, Any] = {
            "name": name,
            "isCurrent": name == current,
            "taskCount": len(tag.tasks),
            "completedTasks": sum(1 for t in tag.tasks if t.status == "done"),
            "statusBreakdown": dict(Counter(t.status for t in tag.tasks)),
            "subtaskCounts": {"totalSubtasks": sum(subs.values()), "subtasksByStatus": dict(subs)},
            "created": tag.metadata.get("created"),
            "description": tag.metadata.get("description"),
        }
        if c.flag("showMetadata"):
            row["metadata"] = tag.metadata
        rows.append(row)
    return {
        "tags": rows,
        "currentTag": current,
        "totalTags": len(rows),
        "message": f"Found {len(rows)} tag(s)",
    }


def _branch_tag(c: Call) -> tuple[str, str]:
    """The current git branch, and the tag name made from it."""
    head = c.store.root / ".git" / "HEAD"
    try:
        ref = head.read_text(encoding="utf-8").strip()
    except OSError:
        raise InputError(f"{c.store.root} is not a git repository (fromBranch needs one)") from None
    if not ref.startswith("ref: refs/heads/"):
        raise InputError("HEAD is detached: no branch to name the tag after")
    branch = ref.removeprefix("ref: refs/heads/")
    return branch, re.sub(r"[^A-Za-z0-9_-]+", "-", branch).strip("-").lower() or "branch"


def add_tag(c: Call) -> dict[str, Any]:
    branch = None
    if c.flag("fromBranch"):
        branch, name = _branch_tag(c)
    else:
        name = c.need("name")
    source = c.text("copyFromTag") or (c.store.current_tag() if c.flag("copyFromCurrent") else None)
    data = c.store.add_tag(name, description=c.text("description"), copy_from=source)
    out = {
        "tagName": name,
        "created": True,
        "tasksCopied": len(data.tasks),
        "sourceTag": source,
        "description": data.metadata.get("description"),
        "message": f'Successfully created tag "{name}"',
    }
    if branch is not None:
        out["branchName"] = branch
        out["message"] = f'Successfully created tag "{name}" from git branch "{branch}"'
    return out


def _count(c: Call, name: str) -> int:
    doc = c.store.read_document()
    if name not in doc.tags:
        raise NotFoundError(f"tag '{name}' does not exist (tags: {', '.join(doc.tags) or DEFAULT_TAG})")
    return len(doc.tags[name].tasks)


def delete_tag(c: Call) -> dict[str, Any]:
    name = c.need("name")
    n = _count(c, name)
    was_current = c.store.current_tag() == name
    c.store.remove_tag(name)
    return {
        "tagName": name,
        "deleted": True,
        "tasksDeleted": n,
        "wasCurrentTag": was_current,
        "switchedToMaster": was_current,
        "message": f'Successfully deleted tag "{name}"',
    }


def use_tag(c: Call) -> dict[str, Any]:
    name = c.need("name")
    previous = c.store.current_tag()
    n = _count(c, name)
    c.store.use_tag(name)
    return {
        "tagName": name,
        "switched": True,
        "previousTag": previous,
        "taskCount": n,
        "message": f'Successfully switched to tag "{name}"',
    }


def rename_tag(c: Call) -> dict[str, Any]:
    old, new = c.need("oldName"), c.need("newName")
    n = _count(c, old)
    was_current = c.store.current_tag() == old
    c.store.rename_tag(old, new)
    return {
        "oldName": old,
        "newName": new,
        "renamed": True,
        "taskCount": n,
        "wasCurrentTag": was_current,
        "message": f'Successfully renamed tag from "{old}" to "{new}"',
    }


def copy_tag(c: Call) -> dict[str, Any]:
    source, target = c.need("sourceName"), c.need("targetName")
    data = c.store.add_tag(target, description=c.text("description"), copy_from=source)
    return {
        "sourceName": source,
        "targetName": target,
        "copied": True,
        "tasksCopied": len(data.tasks),
        "description": data.metadata.get("description"),
        "message": f'Successfully copied tag from "{source}" to "{target}"',
    }


_NAME = Param("name", str, REQUIRED, "Tag name.")

TOOLS = [
    ToolSpec(
        "list_tags",
        "List all tags with task counts",
        list_tags,
        (Param("showMetadata", bool, None, "Include each tag's metadata."), FILE),
        title="List Tags",
        read_only=True,
    ),
    ToolSpec(
        "add_tag",
        "Create a new tag for organizing tasks in different contexts",
        add_tag,
        (
            Param("name", str, None, "Name of the new tag (not needed with fromBranch)."),
            Param("copyFromCurrent", bool, None, "Copy the current tag's tasks."),
            Param("copyFromTag", str, None, "Copy this tag's tasks."),
            Param("fromBranch", bool, None, "Name the tag after the current git branch."),
            Param("description", str, None, "Description of the tag."),
            FILE,
        ),
        title="Add Tag",
    ),
    ToolSpec(
        "delete_tag",
        "Delete an existing tag and all its tasks",
        delete_tag,
        (_NAME, Param("yes", bool, None, "Accepted for compatibility."), FILE),
        title="Delete Tag",
        destructive=True,
    ),
    ToolSpec(
        "use_tag",
        "Switch to a different tag context for task operations",
        use_tag,
        (_NAME, FILE),
        title="Use Tag",
        destructive=True,
    ),
    ToolSpec(
        "rename_tag",
        "Rename an existing tag",
        rename_tag,
        (
            Param("oldName", str, REQUIRED, "Current name."),
            Param("newName", str, REQUIRED, "New name."),
            FILE,
        ),
        title="Rename Tag",
        destructive=True,
    ),
    ToolSpec(
        "copy_tag",
        "Copy an existing tag to a new tag with all its tasks",
        copy_tag,
        (
            Param("sourceName", str, REQUIRED, "Tag to copy."),
            Param("targetName", str, REQUIRED, "Name of the new tag."),
            Param("description", str, None, "Description of the new tag."),
            FILE,
        ),
        title="Copy Tag",
    ),
]
