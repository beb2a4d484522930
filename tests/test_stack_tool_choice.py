"""Which installer runs, by lockfile and project metadata. yarn, pnpm and poetry are not installed here,
so stand-in executables on PATH record the argv they receive (the runner's real choice and flags). The
stand-ins write their record outside the project, so these builds run with the sandbox off."""

import json
import os
import stat
from pathlib import Path

import pytest

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.stack.runner import execute_plan

UNCONFINED = OrchestratorConfig.model_validate({"execution": {"sandbox": "off"}})

RECORDER = """#!/usr/bin/env bash
printf '%s\\n' "$(basename "$0") $*" >> "{log}"
mkdir -p node_modules/.bin
"""


@pytest.fixture
def fake_tools(tmp_path, monkeypatch):
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("yarn", "pnpm", "poetry", "pdm", "uv"):
        exe = bin_dir / tool
        exe.write_text(RECORDER.format(log=log))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


PKG = json.dumps({"name": "n", "version": "1.0.0", "scripts": {"start": "node index.js"}})


@pytest.mark.parametrize(
    ("lockfile", "expected"),
    [
        ("yarn.lock", "yarn install --frozen-lockfile --non-interactive --ignore-scripts"),
        ("pnpm-lock.yaml", "pnpm install --frozen-lockfile --ignore-scripts"),
    ],
)
def test_node_lockfile_picks_the_tool(tmp_path, fake_tools, lockfile, expected):
    plan = {"name": "n", "files": {"package.json": PKG, lockfile: "", "index.js": ""}}
    result = execute_plan(plan, tmp_path / "out", cfg=UNCONFINED)
    assert calls(fake_tools) == [expected]
    assert result.run_command == f"{expected.split()[0]} start"


def test_node_allow_commands_drops_ignore_scripts(tmp_path, fake_tools):
    plan = {"name": "n", "files": {"package.json": PKG, "yarn.lock": ""}}
    execute_plan(plan, tmp_path / "out", cfg=UNCONFINED, allow_commands=True)
    assert calls(fake_tools) == ["yarn install --frozen-lockfile --non-interactive"]


def test_vite_plugin_missing_from_package_json_is_added(tmp_path, fake_tools):
    pkg = json.dumps({"name": "v", "version": "1.0.0", "devDependencies": {"vite": "^5"}})
    vite = "import { defineConfig } from 'vite'\nimport react from '@vitejs/plugin-react'\nimport x from 'left-pad'\n"
    plan = {"name": "v", "files": {"package.json": pkg, "pnpm-lock.yaml": "", "vite.config.ts": vite}}
    result = execute_plan(plan, tmp_path / "out", cfg=UNCONFINED)
    assert calls(fake_tools) == [
        "pnpm install --frozen-lockfile --ignore-scripts",
        "pnpm add -D --ignore-scripts @vitejs/plugin-react",
    ]
    notes = result.components[0].notes
    assert "added missing Vite packages: @vitejs/plugin-react" in notes
    assert any("'left-pad'" in n and "not auto-installed" in n for n in notes)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pyproject.toml": "[tool.poetry]\nname = 'x'\n"}, "poetry install --no-interaction"),
        ({"pyproject.toml": "[tool.pdm]\n"}, "pdm install --no-self"),
        ({"pyproject.toml": "[project]\nname = 'x'\n", "uv.lock": ""}, "uv sync"),
    ],
)
def test_python_project_tool_is_used_when_present(tmp_path, fake_tools, files, expected):
    result = execute_plan({"name": "p", "files": {**files, "main.py": ""}}, tmp_path / "out", cfg=UNCONFINED)
    assert calls(fake_tools) == [expected]
    assert result.components[0].tool == expected.split()[0]
