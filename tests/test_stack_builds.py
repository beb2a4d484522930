"""Real builds of small offline projects, one per stack whose toolchain is installed."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from claude_orchestrator.config import OrchestratorConfig
from claude_orchestrator.errors import BuildError
from claude_orchestrator.stack.launcher import run_project
from claude_orchestrator.stack.runner import execute_plan

EXAMPLES = Path(__file__).resolve().parent.parent / "claude_orchestrator" / "examples"


def need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    return pytest.mark.skipif(bool(missing), reason=f"toolchain not installed: {', '.join(missing)}")


def live_members(pgid):
    """Processes of a process group that are still running (zombies left for PID 1 do not count)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(entry))
    return out


def live_with_arg(arg):
    """Host pids (not zombies) whose command line holds `arg`: how a test finds a sandboxed process,
    whose own idea of its pid and group is namespaced."""
    found = []
    for d in Path("/proc").iterdir():
        try:
            if not d.name.isdigit() or arg.encode() not in (d / "cmdline").read_bytes().split(b"\0"):
                continue
            if (d / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.append(int(d.name))
        except OSError:
            continue
    return found


def assert_gone(arg):
    deadline = time.monotonic() + 5
    while live_with_arg(arg) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live_with_arg(arg) == []


def assert_group_gone(pgid):
    deadline = time.monotonic() + 5
    while live_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)  # SIGKILL was sent; the kernel finishes the exits
    assert live_members(pgid) == []


def cfg(**stack):
    c = OrchestratorConfig()
    for k, v in stack.items():
        setattr(c.stack, k, v)
    return c


def build_and_run(plan, tmp_path, **kw):
    result = execute_plan(plan, tmp_path / "out", cfg=kw.pop("config", cfg()), **kw)
    lines: list[str] = []
    rc = run_project(result.project_dir, timeout=60, on_output=lines.append)
    return result, rc, lines


def test_python_requirements_venv_and_launcher(tmp_path):
    plan = {
        "name": "py-hello",
        "files": {
            "requirements.txt": "# nothing third-party\n",
            "main.py": "import sys\nprint('hello from', sys.prefix.endswith('.venv'))\n",
        },
    }
    result, rc, lines = build_and_run(plan, tmp_path)
    assert result.stacks == ["python"]
    assert (result.project_dir / ".venv" / "bin" / "python").exists()
    assert result.run_command == "python main.py"
    launcher = (result.project_dir / "run.sh").read_text()
    assert "set -euo pipefail" in launcher and "exec python main.py" in launcher
    assert (rc, lines) == (0, ["hello from True"])


def test_python_package_main_and_plan_run_uses_venv(tmp_path):
    plan = {
        "name": "py-pkg",
        "files": {"requirements.txt": "", "tool/__init__.py": "", "tool/__main__.py": "print('pkg main')"},
        "run": "python -m tool",
    }
    result, rc, lines = build_and_run(plan, tmp_path)
    assert (rc, lines) == (0, ["pkg main"])


@need("npm", "node")
def test_node_npm_install_and_start(tmp_path):
    plan = {
        "name": "node-hello",
        "files": {
            "package.json": json.dumps(
                {"name": "n", "version": "1.0.0", "scripts": {"start": "node index.js"}}
            ),
            "index.js": "console.log('hello from node ' + process.version.startsWith('v'))\n",
        },
    }
    result, rc, lines = build_and_run(plan, tmp_path)
    assert result.stacks == ["node"]
    assert any(s["argv"][:2] == ["npm", "install"] for s in result.steps)
    assert "--ignore-scripts" in result.steps[0]["argv"]
    assert result.run_command == "npm start"
    assert rc == 0 and "hello from node true" in lines


@need("go")
def test_go_build_without_go_mod(tmp_path):
    plan = {
        "name": "go-hello",
        "files": {
            "main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello from go") }\n'
        },
    }
    result, rc, lines = build_and_run(plan, tmp_path)
    assert [s["step"] for s in result.steps] == ["go mod init", "go mod tidy", "go build"]
    assert (result.project_dir / "bin" / "app").is_file()
    assert (rc, lines) == (0, ["hello from go"])


@need("cargo")
def test_rust_cargo_release_even_with_run_given(tmp_path):
    plan = json.loads((EXAMPLES / "plan_rust.json").read_text())
    plan["run"] = "./target/release/hello"
    result, rc, lines = build_and_run(plan, tmp_path)
    assert [s["step"] for s in result.steps] == ["cargo build"]
    assert (rc, lines) == (0, ["hello from rust"])


@need("javac", "java")
def test_java_plain_javac_finds_packaged_main(tmp_path):
    plan = {
        "name": "java-hello",
        "files": {
            "src/main/java/com/example/util/Greeter.java": 'package com.example.util;\npublic class Greeter { public static String hi() { return "hello from java"; } }\n',
            "src/main/java/com/example/App.java": "package com.example;\nimport com.example.util.Greeter;\npublic class App {\n  public static void main(String[] a) { System.out.println(Greeter.hi()); }\n}\n",
        },
    }
    result, rc, lines = build_and_run(plan, tmp_path)
    assert result.components[0].tool == "javac"
    assert result.run_command == "java -cp bin com.example.App"
    assert (rc, lines) == (0, ["hello from java"])


@need("cmake", "c++")
def test_cpp_cmake_picks_the_add_executable_target(tmp_path):
    plan = {
        "name": "cpp-cmake",
        "files": {
            "CMakeLists.txt": "cmake_minimum_required(VERSION 3.10)\nproject(hi CXX)\nadd_executable(hello main.cpp)\n",
            "main.cpp": '#include <iostream>\nint main() { std::cout << "hello from cmake" << std::endl; }\n',
        },
    }
    result, rc, lines = build_and_run(plan, tmp_path)
    assert result.components[0].tool == "cmake"
    assert result.run_command == "./build/hello"
    assert (rc, lines) == (0, ["hello from cmake"])


@need("g++")
def test_cpp_plain_gxx_with_include_dir(tmp_path):
    plan = {
        "name": "cpp-gxx",
        "files": {
            "include/msg.h": '#pragma once\n#define MSG "hello from g++"\n',
            "src/main.cpp": '#include <cstdio>\n#include "msg.h"\nint main() { std::puts(MSG); }\n',
        },
    }
    result, rc, lines = build_and_run(plan, tmp_path)
    assert result.components[0].tool == "g++"
    assert (rc, lines) == (0, ["hello from g++"])


@need("npm", "node")
def test_mixed_python_node_example_plan(tmp_path):
    plan = json.loads((EXAMPLES / "plan_python_node.json").read_text())
    plan["run"] = (
        "(cd backend && python -c 'import main, sys; print(len(main.TODOS) + 1)') && cd frontend && node -e \"console.log('fe ok')\""
    )
    result, rc, lines = build_and_run(plan, tmp_path)
    assert [(c.stack, c.path) for c in result.components] == [("python", "backend"), ("node", "frontend")]
    assert (result.project_dir / "backend" / ".venv").is_dir()
    launcher = (result.project_dir / "run.sh").read_text()
    assert '"$PWD"/backend/.venv/bin' in launcher and '"$PWD"/frontend/node_modules/.bin' in launcher
    assert (rc, lines) == (0, ["2", "fe ok"])


@need("npm")
def test_failed_step_names_step_status_and_log_tail(tmp_path):
    pkg = {"name": "x", "version": "1.0.0", "dependencies": {"x": "workspace:*"}}
    plan = {"name": "bad-node", "files": {"package.json": json.dumps(pkg)}}
    with pytest.raises(BuildError) as e:
        execute_plan(plan, tmp_path / "out", cfg=cfg())
    msg = str(e.value)
    assert "step 'npm install' failed (exit status 1)" in msg
    assert 'Unsupported URL Type "workspace:"' in msg
    assert Path(e.value.fields["log"]).is_file()


@need("g++")
def test_compile_error_fails_the_build(tmp_path):
    with pytest.raises(BuildError, match=r"step 'g\+\+' failed \(exit status 1\)") as e:
        execute_plan({"name": "c", "files": {"main.cpp": "int main( {"}}, tmp_path / "out", cfg=cfg())
    assert "error" in e.value.fields["tail"]


@need("cmake")
def test_hanging_build_is_killed_at_its_timeout(tmp_path):
    plan = {
        "name": "hang",
        "files": {
            "CMakeLists.txt": "cmake_minimum_required(VERSION 3.10)\nproject(h NONE)\n"
            "execute_process(COMMAND sleep 300)\n",
        },
    }
    with pytest.raises(BuildError, match=r"step 'cmake configure' failed \(timed out after 1\.5s\)") as e:
        execute_plan(plan, tmp_path / "out", cfg=cfg(step_timeout=1.5))
    assert_group_gone(e.value.fields["pid"])  # the whole process group (cmake and its sleep) is gone


def test_run_project_timeout_kills_the_process_group(tmp_path):
    plan = {
        "name": "server",
        "files": {
            "main.py": "import subprocess, time\nsubprocess.Popen(['sleep', '300'])\nprint('up', flush=True)\ntime.sleep(300)\n"
        },
    }
    result = execute_plan(plan, tmp_path / "out", cfg=cfg())
    started = []
    lines: list[str] = []
    rc = run_project(result.project_dir, timeout=1.5, on_output=lines.append, on_start=started.append)
    assert rc == 124 and lines == ["up"]
    assert_group_gone(started[0].pid)


def test_plan_run_sh_is_kept(tmp_path):
    plan = {"name": "own", "files": {"run.sh": "#!/usr/bin/env bash\necho mine\n", "main.py": ""}}
    result, rc, lines = build_and_run(plan, tmp_path)
    assert (rc, lines) == (0, ["mine"])


def test_build_env_hides_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-value")
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    plan = {
        "name": "env",
        "files": {
            "main.py": "import os\nprint(os.environ.get('ANTHROPIC_API_KEY'), os.environ.get('HARMLESS_SETTING'))\n"
        },
    }
    _, rc, lines = build_and_run(plan, tmp_path)
    assert (rc, lines) == (0, ["None visible"])


def test_poetry_project_without_poetry_falls_back_to_pip(tmp_path):
    if shutil.which("poetry"):
        pytest.skip("poetry is installed here; this checks the fallback")
    plan = {
        "name": "po",
        "files": {"pyproject.toml": "[tool.poetry]\nname = 'po'\n", "app.py": "print('po')"},
    }
    result, rc, lines = build_and_run(plan, tmp_path)
    assert result.components[0].tool == "pip"
    assert "poetry/pdm project but the tool is not installed; using pip" in result.components[0].notes
    assert (rc, lines) == (0, ["po"])


def test_launcher_without_plan_run_uses_first_component_in_its_folder(tmp_path):
    plan = {
        "name": "sub",
        "files": {
            "svc/requirements.txt": "",
            "svc/main.py": "import os\nprint(os.path.basename(os.getcwd()))",
        },
    }
    result, rc, lines = build_and_run(plan, tmp_path)
    text = (result.project_dir / "run.sh").read_text()
    assert "cd svc\nexec python main.py\n" in text
    assert (rc, lines) == (0, ["svc"])


def test_no_run_command_launcher_says_so(tmp_path):
    result, rc, lines = build_and_run({"name": "none", "files": {"README.md": "hi"}}, tmp_path)
    assert result.stacks == [] and result.run_command is None
    assert (rc, lines) == (1, ["no run command for this project"])


@need("javac", "java")
def test_gradle_project_without_gradle_falls_back_to_javac(tmp_path):
    if shutil.which("gradle"):
        pytest.skip("gradle is installed here; this checks the fallback")
    plan = {
        "name": "gr",
        "files": {
            "build.gradle": "plugins { id 'application' }\n",
            "src/main/java/Main.java": 'public class Main { public static void main(String[] a) { System.out.println("gr"); } }\n',
            "src/test/java/MainTest.java": "this is not even java",
        },
    }
    result, rc, lines = build_and_run(plan, tmp_path)
    assert result.components[0].tool == "javac"
    assert "gradle/maven not installed; compiling with plain javac" in result.components[0].notes
    assert (rc, lines) == (0, ["gr"])


@need("mvn", "java")
def test_maven_package_or_skip_when_offline(tmp_path):
    pom = (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>demo</groupId><artifactId>hello</artifactId><version>1.0</version>"
        "<properties><maven.compiler.release>17</maven.compiler.release></properties></project>\n"
    )
    app = 'package demo;\npublic class App { public static void main(String[] a) { System.out.println("mvn ok"); } }\n'
    plan = {"name": "mvn", "files": {"pom.xml": pom, "src/main/java/demo/App.java": app}}
    try:
        result, rc, lines = build_and_run(plan, tmp_path)
    except BuildError as e:
        if "could not be resolved" in str(e.fields.get("tail", "")) or "Unknown host" in str(e):
            pytest.skip("maven cannot resolve its plugins offline here")
        raise
    assert result.components[0].tool == "maven"
    assert result.run_command == "java -cp target/hello-1.0.jar demo.App"  # no Main-Class in the manifest
    assert (rc, lines) == (0, ["mvn ok"])


def test_jar_without_main_class_runs_through_the_found_main(tmp_path):
    import zipfile

    from claude_orchestrator.stack.builders_native import _jar_result
    from claude_orchestrator.stack.context import BuildContext, ComponentBuild
    from claude_orchestrator.stack.proc import StepLog

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "Main.java").write_text(
        "package a.b;\npublic class Main { public static void main(String[] x) {} }"
    )
    libs = tmp_path / "build" / "libs"
    libs.mkdir(parents=True)
    with zipfile.ZipFile(libs / "app.jar", "w") as zf:
        zf.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    with zipfile.ZipFile(libs / "app-plain.jar", "w") as zf:
        zf.writestr("x", "y")
    ctx = BuildContext(tmp_path, tmp_path, ".", StepLog(tmp_path / "log"), 10)
    res = _jar_result(ComponentBuild("java", "."), libs, ctx)
    assert res.run_command == "java -cp build/libs/app.jar a.b.Main"
    with zipfile.ZipFile(libs / "app.jar", "w") as zf:
        zf.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: a.b.Main\n")
    assert _jar_result(ComponentBuild("java", "."), libs, ctx).run_command == "java -jar build/libs/app.jar"
