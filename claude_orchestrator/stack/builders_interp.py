"""Builders for interpreted stacks: Python (venv; pip, poetry, pdm, uv) and Node (npm, yarn, pnpm; Vite)."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from .context import BuildContext, ComponentBuild, load_toml

# ---------------------------------------------------------------- Python


def _toml(ctx: BuildContext, name: str) -> dict[str, Any]:
    return load_toml(ctx.read(name)) if (ctx.folder / name).is_file() else {}


def requirement_lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def build_python(ctx: BuildContext) -> ComponentBuild:
    res = ComponentBuild("python", ctx.rel, path_dirs=[".venv/bin"])
    pyproject = _toml(ctx, "pyproject.toml")
    tool = pyproject.get("tool", {}) if isinstance(pyproject.get("tool"), dict) else {}
    venv_env = {"VIRTUAL_ENV": str(ctx.folder / ".venv"), "POETRY_VIRTUALENVS_IN_PROJECT": "true"}
    venv_python = ctx.folder / ".venv" / "bin" / "python"
    if "poetry" in tool and ctx.which("poetry"):
        res.tool = "poetry"
        ctx.run("poetry install", ["poetry", "install", "--no-interaction"], extra_env=venv_env)
    elif "pdm" in tool and ctx.which("pdm"):
        res.tool = "pdm"
        ctx.run("pdm install", ["pdm", "install", "--no-self"], extra_env={"PDM_IGNORE_ACTIVE_VENV": "1"})
    elif (ctx.folder / "uv.lock").is_file() and ctx.which("uv"):
        res.tool = "uv"
        ctx.run("uv sync", ["uv", "sync"], extra_env=venv_env)
    else:
        res.tool = "pip"
        if "poetry" in tool or "pdm" in tool:
            res.notes.append("poetry/pdm project but the tool is not installed; using pip")
        pip = [str(venv_python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        reqs = requirement_lines(ctx.read("requirements.txt"))
        installs = (
            "project" in pyproject or "build-system" in pyproject or (ctx.folder / "setup.py").is_file()
        )
        venv = [ctx.python or sys.executable, "-m", "venv", ".venv"]
        if not (reqs or installs or ctx.wants_pip):
            venv.insert(3, "--without-pip")  # nothing to install: skip bootstrapping pip (seconds)
        ctx.run("create venv", venv)
        if reqs:
            ctx.run("pip install -r requirements.txt", [*pip, "-r", "requirements.txt"])
        elif (ctx.folder / "requirements.txt").is_file():
            res.notes.append("requirements.txt lists nothing; no packages installed")
        if installs:
            ctx.run("pip install .", [*pip, "."])
    res.run_command = python_run_command(ctx, pyproject)
    return res


def python_run_command(ctx: BuildContext, pyproject: dict[str, Any]) -> str | None:
    for name in ("main.py", "app.py", "__main__.py", "run.py", "server.py"):
        if (ctx.folder / name).is_file():
            return f"python {name}"
    project = pyproject.get("project")
    scripts = project.get("scripts") if isinstance(project, dict) else None
    if isinstance(scripts, dict) and scripts:
        return shlex.quote(str(next(iter(scripts))))
    for main in sorted(ctx.folder.glob("*/__main__.py")) + sorted(ctx.folder.glob("src/*/__main__.py")):
        pkg = main.parent.name
        if pkg.isidentifier():
            return f"python -m {pkg}"
    return None


# ---------------------------------------------------------------- Node

KNOWN_VITE_PLUGINS = {
    "vite",
    "@vitejs/plugin-react",
    "@vitejs/plugin-react-swc",
    "@vitejs/plugin-vue",
    "@vitejs/plugin-vue-jsx",
    "@vitejs/plugin-legacy",
    "@sveltejs/vite-plugin-svelte",
}
_NODE_BUILTINS = {"path", "url", "fs", "os", "process", "module", "crypto", "util", "child_process"}
_IMPORT = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"\s]+)['"]""", re.MULTILINE
)
_NPM_NAME = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
VITE_CONFIGS = ("vite.config.ts", "vite.config.js", "vite.config.mjs", "vite.config.cjs", "vite.config.mts")


def _package_name(spec: str) -> str:
    parts = spec.split("/")
    return "/".join(parts[:2]) if spec.startswith("@") else parts[0]


def vite_missing_packages(folder: Path, package_json: dict[str, Any]) -> list[str]:
    """Packages a vite.config imports that package.json does not list (seed 004's Vite plugin check)."""
    declared: set[str] = set()
    for key in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
        section = package_json.get(key)
        if isinstance(section, dict):
            declared |= set(section)
    missing: list[str] = []
    for cfg in VITE_CONFIGS:
        path = folder / cfg
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for spec in _IMPORT.findall(text):
            if spec.startswith((".", "/", "node:")) or spec in _NODE_BUILTINS:
                continue
            name = _package_name(spec)
            if name not in declared and name not in missing:
                missing.append(name)
    return missing


def split_auto_install(missing: list[str]) -> tuple[list[str], list[str]]:
    """(known Vite packages we add ourselves, the rest: reported, never installed)."""
    auto = [m for m in missing if m in KNOWN_VITE_PLUGINS and _NPM_NAME.match(m)]
    return auto, [m for m in missing if m not in auto]


def _node_tool(ctx: BuildContext) -> str:
    if (ctx.folder / "pnpm-lock.yaml").is_file() and ctx.which("pnpm"):
        return "pnpm"
    if (ctx.folder / "yarn.lock").is_file() and ctx.which("yarn"):
        return "yarn"
    return "npm"


def build_node(ctx: BuildContext) -> ComponentBuild:
    res = ComponentBuild("node", ctx.rel, path_dirs=["node_modules/.bin"])
    try:
        pkg = json.loads(ctx.read("package.json") or "{}")
    except json.JSONDecodeError as e:
        from ..errors import BuildError

        raise BuildError(f"{ctx.rel}/package.json is not valid JSON: {e.msg} at line {e.lineno}") from None
    if not isinstance(pkg, dict):
        pkg = {}
    tool = res.tool = _node_tool(ctx)
    scripts_flag = [] if ctx.allow_commands else ["--ignore-scripts"]
    raw_scripts = pkg.get("scripts")
    scripts: dict[str, Any] = raw_scripts if isinstance(raw_scripts, dict) else {}
    held = sorted(set(scripts) & {"preinstall", "install", "postinstall", "prepare", "prepublish"})
    if held and not ctx.allow_commands:
        res.notes.append(f"install scripts not run ({', '.join(held)}; needs --allow-commands)")
    if (ctx.folder / "package.json").is_file():
        if tool == "pnpm":
            argv = ["pnpm", "install", "--frozen-lockfile", *scripts_flag]
        elif tool == "yarn":
            argv = ["yarn", "install", "--frozen-lockfile", "--non-interactive", *scripts_flag]
        elif (ctx.folder / "package-lock.json").is_file():
            argv = ["npm", "ci", "--no-audit", "--no-fund", *scripts_flag]
        else:
            argv = ["npm", "install", "--no-audit", "--no-fund", *scripts_flag]
        ctx.run(f"{tool} install", argv)
    auto, unknown = split_auto_install(vite_missing_packages(ctx.folder, pkg))
    for m in unknown:
        res.notes.append(f"vite.config imports {m!r}, which package.json does not list (not auto-installed)")
    if auto:
        add = {"pnpm": ["pnpm", "add", "-D"], "yarn": ["yarn", "add", "-D"]}.get(
            tool, ["npm", "install", "-D"]
        )
        res.notes.append("added missing Vite packages: " + ", ".join(auto))
        ctx.run("add missing vite plugins", [*add, *scripts_flag, *auto])
    res.run_command = node_run_command(ctx, pkg, tool)
    return res


def node_run_command(ctx: BuildContext, pkg: dict[str, Any], tool: str) -> str | None:
    raw = pkg.get("scripts")
    scripts: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if "start" in scripts:
        return f"{tool} start"
    if "dev" in scripts:
        return f"{tool} run dev"
    main = pkg.get("main")
    candidates = [main] if isinstance(main, str) else []
    candidates += ["index.js", "server.js", "app.js", "main.js", "index.mjs"]
    for c in candidates:
        if (ctx.folder / c).is_file():
            return f"node {shlex.quote(c)}"
    return None
