"""Injection attempts in file names, names and build inputs never execute: each payload would create a
marker file named `pwned`; we assert none exists anywhere."""

import json
import shutil
from pathlib import Path

import pytest

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.errors import BuildError
from claude_orchestrator.stack.builders_interp import split_auto_install, vite_missing_packages
from claude_orchestrator.stack.launcher import run_project
from claude_orchestrator.stack.runner import execute_plan

PAYLOADS = ["$(touch pwned)", "`touch pwned`", "x;touch pwned;y", "x && touch pwned", "x|touch pwned"]


def need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    return pytest.mark.skipif(bool(missing), reason=f"toolchain not installed: {', '.join(missing)}")


def markers(root: Path) -> list[Path]:
    return [p for p in root.rglob("pwned")] + [p for p in Path.cwd().glob("pwned")]


def run(plan, tmp_path, allow=False):
    result = execute_plan(plan, tmp_path / "out", cfg=OrchestratorConfig(), allow_commands=allow)
    lines: list[str] = []
    rc = run_project(result.project_dir, timeout=60, on_output=lines.append)
    return result, rc, lines


@need("g++")
def test_cpp_source_names_reach_gxx_as_plain_arguments(tmp_path):
    files = {f"src/{p}.cpp": f"int f{i}() {{ return {i}; }}\n" for i, p in enumerate(PAYLOADS)}
    files["main.cpp"] = '#include <cstdio>\nint main() { std::puts("built"); }\n'
    result, rc, lines = run({"name": "$(touch pwned)", "files": files}, tmp_path)
    assert (rc, lines) == (0, ["built"])
    gxx = result.steps[0]["argv"]
    assert all(f"./src/{p}.cpp" in gxx for p in PAYLOADS)
    assert markers(tmp_path) == []


@need("javac", "java")
def test_java_source_names_reach_javac_as_plain_arguments(tmp_path):
    files = {f"{p}.java": f"class C{i} {{}}\n" for i, p in enumerate(PAYLOADS)}
    files["Main.java"] = (
        'public class Main { public static void main(String[] a) { System.out.println("ok"); } }\n'
    )
    _, rc, lines = run({"name": "j", "files": files}, tmp_path)
    assert (rc, lines) == (0, ["ok"])
    assert markers(tmp_path) == []


@need("go")
def test_go_file_and_project_names(tmp_path):
    files = {f"assets/{p}.txt": "data\n" for p in PAYLOADS}  # go refuses such .go names itself
    files["main.go"] = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("go ok") }\n'
    _, rc, lines = run({"name": "`touch pwned`", "files": files}, tmp_path)
    assert (rc, lines) == (0, ["go ok"])
    assert markers(tmp_path) == []


@need("npm", "node")
def test_node_main_name_and_lifecycle_scripts(tmp_path):
    main = "$(touch pwned).js"
    pkg = {"name": "n", "version": "1.0.0", "main": main, "scripts": {"preinstall": "touch pwned"}}
    files = {"package.json": json.dumps(pkg), main: "console.log('node ok')\n"}
    result, rc, lines = run({"name": "n", "files": files}, tmp_path)
    assert result.run_command == "node '$(touch pwned).js'"
    assert (rc, lines) == (0, ["node ok"])
    assert markers(tmp_path) == []  # lifecycle scripts are plan commands: not run without opt-in
    assert "install scripts not run (preinstall; needs --allow-commands)" in result.components[0].notes
    allowed = execute_plan({"name": "n", "files": files}, tmp_path / "allowed", allow_commands=True)
    assert (allowed.project_dir / "pwned").exists()  # ...and the opt-in really is the gate


def test_post_install_runs_only_when_allowed(tmp_path):
    plan = {"name": "p", "files": {"main.py": "print(1)"}, "post_install": ["touch pwned"]}
    denied = execute_plan(plan, tmp_path / "a", cfg=OrchestratorConfig())
    assert denied.post_install_skipped == ["touch pwned"] and denied.post_install_ran == []
    assert markers(tmp_path) == []
    cfg = OrchestratorConfig()
    cfg.stack.allow_commands = True
    allowed = execute_plan(plan, tmp_path / "b", cfg=cfg)
    assert allowed.post_install_ran == ["touch pwned"]
    assert (allowed.project_dir / "pwned").exists()
    assert "bash -c 'touch pwned'" in allowed.commands_ran


@need("cmake")
def test_cmake_target_name_is_not_trusted(tmp_path):
    cml = (
        "cmake_minimum_required(VERSION 3.10)\nproject(x CXX)\n"
        'add_executable(app main.cpp)\nset_target_properties(app PROPERTIES OUTPUT_NAME "a$(touch pwned)")\n'
    )
    files = {"CMakeLists.txt": cml, "main.cpp": '#include <cstdio>\nint main(){std::puts("cm");}\n'}
    result, rc, lines = run({"name": "c", "files": files}, tmp_path)
    assert result.run_command == "./'build/a$(touch pwned)'"
    assert (rc, lines) == (0, ["cm"])
    assert markers(tmp_path) == []


@need("cargo")
def test_cargo_crate_name_cannot_reach_the_launcher(tmp_path):
    files = {
        "Cargo.toml": '[package]\nname = "x$(touch pwned)"\nversion = "0.1.0"\nedition = "2021"\n',
        "src/main.rs": "fn main() {}\n",
    }
    with pytest.raises(BuildError):  # cargo itself refuses the name; nothing runs
        execute_plan({"name": "r", "files": files}, tmp_path / "out")
    assert markers(tmp_path) == []


def test_vite_check_installs_only_known_plugins(tmp_path):
    (tmp_path / "vite.config.ts").write_text(
        "import { defineConfig } from 'vite'\n"
        "import react from '@vitejs/plugin-react'\n"
        "import evil from '--registry=http://x;touch${IFS}pwned'\n"
        "import local from './local'\n"
        "import path from 'node:path'\n"
    )
    missing = vite_missing_packages(tmp_path, {"devDependencies": {"vite": "^5"}})
    assert missing == ["@vitejs/plugin-react", "--registry=http:"]
    assert split_auto_install(missing) == (["@vitejs/plugin-react"], ["--registry=http:"])
