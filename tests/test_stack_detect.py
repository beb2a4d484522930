import pytest

from claude_orchestrator.stack.detect import Component, detect_components


def comps(paths):
    return [(c.stack, c.path) for c in detect_components(paths)]


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["main.py"], [("python", ".")]),
        (["requirements.txt", "app.py"], [("python", ".")]),
        (["pyproject.toml", "src/pkg/__init__.py"], [("python", ".")]),
        # the predecessor's misfires: a helper script must not turn the project into Python
        (["package.json", "scripts/gen.py", "index.js"], [("node", ".")]),
        (["Cargo.toml", "build.py", "src/main.rs"], [("rust", ".")]),
        (["go.mod", "main.go", "tools/x.py"], [("go", ".")]),
        (["CMakeLists.txt", "main.cpp", "gen.py"], [("cpp", ".")]),
        (["pom.xml", "src/main/java/App.java"], [("java", ".")]),
        (["build.gradle", "settings.gradle"], [("java", ".")]),
        (["gradlew", "src/Main.java"], [("java", ".")]),
        # a mixed plan: detected folder by folder
        (
            ["backend/requirements.txt", "backend/main.py", "frontend/package.json", "frontend/src/App.tsx"],
            [("python", "backend"), ("node", "frontend")],
        ),
        (["package.json", "api/go.mod", "api/main.go"], [("node", "."), ("go", "api")]),
        # workspace members of the same stack do not become components of their own
        (["Cargo.toml", "crates/a/Cargo.toml", "crates/a/src/lib.rs"], [("rust", ".")]),
        # tool output and dependencies are ignored
        (["package.json", "node_modules/x/package.json", "node_modules/y/setup.py"], [("node", ".")]),
        # no manifest: the stack with the most sources wins
        (["main.go", "util.go", "x.py"], [("go", ".")]),
        (["a.cpp", "b.cc"], [("cpp", ".")]),
        (["Main.java"], [("java", ".")]),
        (["index.js"], [("node", ".")]),
        (["README.md"], []),
    ],
)
def test_detection_table(paths, expected):
    assert comps(paths) == expected


def test_component_reason():
    (c,) = detect_components(["backend/pyproject.toml"])
    assert c == Component("python", "backend", "manifest pyproject.toml")
