"""A loopback stand-in for GitHub's REST API (the issue endpoints an importer and its write-back use).

    with FakeGitHub(token="ghp_test") as gh:
        gh.add_issue("o/r", 1, "Set up", labels=["priority:high"])
        gh.add_issue("o/r", 2, "Build", body="- [ ] works")
        gh.block("o/r", 2, by=1); gh.add_sub_issue("o/r", 2, child=3)
        gh.exhaust_rate_limit(reset_in=1)          # next request: 403 with x-ratelimit-remaining: 0
        env GITHUB_API_URL=gh.url GH_TOKEN=ghp_test ...
        gh.wait_for(lambda: gh.comments("o/r", 2), timeout=10)

Routes: GET /repos/{o}/{r}/issues (state, labels, milestone, assignee, sort, direction, per_page, page;
pull requests included, as GitHub does), GET/PATCH /repos/{o}/{r}/issues/{n}, GET .../sub_issues,
GET .../dependencies/blocked_by, GET/POST .../comments, GET /repos/{o}/{r}/milestones, GET /rate_limit.
Lists are paginated with a Link header (first, prev, next, last). Every answer carries the x-ratelimit-*
headers; a wrong or missing token is a 401, an unknown repository or issue a 404.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..loopback import LoopbackFake
from .state import GitHubState, Issue

_ROUTE = re.compile(
    r"^/repos/(?P<repo>[^/]+/[^/]+)/(?:(?P<ms>milestones)|issues(?:/(?P<n>\d+)(?:/(?P<sub>sub_issues|dependencies/blocked_by|comments))?)?)/?$"
)
Answer = tuple[int, dict[str, str], Any]


class FakeGitHub(LoopbackFake):
    NAME = "fake-github"
    CONTENT_TYPE = "application/json; charset=utf-8"
    METHODS = ("GET", "POST", "PATCH")

    def __init__(self, token: str = "ghp_fake_token_for_tests", *, rate_limit: int = 5000) -> None:
        super().__init__()
        self.token = token
        self.state = GitHubState()
        self.requests: list[dict[str, Any]] = []  # method, path, query, status
        self.limit = rate_limit
        self.remaining = rate_limit
        self.reset_at = int(time.time()) + 3600
        self._script: deque[Answer] = deque()
        self._cond = threading.Condition(self.state.lock)

    # -- scripting -------------------------------------------------------------------------------
    def add_issue(self, repo: str, number: int, title: str, body: str | None = "", **kw: Any) -> Issue:
        with self._cond:
            r = self.state.repo(repo, create=True)
            assert r is not None
            issue = Issue(repo, number, 500_000 + len(self.state.repos) * 10_000 + number, title, body, **kw)
            if issue.state == "closed" and issue.state_reason is None:
                issue.state_reason = "completed"
            r.issues[number] = issue
            return issue

    def add_milestone(self, repo: str, number: int, title: str) -> None:
        with self._cond:
            r = self.state.repo(repo, create=True)
            assert r is not None
            r.milestones[number] = title

    def add_sub_issue(self, repo: str, parent: int, child: int, child_repo: str | None = None) -> None:
        with self._cond:
            p, c = self.state.issue(repo, parent), self.state.issue(child_repo or repo, child)
            assert p is not None and c is not None
            p.sub_issues.append((c.repo, c.number))
            c.parent = (p.repo, p.number)

    def block(self, repo: str, issue: int, by: int, by_repo: str | None = None) -> None:
        """`issue` is blocked by `by` (GitHub's native issue dependency)."""
        with self._cond:
            i = self.state.issue(repo, issue)
            assert i is not None and self.state.issue(by_repo or repo, by) is not None
            i.blocked_by.append((by_repo or repo, by))

    def exhaust_rate_limit(self, reset_in: float = 1.0) -> None:
        """The primary limit is used up until `reset_in` seconds from now (403, x-ratelimit-remaining 0)."""
        with self._cond:
            self.remaining = 0
            self.reset_at = int(time.time() + reset_in) + 1

    def secondary_limit(self, status: int = 429, retry_after: int = 1, times: int = 1) -> None:
        body = {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        }
        with self._cond:
            self._script.extend([(status, {"retry-after": str(retry_after)}, body)] * times)

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        with self._cond:
            self._script.extend([(status, {}, {"message": "Server Error"})] * times)

    def issue(self, repo: str, number: int) -> Issue:
        with self._cond:
            found = self.state.issue(repo, number)
            assert found is not None
            return found

    def comments(self, repo: str, number: int) -> list[str]:
        with self._cond:
            return [c["body"] for c in self.issue(repo, number).comments]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> bool:
        with self._cond:
            return bool(self._cond.wait_for(predicate, timeout))

    # -- answering -------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(self.limit - self.remaining),
            "x-ratelimit-reset": str(self.reset_at),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
        body = {
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status),
        }
        return status, headers or {}, body

    def answer(self, method: str, url: str, auth: str | None, body: bytes) -> Answer:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        with self._cond:
            status, headers, data = self._answer(method, parts.path, query, auth, body)
            self.requests.append({"method": method, "path": parts.path, "query": query, "status": status})
            self._cond.notify_all()
            return status, {**self._headers(), **headers}, data

    def _answer(self, method: str, path: str, q: dict[str, str], auth: str | None, raw: bytes) -> Answer:
        if auth is None:
            return self._error(401, "Requires authentication")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token") or value != self.token:
            return self._error(401, "Bad credentials")
        if self._script:
            return self._script.popleft()
        now = time.time()
        if self.remaining <= 0 and now < self.reset_at:
            return self._error(403, "API rate limit exceeded for user ID 1.")
        if self.remaining <= 0:
            self.remaining, self.reset_at = self.limit, int(now) + 3600
        if path == "/rate_limit":
            core = {
                "limit": self.limit,
                "remaining": self.remaining,
                "reset": self.reset_at,
                "used": self.limit - self.remaining,
            }
            return 200, {}, {"resources": {"core": core}, "rate": core}
        self.remaining -= 1
        m = _ROUTE.match(path)
        repo = self.state.repo(m.group("repo")) if m else None
        if m is None or repo is None:
            return self._error(404, "Not Found")
        if m.group("ms"):
            items = [{"number": n, "title": t, "state": "open"} for n, t in sorted(repo.milestones.items())]
            return self._page(path, q, items)
        if m.group("n") is None:
            if method != "GET":
                return self._error(404, "Not Found")
            found = self.state.list_issues(repo, q)
            if isinstance(found, str):
                return self._error(422, f"Validation Failed: {found}")
            return self._page(path, q, [self.state.render(i) for i in found])
        issue = repo.issues.get(int(m.group("n")))
        if issue is None:
            return self._error(404, "Not Found")
        return self._issue_route(method, path, q, issue, m.group("sub"), raw)

    def _issue_route(
        self, method: str, path: str, q: dict[str, str], issue: Issue, sub: str | None, raw: bytes
    ) -> Answer:
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            return self._error(400, "Problems parsing JSON")
        if sub is None and method == "GET":
            return 200, {}, self.state.render(issue)
        if sub is None and method == "PATCH":
            if "state" in body:
                if body["state"] not in ("open", "closed"):
                    return self._error(422, "Validation Failed: state")
                issue.state = body["state"]
                issue.state_reason = body.get("state_reason") or (
                    "completed" if issue.state == "closed" else None
                )
            return 200, {}, self.state.render(issue)
        if sub == "comments" and method == "POST":
            if not isinstance(body.get("body"), str) or not body["body"].strip():
                return self._error(422, "Validation Failed: body is missing")
            return 201, {}, self.state.comment(issue, body["body"])
        if method != "GET":
            return self._error(404, "Not Found")
        if sub == "comments":
            return self._page(path, q, list(issue.comments))
        refs = issue.sub_issues if sub == "sub_issues" else issue.blocked_by
        items = [self.state.render(i) for r, n in refs if (i := self.state.issue(r, n)) is not None]
        return self._page(path, q, items)

    def _page(self, path: str, q: dict[str, str], items: list[Any]) -> Answer:
        try:
            per_page = max(1, min(100, int(q.get("per_page", "30"))))
            page = max(1, int(q.get("page", "1")))
        except ValueError:
            return self._error(422, "Validation Failed: per_page and page must be numbers")
        last = max(1, -(-len(items) // per_page))

        def link(n: int) -> str:
            return f"<{self.url_base}{path}?{urlencode({**q, 'per_page': per_page, 'page': n})}>"

        rels = []
        if page < last:
            rels += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            rels += [f'{link(1)}; rel="first"', f'{link(page - 1)}; rel="prev"']
        headers = {"link": ", ".join(rels)} if rels else {}
        return 200, headers, items[(page - 1) * per_page : page * per_page]

    # -- server ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The API base URL, for GITHUB_API_URL."""
        return self.url_base

    def respond(
        self, method: str, path: str, headers: Message, raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        status, extra, data = self.answer(method, path, headers.get("Authorization"), raw)
        return status, extra, json.dumps(data).encode()

    def __enter__(self) -> FakeGitHub:
        super().__enter__()
        self.state.api_url = self.url_base
        return self
