"""Prompt templates: package files in claude_orchestrator/prompts/, overridable by a file of the same name
in <project>/.taskmaster/templates/. A template holds a system part and a user part, separated by the
marker lines `<!-- system -->` and `<!-- user -->`; `$name` / `${name}` are substituted."""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import ConfigError

SYSTEM_MARK = "<!-- system -->"
USER_MARK = "<!-- user -->"


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str
    user: str
    source: str


def _read_template(name: str, project_root: Path | None) -> tuple[str, str]:
    if project_root is not None:
        override = project_root / ".taskmaster" / "templates" / f"{name}.md"
        if override.is_file():
            return override.read_text(encoding="utf-8"), str(override)
    pkg = resources.files("claude_orchestrator") / "prompts" / f"{name}.md"
    if not pkg.is_file():
        raise ConfigError(f"no prompt template named {name!r}")
    return pkg.read_text(encoding="utf-8"), f"package:prompts/{name}.md"


def render(name: str, project_root: Path | None = None, **params: object) -> Prompt:
    text, source = _read_template(name, project_root)
    if SYSTEM_MARK not in text or USER_MARK not in text:
        raise ConfigError(f"{source}: a prompt needs both {SYSTEM_MARK} and {USER_MARK} sections")
    _, _, rest = text.partition(SYSTEM_MARK)
    system, _, user = rest.partition(USER_MARK)
    values = {k: str(v) for k, v in params.items()}
    try:
        return Prompt(
            name=name,
            system=string.Template(system.strip()).substitute(values),
            user=string.Template(user.strip()).substitute(values),
            source=source,
        )
    except (KeyError, ValueError) as e:
        raise ConfigError(f"{source}: bad or unknown placeholder {e}") from None
