"""Confinement of what a model or a plan chooses.

bwrap.py   the bubblewrap argument list for one command (writable folders, no network, private /tmp)
policy.py  from the config: confined, refused (no bubblewrap) or unconfined ("off")
paths.py   file access beneath a folder that never follows a symlink and never writes through a link
"""

from __future__ import annotations

from .bwrap import Jail, probe
from .policy import CommandPolicy

__all__ = ["CommandPolicy", "Jail", "probe"]
