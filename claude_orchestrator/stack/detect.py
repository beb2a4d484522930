"""Stack detection: root manifests first, then manifests folder by folder, then source files."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath

STACKS = ("python", "node", "go", "rust", "java", "cpp")

# stack -> manifest file names that mark a folder as that stack's project root
MANIFESTS: dict[str, tuple[str, ...]] = {
    "python": ("pyproject.toml", "requirements.txt", "setup.py", "setup.cfg"),
    "node": ("package.json",),
    "go": ("go.mod",),
    "rust": ("cargo.toml",),
    "java": (
        "build.gradle",
        "build.gradle.kts",
        "settings.gradle",
        "settings.gradle.kts",
        "gradlew",
        "pom.xml",
    ),
    "cpp": ("cmakelists.txt",),
}

SOURCE_EXTS: dict[str, tuple[str, ...]] = {
    "go": (".go",),
    "rust": (".rs",),
    "java": (".java",),
    "cpp": (".cpp", ".cc", ".cxx", ".c++"),
    "python": (".py",),
    "node": (".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx"),
}

# folders that never hold a component of their own (tool output, vendored deps)
SKIP_DIRS = {
    "node_modules",
    ".venv",
    "venv",
    "target",
    "build",
    "dist",
    "vendor",
    "__pycache__",
    ".orchestrator",
}
MAX_DEPTH = 3


@dataclass(frozen=True)
class Component:
    """One buildable part of a project: a stack rooted at a folder ('.' for the project root)."""

    stack: str
    path: str = "."
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"stack": self.stack, "path": self.path, "reason": self.reason}


def _skipped(folder: PurePosixPath) -> bool:
    return any(p in SKIP_DIRS or p.startswith(".") for p in folder.parts)


def detect_components(paths: list[str]) -> list[Component]:
    """Components of a project from its relative file paths ('/'-separated).

    A folder with a stack's manifest is a component of that stack unless an ancestor folder already is
    one of the same stack (workspaces). Without any manifest, the root takes the stack with the most
    source files (ties: the order of SOURCE_EXTS, compiled stacks first).
    """
    by_folder: dict[str, set[str]] = {}
    for raw in paths:
        p = PurePosixPath(raw)
        parent = p.parent
        if len(parent.parts) > MAX_DEPTH or _skipped(parent):
            continue
        by_folder.setdefault(str(parent), set()).add(p.name.lower())
    found: list[Component] = []
    for folder in sorted(by_folder, key=lambda f: (f != ".", f.count("/"), f)):
        names = by_folder[folder]
        for stack in STACKS:
            hits = [m for m in MANIFESTS[stack] if m in names]
            if not hits:
                continue
            if any(c.stack == stack and _is_ancestor(c.path, folder) for c in found):
                continue
            found.append(Component(stack, folder, f"manifest {hits[0]}"))
    if found:
        return found
    return _from_sources(paths)


def _is_ancestor(parent: str, child: str) -> bool:
    return parent == "." or child == parent or child.startswith(parent + "/")


def _from_sources(paths: list[str]) -> list[Component]:
    counts: Counter[str] = Counter()
    for raw in paths:
        p = PurePosixPath(raw)
        if _skipped(p.parent):
            continue
        ext = p.suffix.lower()
        for stack, exts in SOURCE_EXTS.items():
            if ext in exts:
                counts[stack] += 1
    if not counts:
        return []
    order = list(SOURCE_EXTS)
    best = max(counts, key=lambda s: (counts[s], -order.index(s)))
    return [Component(best, ".", f"{counts[best]} {best} source file(s)")]
