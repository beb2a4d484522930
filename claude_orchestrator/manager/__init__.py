"""The manager (Opus-class): plans, expands, scores and reviews. See core.Manager and service."""

from .core import Manager
from .schemas import ReviewAnswer

__all__ = ["Manager", "ReviewAnswer"]
