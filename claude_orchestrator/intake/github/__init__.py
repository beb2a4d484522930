"""GitHub issues in and out: the REST client (client.py), issues as a task source (issues.py) and the
write-back of finished tasks to their issues (writeback.py)."""

from __future__ import annotations

from .client import GitHub, api_url, github_token
from .issues import GitHubOptions, read_github

__all__ = ["GitHub", "GitHubOptions", "api_url", "github_token", "read_github"]
