"""Claude Code skills in a project: `.claude/skills/<name>/SKILL.md`, each opening with front matter

    ---
    name: <name>            lowercase letters, digits and hyphens, at most 64, the same as its folder
    description: <text>     what it does and when to use it, at most 1024 characters
    ---

Claude Code loads them for every session in the project, including our workers (their worktrees live
inside the project). `install` copies a skill folder, or every skill of a pack (`skills/<name>/SKILL.md`),
after validating all of them; nothing is copied if one is invalid."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..files import create_text

SKILLS_DIR = Path(".claude") / "skills"
SKILL_FILE = "SKILL.md"
NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_KEY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):(.*)$")
MAX_NAME, MAX_DESCRIPTION = 64, 1024


@dataclass
class Skill:
    folder: Path
    name: str = ""
    description: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _unquote(value: str) -> str:
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] == '"':
        try:
            return str(json.loads(v))
        except json.JSONDecodeError:
            return v[1:-1]
    if len(v) >= 2 and v[0] == v[-1] == "'":
        return v[1:-1].replace("''", "'")
    return v


def front_matter(text: str) -> tuple[dict[str, str], list[str]]:
    """The front matter's `key: value` fields (quoted values, and `>`/`|` blocks of indented lines)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, ["SKILL.md must start with a front matter block (a line `---`)"]
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        return {}, ["the front matter block is not closed by a line `---`"]
    fields: dict[str, str] = {}
    problems: list[str] = []
    key: str | None = None
    for n, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t" and key is not None:  # a continuation of the previous value
            fields[key] = (fields[key] + " " + line.strip()).strip()
            continue
        m = _KEY_RE.match(line)
        if m is None:
            problems.append(f"front matter line {n} is not `key: value`")
            key = None
            continue
        key, value = m.group(1), m.group(2).strip()
        if ": " in value and value[0] not in "'\"":
            problems.append(
                f"front matter line {n}: quote the value of `{key}` (YAML reads ': ' as a new key)"
            )
        fields[key] = "" if value in (">", "|", ">-", "|-") else _unquote(value)
    return fields, problems


def read_skill(folder: Path) -> Skill:
    """A skill folder, validated (its problems listed, never raised)."""
    skill = Skill(folder)
    path = folder / SKILL_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        skill.problems.append(f"no {SKILL_FILE}")
        return skill
    except (OSError, UnicodeDecodeError) as e:
        skill.problems.append(f"{SKILL_FILE} is unreadable ({e})")
        return skill
    skill.fields, skill.problems = front_matter(text)
    skill.name = skill.fields.get("name", "")
    skill.description = skill.fields.get("description", "")
    if not skill.name:
        skill.problems.append("front matter has no `name`")
    elif not NAME_RE.match(skill.name) or len(skill.name) > MAX_NAME:
        skill.problems.append(
            f"name {skill.name!r}: lowercase letters, digits and hyphens, at most {MAX_NAME}"
        )
    elif skill.name != folder.name:
        skill.problems.append(f"name {skill.name!r} differs from its folder {folder.name!r}")
    if not skill.description.strip():
        skill.problems.append(
            "front matter has no `description` (Claude uses it to decide when to load the skill)"
        )
    elif len(skill.description) > MAX_DESCRIPTION:
        skill.problems.append(f"description is longer than {MAX_DESCRIPTION} characters")
    return skill


def skills_dir(root: Path) -> Path:
    return Path(root) / SKILLS_DIR


def list_skills(root: Path) -> list[Skill]:
    base = skills_dir(root)
    if not base.is_dir():
        return []
    return [read_skill(d) for d in sorted(base.iterdir()) if d.is_dir() and not d.name.startswith(".")]


def present(root: Path) -> list[str]:
    """Names of the project's valid skills (what `run` records)."""
    return [s.name for s in list_skills(root) if s.ok]


def _sources(path: Path) -> list[Path]:
    """The skill folders in `path`: itself, or a pack's `skills/*/`, or its own sub-folders."""
    if not path.is_dir():
        raise InputError(f"{path}: no such folder")
    if (path / SKILL_FILE).is_file():
        return [path]
    for base in (path / "skills", path):
        found = (
            sorted(d for d in base.iterdir() if d.is_dir() and (d / SKILL_FILE).is_file())
            if base.is_dir()
            else []
        )
        if found:
            return found
    raise InputError(f"{path}: no {SKILL_FILE} here, in skills/*/ or in its sub-folders")


def install(root: Path, source: Path, force: bool = False) -> list[Skill]:
    """Copy the skill(s) at `source` into the project; all are validated before any is copied."""
    skills = [read_skill(d) for d in _sources(source)]
    bad = [f"{s.folder.name}: {'; '.join(s.problems)}" for s in skills if not s.ok]
    if bad:
        raise InputError("invalid skill(s), nothing installed: " + " | ".join(bad))
    base = skills_dir(root)
    taken = [s.name for s in skills if (base / s.name).exists()]
    if taken and not force:
        raise InputError(f"already installed: {', '.join(taken)} (use --force to replace)")
    base.mkdir(parents=True, exist_ok=True)
    for s in skills:
        staging = Path(tempfile.mkdtemp(prefix=f".{s.name}.", dir=base))
        shutil.copytree(s.folder, staging / s.name, symlinks=True)
        target = base / s.name
        if target.exists():
            shutil.rmtree(target)
        (staging / s.name).rename(target)
        staging.rmdir()
    return [read_skill(base / s.name) for s in skills]


SCAFFOLD = """---
name: {name}
description: {description}
---

# {title}

Write here what an agent needs to know to do this well: the conventions to follow, the commands to run,
the mistakes to avoid. Claude Code reads this file when the description above matches the work at hand.
"""


def new(root: Path, name: str, description: str | None = None) -> Skill:
    if not NAME_RE.match(name) or len(name) > MAX_NAME:
        raise InputError(f"skill name {name!r}: lowercase letters, digits and hyphens, at most {MAX_NAME}")
    folder = skills_dir(root) / name
    if folder.exists():
        raise InputError(f"{folder} already exists")
    desc = " ".join((description or f"Describe what {name} is for and when to use it.").split())
    title = name.replace("-", " ").capitalize()
    text = SCAFFOLD.format(name=name, description=json.dumps(desc, ensure_ascii=False), title=title)
    create_text(folder / SKILL_FILE, text)
    return read_skill(folder)
