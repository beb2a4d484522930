"""A loopback fake of GitHub's REST API for issues (see server.py), for testing the real GitHub client."""

from __future__ import annotations

from .server import FakeGitHub
from .state import GitHubState, Issue

__all__ = ["FakeGitHub", "GitHubState", "Issue"]
