"""GitHub issues as a source: the filtered issues of a repository become tasks, their sub-issues subtasks,
their native "blocked by" dependencies task dependencies, the checklist in a body the acceptance
criteria, and a `priority:*` label the priority."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...errors import InputError
from ..items import SourceBatch, SourceItem, files_in, priority_of, short_title
from ..markdown import checklist, list_items
from .client import GitHub

_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_PRIORITY_LABEL = re.compile(r"^priority\s*[:/=-]\s*(.+)$", re.IGNORECASE)


@dataclass
class GitHubOptions:
    labels: list[str] = field(default_factory=list)
    milestone: str | None = None  # a number, a title, `*` or `none`
    state: str = "open"  # open | closed | all
    assignee: str | None = None
    write_back: str | None = None  # None | comment | close


def issue_key(issue: dict[str, Any]) -> str:
    """`owner/repo#N`, from the issue's repository_url (sub-issues may live in other repositories)."""
    repo = "/".join(str(issue.get("repository_url", "")).rstrip("/").split("/")[-2:])
    return f"{repo}#{issue['number']}"


def _priority(labels: list[str]) -> str | None:
    for name in labels:
        m = _PRIORITY_LABEL.match(name.strip())
        if m and priority_of(m.group(1)):
            return priority_of(m.group(1))
    return None


def _description(body: str, title: str) -> str:
    """The body's first paragraph that is not a checklist or a heading."""
    for para in re.split(r"\n\s*\n", body):
        text = para.strip()
        if text and not text.startswith(("#", "- [", "* [", "<!--")):
            return " ".join(text.split())
    return title


def _item(issue: dict[str, Any], opts: GitHubOptions) -> SourceItem:
    body = (issue.get("body") or "").replace("\r\n", "\n")
    labels = [str(x.get("name", "")) for x in issue.get("labels") or [] if isinstance(x, dict)]
    lines = [(i + 1, line) for i, line in enumerate(body.splitlines())]
    meta: dict[str, Any] = {
        "url": issue.get("html_url"),
        "number": issue["number"],
        "state": issue.get("state"),
    }
    if labels:
        meta["labels"] = labels
    if opts.write_back:
        meta["writeBack"] = opts.write_back
    return SourceItem(
        key=issue_key(issue),
        title=short_title(str(issue.get("title") or f"Issue {issue['number']}"), 200),
        description=_description(body, str(issue.get("title") or "")),
        details=body.strip(),
        priority=_priority(labels),
        done=issue.get("state") == "closed",
        acceptance=checklist(lines) if list_items(lines) else [],
        files=files_in(body),
        meta=meta,
    )


def _milestone(gh: GitHub, repo: str, value: str | None) -> str | None:
    if value is None or value.isdigit() or value in ("*", "none"):
        return value
    for m in gh.paginate(f"/repos/{repo}/milestones", {"state": "all"}):
        if str(m.get("title", "")).lower() == value.lower():
            return str(m["number"])
    raise InputError(f"github:{repo}: no milestone titled {value!r}")


def read_github(repo: str, opts: GitHubOptions, gh: GitHub | None = None) -> SourceBatch:
    """The batch for `github:OWNER/REPO` under the filters in `opts`."""
    if not _REPO.match(repo):
        raise InputError(f"github:{repo}: expected github:OWNER/REPO")
    own = gh is None
    gh = gh or GitHub()
    try:
        return _read(gh, repo, opts)
    finally:
        if own:
            gh.close()


def _read(gh: GitHub, repo: str, opts: GitHubOptions) -> SourceBatch:
    params: dict[str, Any] = {"state": opts.state, "sort": "created", "direction": "asc"}
    if opts.labels:
        params["labels"] = ",".join(opts.labels)
    milestone = _milestone(gh, repo, opts.milestone)
    if milestone is not None:
        params["milestone"] = milestone
    if opts.assignee:
        params["assignee"] = opts.assignee
    raw = [i for i in gh.paginate(f"/repos/{repo}/issues", params) if "pull_request" not in i]
    batch = SourceBatch("github", f"github:{repo}", strict_deps=False)
    items = {issue_key(i): (i, _item(i, opts)) for i in raw}
    children: set[str] = set()
    for issue, item in items.values():
        if (issue.get("sub_issues_summary") or {}).get("total"):
            for sub in gh.paginate(f"/repos/{repo}/issues/{issue['number']}/sub_issues"):
                child = items[issue_key(sub)][1] if issue_key(sub) in items else _item(sub, opts)
                item.children.append(child)
                children.add(child.key)
                _blockers(gh, sub, child)
        _blockers(gh, issue, item)
    for key, (_, item) in items.items():
        if key not in children:
            batch.items.append(item)
        elif item.children:
            batch.notices.append(f"{key}: sub-issues of a sub-issue are not imported (one level of subtasks)")
    return batch


def _blockers(gh: GitHub, issue: dict[str, Any], item: SourceItem) -> None:
    summary = issue.get("issue_dependencies_summary")
    if isinstance(summary, dict) and not summary.get("total_blocked_by"):
        return
    repo = issue_key(issue).split("#")[0]
    path = f"/repos/{repo}/issues/{issue['number']}/dependencies/blocked_by"
    item.depends_on = [issue_key(b) for b in gh.paginate(path)]
