"""The build-plan schema: parse any of the accepted shapes, refuse bad plans with every problem listed.

Accepted shapes:
  {"name", "description"?, "files": [{"filename"|"path", "code"|"content"}] | {path: code},
   "post_install"?: [cmd, ...] | cmd, "run"?: cmd}
  [{"filename"|"path", "code"|"content"}, ...]         (a bare list of files)
  {path: code, ...}                                    (a mapping of path to code)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import PlanError
from ..files import BadJSON, loads_json, lone_surrogate

DEFAULT_NAME = "project"
RESERVED_DIRS = (".git", ".orchestrator")  # .orchestrator/ holds our build log and result
_DRIVE = re.compile(r"^[A-Za-z]:")
_PLAN_KEYS = {"name", "description", "files", "post_install", "run"}
MAX_NAME_BYTES = 255  # one file or folder name (the common file-system limit)
MAX_PATH_BYTES = 1024  # a whole path, well under PATH_MAX with the output folder in front
MAX_DEPTH = 64  # folders in a path


class PlanFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    content: str


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(DEFAULT_NAME, min_length=1)
    description: str = ""
    files: tuple[PlanFile, ...]
    post_install: tuple[str, ...] = ()
    run: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON shape (what plugins see and may return changed)."""
        return {
            "name": self.name,
            "description": self.description,
            "files": [{"path": f.path, "content": f.content} for f in self.files],
            "post_install": list(self.post_install),
            "run": self.run,
        }

    def file_paths(self) -> list[str]:
        return [f.path for f in self.files]


def normalize_path(raw: str) -> str:
    """Backslashes become '/', empty and '.' segments go; '..' is kept so that it can be refused."""
    parts = [p for p in raw.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def path_problems(raw: str) -> list[str]:
    """Why a plan file path is unsafe (empty list when it is fine)."""
    problems: list[str] = []
    shown = json.dumps(raw)
    if "\x00" in raw:
        problems.append(f"path {shown} contains a NUL byte")
    if not raw.strip():
        return problems + [f"path {shown} is empty"]
    unified = raw.replace("\\", "/")
    if unified.startswith("/") or unified.startswith("~"):
        problems.append(f"path {shown} is absolute")
    if _DRIVE.match(raw):
        problems.append(f"path {shown} has a drive letter")
    segments = [p for p in unified.split("/") if p not in ("", ".")]
    if ".." in segments:
        problems.append(f"path {shown} contains '..'")
    if not segments:
        problems.append(f"path {shown} names no file")
    elif segments[0].lower() in RESERVED_DIRS:
        problems.append(f"path {shown} goes into {segments[0]}/")
    elif any(s.lower() == ".git" for s in segments):
        problems.append(f"path {shown} goes into a .git folder")
    if any(ord(c) < 32 and c != "\x00" for c in raw):
        problems.append(f"path {shown} contains a control character")
    return problems + _size_problems(shown, raw, segments)


def _size_problems(shown: str, raw: str, segments: list[str]) -> list[str]:
    """Names a file system cannot hold: not Unicode text, too long, too deep."""
    bad = lone_surrogate(raw)
    if bad:
        return [f"path {shown} holds a lone surrogate ({bad}), which is not Unicode text"]
    out = []
    longest = max((len(p.encode()) for p in segments), default=0)
    if longest > MAX_NAME_BYTES:
        out.append(f"path {shown[:80]}... has a name of {longest} bytes (limit {MAX_NAME_BYTES})")
    size = len(raw.encode())
    if size > MAX_PATH_BYTES:
        out.append(f"path {shown[:80]}... is {size} bytes long (limit {MAX_PATH_BYTES})")
    if len(segments) > MAX_DEPTH + 1:
        out.append(f"path {shown[:80]}... is {len(segments) - 1} folders deep (limit {MAX_DEPTH})")
    return out


def _file_entry(i: int, entry: Any, problems: list[str]) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        problems.append(f"files[{i}] must be an object with 'filename' and 'code'")
        return None
    path_keys = [k for k in ("filename", "path") if k in entry]
    code_keys = [k for k in ("code", "content") if k in entry]
    extra = sorted(set(entry) - {"filename", "path", "code", "content"})
    if extra:
        problems.append(f"files[{i}] has unknown key(s) {', '.join(extra)}")
    if len(path_keys) != 1:
        problems.append(f"files[{i}] needs exactly one of 'filename' or 'path'")
    if len(code_keys) != 1:
        problems.append(f"files[{i}] needs exactly one of 'code' or 'content'")
    if len(path_keys) != 1 or len(code_keys) != 1:
        return None
    path, code = entry[path_keys[0]], entry[code_keys[0]]
    if not isinstance(path, str):
        problems.append(f"files[{i}].{path_keys[0]} must be a string")
        return None
    if not isinstance(code, str):
        problems.append(f"files[{i}] ({json.dumps(path)}): {code_keys[0]} must be a string")
        return None
    return {"path": path, "content": code}


def _normalize_shape(data: Any, problems: list[str]) -> dict[str, Any]:
    if isinstance(data, list):
        data = {"files": data}
    elif (
        isinstance(data, dict)
        and "files" not in data
        and data
        and all(isinstance(v, str) for v in data.values())
        and not set(data) <= _PLAN_KEYS
    ):  # a mapping of path -> code
        data = {"files": data}
    if not isinstance(data, dict):
        problems.append("a plan must be a JSON object, a list of files, or a mapping of path to code")
        return {}
    out = dict(data)
    files = out.get("files")
    if isinstance(files, dict):
        files = [{"path": k, "content": v} for k, v in files.items()]
    if not isinstance(files, list):
        problems.append("'files' must be a list of files (or a mapping of path to code)")
        files = []
    entries = [_file_entry(i, e, problems) for i, e in enumerate(files)]
    out["files"] = [e for e in entries if e is not None]
    if not files:
        problems.append("the plan has no files")
    if isinstance(out.get("post_install"), str):
        out["post_install"] = [out["post_install"]]
    if out.get("run") == "":
        out["run"] = None
    out.setdefault("name", DEFAULT_NAME)
    if out.get("description") is None:
        out["description"] = ""
    return out


def _validation_problems(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            out.append(f"unknown key '{loc}'")
        else:
            out.append(f"{loc}: {e['msg']}")
    return out


def parse_plan(data: Any, *, max_file_bytes: int = 1_000_000) -> Plan:
    """Validate `data` (already-decoded JSON) into a Plan, or raise PlanError listing every problem."""
    problems: list[str] = []
    shaped = _normalize_shape(data, problems)
    seen: dict[str, str] = {}
    files = []
    for f in shaped.get("files", []):
        bad = path_problems(f["path"])
        problems.extend(bad)
        norm = normalize_path(f["path"])
        if not bad:
            key = norm.lower()
            if key in seen:
                what = "duplicate path" if seen[key] == norm else "duplicate path (differs only in case)"
                problems.append(f"{what} {json.dumps(f['path'])}")
            seen[key] = norm
        size = len(f["content"].encode("utf-8", "surrogatepass"))
        if size > max_file_bytes:
            problems.append(f"file {json.dumps(f['path'])} is {size} bytes (limit {max_file_bytes})")
        escape = lone_surrogate(f["content"])
        if escape:
            problems.append(
                f"file {json.dumps(f['path'])} holds a lone surrogate ({escape}), not Unicode text"
            )
        files.append({"path": norm, "content": f["content"]})
    shaped["files"] = files
    plan: Plan | None = None
    if shaped:
        try:
            plan = Plan.model_validate(shaped)
        except ValidationError as e:
            problems.extend(_validation_problems(e))
    if plan is not None:
        texts = [("name", plan.name), ("description", plan.description), ("run", plan.run or "")]
        texts += [(f"post_install[{i}]", c) for i, c in enumerate(plan.post_install)]
        problems += [
            f"{k} holds a lone surrogate ({b}), not Unicode text"
            for k, t in texts
            if (b := lone_surrogate(t))
        ]
    if problems or plan is None:
        raise PlanError(problems or ["the plan is empty"])
    return plan


def parse_plan_text(text: str, *, max_file_bytes: int = 1_000_000, source: str = "plan") -> Plan:
    """Decode JSON text, then parse_plan. Strict JSON: file contents are never rewritten."""
    try:
        data = loads_json(text)
    except json.JSONDecodeError as e:
        raise PlanError([f"{source}: malformed JSON at line {e.lineno} column {e.colno}: {e.msg}"]) from None
    except BadJSON as e:
        raise PlanError([f"{source}: unusable JSON: {e}"]) from None
    return parse_plan(data, max_file_bytes=max_file_bytes)


def load_plan(path: Path | str, *, max_file_bytes: int = 1_000_000) -> Plan:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError([f"{p}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise PlanError([f"{p}: cannot read: {e}"]) from None
    return parse_plan_text(text, max_file_bytes=max_file_bytes, source=str(p))
