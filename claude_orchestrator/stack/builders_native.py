"""Builders for compiled stacks: Go, Rust, Java (gradle/gradlew, maven, javac) and C++ (CMake, g++).

These always build, whether or not the plan gives a run command. Source file names reach the
compilers as separate argv items prefixed with './' (never through a shell, never read as options).
"""

from __future__ import annotations

import os
import re
import shlex
import zipfile
from pathlib import Path
from typing import Any

from ..errors import BuildError
from .context import BuildContext, ComponentBuild, load_toml

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")


def _need(ctx: BuildContext, tool: str, stack: str) -> str:
    path = ctx.which(tool)
    if not path:
        raise BuildError(f"{stack} project in {ctx.rel!r} needs '{tool}', which is not installed", step=tool)
    return path


def _dot(paths: list[str]) -> list[str]:
    return [f"./{p}" for p in paths]


# ---------------------------------------------------------------- Go


def build_go(ctx: BuildContext) -> ComponentBuild:
    res = ComponentBuild("go", ctx.rel, tool="go")
    _need(ctx, "go", "Go")
    env = {"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": os.environ.get("CGO_ENABLED", "0")}
    if not (ctx.folder / "go.mod").is_file():
        module = re.sub(r"[^a-z0-9._-]", "-", ctx.project.name.lower()) or "app"
        ctx.run("go mod init", ["go", "mod", "init", f"example.com/{module}"], extra_env=env)
    ctx.run("go mod tidy", ["go", "mod", "tidy"], extra_env=env)
    root_main = any(
        re.search(r"^\s*package\s+main\b", ctx.read(f), re.MULTILINE)
        for f in ctx.files(".go")
        if "/" not in f and not f.endswith("_test.go")
    )
    if root_main:
        (ctx.folder / "bin").mkdir(exist_ok=True)
        ctx.run("go build", ["go", "build", "-o", "bin/app", "."], extra_env=env)
        res.run_command = "./bin/app"
    else:
        ctx.run("go build", ["go", "build", "./..."], extra_env=env)
        res.notes.append("no package main at the module root; built ./... without a run command")
    return res


# ---------------------------------------------------------------- Rust


def build_rust(ctx: BuildContext) -> ComponentBuild:
    res = ComponentBuild("rust", ctx.rel)
    env = {"CARGO_TERM_COLOR": "never"}
    if (ctx.folder / "Cargo.toml").is_file():
        res.tool = "cargo"
        _need(ctx, "cargo", "Rust")
        ctx.run("cargo build", ["cargo", "build", "--release"], extra_env=env)
        manifest = load_toml(ctx.read("Cargo.toml"))
        bins = manifest.get("bin")
        pkg_raw = manifest.get("package")
        pkg: dict[str, Any] = pkg_raw if isinstance(pkg_raw, dict) else {}
        name = None
        if isinstance(bins, list) and bins and isinstance(bins[0], dict):
            name = bins[0].get("name")
        elif (ctx.folder / "src" / "main.rs").is_file():
            name = pkg.get("name")
        exe = ctx.folder / "target" / "release" / str(name)
        if isinstance(name, str) and _SAFE_NAME.match(name) and exe.is_file():
            res.run_command = "./" + shlex.quote(f"target/release/{name}")
        else:
            res.notes.append("no binary target found; built without a run command")
        return res
    res.tool = "rustc"
    _need(ctx, "rustc", "Rust")
    main = next((m for m in ("main.rs", "src/main.rs") if (ctx.folder / m).is_file()), None)
    if main is None:
        raise BuildError(f"Rust sources in {ctx.rel!r} have no Cargo.toml and no main.rs", step="rustc")
    (ctx.folder / "bin").mkdir(exist_ok=True)
    ctx.run("rustc", ["rustc", "-O", "-o", "bin/app", f"./{main}"], extra_env=env)
    res.run_command = "./bin/app"
    return res


# ---------------------------------------------------------------- Java

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*;", re.MULTILINE)
_MAIN = re.compile(r"\bpublic\s+static\s+void\s+main\s*\(")
_FQCN = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")


def find_main_class(ctx: BuildContext, sources: list[str]) -> str | None:
    """The fully-qualified class with `public static void main`; Main/App preferred."""
    found = []
    for src in sources:
        text = ctx.read(src)
        if _MAIN.search(text):
            m = _PACKAGE.search(text)
            cls = Path(src).stem
            fqcn = f"{m.group(1)}.{cls}" if m else cls
            if _FQCN.match(fqcn):
                found.append(fqcn)
    found.sort(key=lambda f: (f.rsplit(".", 1)[-1] not in ("Main", "App", "Application"), f))
    return found[0] if found else None


def _largest_jar(folder: Path) -> Path | None:
    jars = [
        j
        for j in folder.glob("*.jar")
        if not j.name.endswith(("-plain.jar", "-sources.jar", "-javadoc.jar")) and j.is_file()
    ]
    return max(jars, key=lambda j: j.stat().st_size) if jars else None


def build_java(ctx: BuildContext) -> ComponentBuild:
    res = ComponentBuild("java", ctx.rel)
    gradle_files = ("build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts")
    has_gradle = any((ctx.folder / f).is_file() for f in gradle_files)
    if (ctx.folder / "gradlew").is_file():
        res.tool = "gradlew"
        (ctx.folder / "gradlew").chmod(0o755)
        ctx.run("gradlew build", ["./gradlew", "build", "-x", "test", "--no-daemon"])
        return _jar_result(res, ctx.folder / "build" / "libs", ctx)
    if has_gradle and ctx.which("gradle"):
        res.tool = "gradle"
        ctx.run("gradle build", ["gradle", "build", "-x", "test", "--no-daemon"])
        return _jar_result(res, ctx.folder / "build" / "libs", ctx)
    if (ctx.folder / "pom.xml").is_file() and ctx.which("mvn"):
        res.tool = "maven"
        ctx.run("mvn package", ["mvn", "-q", "-B", "-DskipTests", "package"])
        return _jar_result(res, ctx.folder / "target", ctx)
    if has_gradle or (ctx.folder / "pom.xml").is_file():
        res.notes.append("gradle/maven not installed; compiling with plain javac")
    return _build_javac(ctx, res)


def jar_has_main_class(jar: Path) -> bool:
    try:
        with zipfile.ZipFile(jar) as zf:
            manifest = zf.read("META-INF/MANIFEST.MF").decode("utf-8", errors="replace")
    except (KeyError, OSError, zipfile.BadZipFile):
        return False
    return any(line.startswith("Main-Class:") for line in manifest.splitlines())


def _jar_result(res: ComponentBuild, libs: Path, ctx: BuildContext) -> ComponentBuild:
    jar = _largest_jar(libs)
    if jar is None:
        res.notes.append(f"no jar in {libs.relative_to(ctx.folder)}; no run command")
        return res
    rel = shlex.quote(jar.relative_to(ctx.folder).as_posix())
    main = None if jar_has_main_class(jar) else find_main_class(ctx, ctx.files(".java"))
    res.run_command = f"java -cp {rel} {shlex.quote(main)}" if main else f"java -jar {rel}"
    return res


def _build_javac(ctx: BuildContext, res: ComponentBuild) -> ComponentBuild:
    res.tool = "javac"
    _need(ctx, "javac", "Java")
    sources = [s for s in ctx.files(".java") if not s.startswith("src/test/")]
    if not sources:
        raise BuildError(f"Java project in {ctx.rel!r} has no .java sources", step="javac")
    ctx.run("javac", ["javac", "-encoding", "UTF-8", "-d", "bin", *_dot(sources)])
    main = find_main_class(ctx, sources)
    if main:
        res.run_command = f"java -cp bin {shlex.quote(main)}"
    else:
        res.notes.append("no class with public static void main; no run command")
    return res


# ---------------------------------------------------------------- C++

_ADD_EXE = re.compile(r"add_executable\s*\(\s*([A-Za-z0-9_.+-]+)", re.IGNORECASE)


def _is_exe(p: Path) -> bool:
    return p.is_file() and not p.is_symlink() and os.access(p, os.X_OK)


def build_cpp(ctx: BuildContext) -> ComponentBuild:
    res = ComponentBuild("cpp", ctx.rel)
    if (ctx.folder / "CMakeLists.txt").is_file() and ctx.which("cmake"):
        res.tool = "cmake"
        ctx.run("cmake configure", ["cmake", "-S", ".", "-B", "build", "-DCMAKE_BUILD_TYPE=Release"])
        ctx.run("cmake build", ["cmake", "--build", "build", "--config", "Release", "--parallel"])
        exe = _cmake_executable(ctx)
        if exe:
            res.run_command = "./" + shlex.quote(exe.relative_to(ctx.folder).as_posix())
        else:
            res.notes.append("no executable found under build/; no run command")
        return res
    res.tool = "g++"
    compiler = _need(ctx, "g++", "C++")
    sources = ctx.files(".cpp", ".cc", ".cxx", ".c++")
    if not sources:
        raise BuildError(f"C++ project in {ctx.rel!r} has no sources", step="g++")
    (ctx.folder / "bin").mkdir(exist_ok=True)
    includes = ["-I", "include"] if (ctx.folder / "include").is_dir() else []
    ctx.run("g++", [compiler, "-O2", "-std=c++17", *includes, "-o", "bin/app", *_dot(sources)])
    res.run_command = "./bin/app"
    return res


def _cmake_executable(ctx: BuildContext) -> Path | None:
    build = ctx.folder / "build"
    candidates = [p for p in build.rglob("*") if "CMakeFiles" not in p.parts and _is_exe(p)]
    for name in _ADD_EXE.findall(ctx.read("CMakeLists.txt")):
        for p in candidates:
            if p.name == name:
                return p
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


BUILDERS_NATIVE = {"go": build_go, "rust": build_rust, "java": build_java, "cpp": build_cpp}
