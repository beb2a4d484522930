"""claude-orchestrator: run teams of Claude agents on a Task Master-compatible task graph."""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import OrchestratorError

__all__ = ["OrchestratorError", "__version__"]
