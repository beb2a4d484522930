"""The fake GitHub's data: repositories with issues, pull requests, milestones, sub-issues, "blocked by"
dependencies and comments, rendered as GitHub's REST API renders them (the fields a client reads)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

_TS = "2025-01-01T00:00:00Z"


@dataclass
class Issue:
    repo: str
    number: int
    id: int
    title: str
    body: str | None = ""
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    milestone: int | None = None
    assignees: list[str] = field(default_factory=list)
    pull_request: bool = False
    sub_issues: list[tuple[str, int]] = field(default_factory=list)
    blocked_by: list[tuple[str, int]] = field(default_factory=list)
    parent: tuple[str, int] | None = None
    comments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Repo:
    name: str
    issues: dict[int, Issue] = field(default_factory=dict)
    milestones: dict[int, str] = field(default_factory=dict)


class GitHubState:
    """Thread-safe store; every mutation takes the lock."""

    def __init__(self, api_url: str = "") -> None:
        self.api_url = api_url
        self.repos: dict[str, Repo] = {}
        self.lock = threading.RLock()
        self._ids = itertools.count(1_000_001)

    def repo(self, name: str, create: bool = False) -> Repo | None:
        key = name.lower()
        if key not in self.repos and create:
            self.repos[key] = Repo(name)
        return self.repos.get(key)

    def issue(self, repo: str, number: int) -> Issue | None:
        r = self.repo(repo)
        return r.issues.get(number) if r else None

    # -- rendering ---------------------------------------------------------------------------------
    def _user(self, login: str) -> dict[str, Any]:
        return {"login": login, "id": abs(hash(login)) % 10**7, "type": "User"}

    def render(self, issue: Issue) -> dict[str, Any]:
        repo = self.repo(issue.repo)
        api = f"{self.api_url}/repos/{issue.repo}"
        subs = [self.issue(r, n) for r, n in issue.sub_issues]
        out: dict[str, Any] = {
            "id": issue.id,
            "node_id": f"I_kw{issue.id}",
            "url": f"{api}/issues/{issue.number}",
            "repository_url": api,
            "html_url": f"https://github.com/{issue.repo}/{'pull' if issue.pull_request else 'issues'}/{issue.number}",
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "user": self._user("octocat"),
            "labels": [{"id": abs(hash(x)) % 10**7, "name": x, "color": "ededed"} for x in issue.labels],
            "assignee": self._user(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self._user(a) for a in issue.assignees],
            "milestone": None,
            "comments": len(issue.comments),
            "created_at": _TS,
            "updated_at": _TS,
            "closed_at": _TS if issue.state == "closed" else None,
            "sub_issues_summary": {
                "total": len(subs),
                "completed": sum(1 for s in subs if s and s.state == "closed"),
                "percent_completed": 0
                if not subs
                else 100 * sum(1 for s in subs if s and s.state == "closed") // len(subs),
            },
            "issue_dependencies_summary": {
                "blocked_by": sum(
                    1 for r, n in issue.blocked_by if (b := self.issue(r, n)) and b.state == "open"
                ),
                "total_blocked_by": len(issue.blocked_by),
                "blocking": 0,
                "total_blocking": 0,
            },
        }
        if repo and issue.milestone is not None:
            out["milestone"] = {
                "number": issue.milestone,
                "title": repo.milestones[issue.milestone],
                "state": "open",
            }
        if issue.parent is not None:
            out["parent_issue_url"] = f"{self.api_url}/repos/{issue.parent[0]}/issues/{issue.parent[1]}"
        if issue.pull_request:
            out["pull_request"] = {"url": f"{api}/pulls/{issue.number}"}
        return out

    def comment(self, issue: Issue, body: str) -> dict[str, Any]:
        cid = next(self._ids)
        c = {
            "id": cid,
            "node_id": f"IC_kw{cid}",
            "url": f"{self.api_url}/repos/{issue.repo}/issues/comments/{cid}",
            "html_url": f"https://github.com/{issue.repo}/issues/{issue.number}#issuecomment-{cid}",
            "issue_url": f"{self.api_url}/repos/{issue.repo}/issues/{issue.number}",
            "body": body,
            "user": self._user("claude-orchestrator"),
            "created_at": _TS,
            "updated_at": _TS,
        }
        issue.comments.append(c)
        return c

    # -- listing -------------------------------------------------------------------------------------
    def list_issues(self, repo: Repo, q: dict[str, str]) -> list[Issue] | str:
        """GitHub's filters: state, labels (all of them), milestone (number, * or none), assignee (login,
        * or none), sort=created with direction. A string is a validation problem (422)."""
        state = q.get("state", "open")
        if state not in ("open", "closed", "all"):
            return f"state must be open, closed or all, not {state!r}"
        out = [i for i in repo.issues.values() if state == "all" or i.state == state]
        labels = [x.strip().lower() for x in q.get("labels", "").split(",") if x.strip()]
        out = [i for i in out if all(x in {y.lower() for y in i.labels} for x in labels)]
        ms = q.get("milestone")
        if ms == "*":
            out = [i for i in out if i.milestone is not None]
        elif ms == "none":
            out = [i for i in out if i.milestone is None]
        elif ms is not None:
            if not ms.isdigit():
                return "milestone must be a number, * or none"
            out = [i for i in out if i.milestone == int(ms)]
        who = q.get("assignee")
        if who == "*":
            out = [i for i in out if i.assignees]
        elif who == "none":
            out = [i for i in out if not i.assignees]
        elif who is not None:
            out = [i for i in out if who.lower() in {a.lower() for a in i.assignees}]
        out.sort(key=lambda i: i.number, reverse=q.get("direction", "desc") == "desc")
        return out
