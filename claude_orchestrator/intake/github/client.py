"""A small GitHub REST client over httpx: the token from GH_TOKEN / GITHUB_TOKEN or `gh auth token`
(never printed, logged or stored), the base URL from GITHUB_API_URL, pagination through Link headers, and
GitHub's rate limits: a 403/429 with `retry-after` waits that long, one with `x-ratelimit-remaining: 0`
waits until `x-ratelimit-reset`, both within a bound; past the bound it stops with a clear error."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ...errors import InputError, RemoteError

try:
    import httpx2 as httpx
except ImportError:  # anthropic releases before httpx2 bring httpx
    import httpx  # type: ignore[no-redef]

log = logging.getLogger(__name__)

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"


def github_token(env: dict[str, str] | None = None) -> str | None:
    """GH_TOKEN, else GITHUB_TOKEN, else what `gh auth token` prints; None when there is none."""
    env = dict(os.environ) if env is None else env
    for name in ("GH_TOKEN", "GITHUB_TOKEN"):
        value = (env.get(name) or "").strip()
        if value:
            return value
    gh = shutil.which("gh")
    if gh is None:
        return None
    from ...process import run_process_group

    res = run_process_group([gh, "auth", "token"], cwd=Path.cwd(), timeout=15)
    token = res.stdout.strip() if res.ok else ""
    return token or None


def api_url(env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    return (env.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")


class GitHub:
    """Authenticated calls to one GitHub API. `sleep` is injectable so a caller can bound waits."""

    def __init__(
        self,
        token: str | None = None,
        base_url: str | None = None,
        *,
        max_wait: float = 120.0,
        retries: int = 3,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        token = token or github_token()
        if not token:
            raise InputError("no GitHub token: set GH_TOKEN or GITHUB_TOKEN, or log in with `gh auth login`")
        self.base_url = (base_url or api_url()).rstrip("/")
        self.max_wait, self.retries, self.sleep = max_wait, retries, sleep
        self.remaining: int | None = None
        self.reset_at: float | None = None
        self.waited = 0.0  # seconds spent waiting on rate limits
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "claude-orchestrator",
            },
        )

    def __repr__(self) -> str:
        return f"GitHub({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------------
    def _wait(self, seconds: float, why: str) -> None:
        if seconds > self.max_wait:
            when = time.strftime("%H:%M:%S", time.localtime(time.time() + seconds))
            raise RemoteError(f"GitHub {why}; try again after {when}", status=403)
        log.info("GitHub %s: waiting %.0f s", why, seconds)
        self.waited += max(0.0, seconds)
        self.sleep(max(0.0, seconds))

    def _note_limits(self, r: Any) -> None:
        h = r.headers
        if h.get("x-ratelimit-remaining", "").isdigit():
            self.remaining = int(h["x-ratelimit-remaining"])
        if h.get("x-ratelimit-reset", "").isdigit():
            self.reset_at = float(h["x-ratelimit-reset"])

    def _limited(self, r: Any) -> float | None:
        """Seconds to wait before retrying a rate-limited answer, or None when it is not one."""
        if r.status_code not in (403, 429):
            return None
        retry_after = r.headers.get("retry-after", "")
        if retry_after.isdigit():
            return float(retry_after)
        if r.headers.get("x-ratelimit-remaining") == "0" and self.reset_at is not None:
            return max(0.0, self.reset_at - time.time()) + 1.0
        if r.status_code == 429:
            return 60.0  # a secondary limit without a hint: GitHub asks for at least a minute
        return None

    def request(self, method: str, path_or_url: str, **kw: Any) -> Any:
        """One call, retried on rate limits and 5xx answers; any other error raises RemoteError."""
        if self.remaining == 0 and self.reset_at and self.reset_at > time.time():
            self._wait(self.reset_at - time.time() + 1.0, "rate limit used up")
        attempt = 0
        while True:
            try:
                r = self._http.request(method, path_or_url, **kw)
            except httpx.TransportError as e:
                if attempt >= self.retries:
                    raise RemoteError(
                        f"GitHub API at {self.base_url} unreachable: {type(e).__name__}"
                    ) from None
                attempt += 1
                self._wait(2.0**attempt, "connection failed")
                continue
            self._note_limits(r)
            wait = self._limited(r)
            if wait is not None and attempt < self.retries:
                attempt += 1
                self._wait(wait, "rate limit reached")
                continue
            if r.status_code >= 500 and attempt < self.retries:
                attempt += 1
                self._wait(2.0**attempt, f"server error {r.status_code}")
                continue
            if r.status_code >= 400:
                raise self._error(method, path_or_url, r)
            return r

    def _error(self, method: str, path: str, r: Any) -> RemoteError:
        try:
            message = str(r.json().get("message") or "")
        except ValueError:
            message = ""
        where = httpx.URL(path).path if "://" in path else path.split("?")[0]
        hint = {401: " (check the token)", 404: " (no such repository or issue, or no access)"}.get(
            r.status_code, ""
        )
        return RemoteError(
            f"GitHub {method} {where}: {r.status_code} {message}{hint}".rstrip(), status=r.status_code
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, json=body).json()

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, json=body).json()

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, following the Link header's rel="next" page by page."""
        r = self.request("GET", path, params={"per_page": 100, **(params or {})})
        while True:
            data = r.json()
            if not isinstance(data, list):
                raise RemoteError(f"GitHub GET {path}: expected a list, got {type(data).__name__}")
            yield from data
            nxt = r.links.get("next", {}).get("url")
            if not nxt:
                return
            if not nxt.startswith(self.base_url + "/"):  # the token goes only to the API it is for
                raise RemoteError(f"GitHub GET {path}: a next page outside {self.base_url} was refused")
            r = self.request("GET", nxt)
