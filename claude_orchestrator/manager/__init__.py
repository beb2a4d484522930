"""The manager (Opus-class): plans, expands, scores and reviews. See core.Manager and service."""

from .core import Manager
from .plans import generate_plan
from .schemas import ReviewAnswer

__all__ = ["Manager", "ReviewAnswer", "generate_plan"]
