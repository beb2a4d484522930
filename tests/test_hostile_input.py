"""No traceback on any input: the task, config and plan readers and both CLIs, fed the classes of input
that once ended in a traceback (lone surrogates, nesting 100,000 deep, 300-character and 2,100-level
file names) and anything else hypothesis makes of them. Every outcome is a result or one clear line with
exit 2, and a refused input changes no file."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_orchestrator.cli.main import cli as orchestrator_cli
from claude_orchestrator.cli.main import main as orchestrator_main
from claude_orchestrator.cli.taskmaster import cli as tm_cli
from claude_orchestrator.config import load_config
from claude_orchestrator.errors import ConfigError, OrchestratorError, PlanError, TaskFileError
from claude_orchestrator.stack.plan import parse_plan_text
from claude_orchestrator.taskmaster.model import loads_document

DEEP = "__DEEP__"
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff", "a\ud83dz", "\udc80\udcff"]
ODD = ["x" * 300, "/".join(["d"] * 2100), "\x00", "\x1b[31mred", "\u202eevil", "😀", " ", "..", "/etc/passwd"]
TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(SURROGATES + ODD),
    st.tuples(st.text(max_size=8), st.sampled_from(SURROGATES)).map("".join),
    st.just(DEEP),
)
SCALAR = st.one_of(TEXT, st.integers(-5, 10), st.none(), st.booleans(), st.floats(allow_nan=False))
DEPTHS = st.sampled_from([3, 500, 990, 5_000, 100_000])
SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def render(obj: Any, depth: int) -> str:
    """JSON text of `obj` (lone surrogates as \\uD800 escapes, as another program writes them), every
    "__DEEP__" string replaced by arrays nested `depth` deep."""
    return json.dumps(obj).replace(json.dumps(DEEP), "[" * depth + "]" * depth)


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_clean(result: Result, before: dict[str, str], folder: Path) -> None:
    """Exit 0, 1 (a task-level failure) or 2 with one `Error:` line; no uncaught exception; a refusal
    (exit 2) changes nothing."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code == 2:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert len(lines) >= 1 and lines[0].startswith(("Error:", "Usage:")), result.stderr
        assert digest(folder) == before


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`valid` three times in four, else hostile text: enough documents get past the reader's checks."""
    return st.one_of(valid, valid, valid, TEXT)


TASK = st.fixed_dictionaries(
    {
        "id": mostly(st.integers(1, 4)),
        "title": TEXT,
        "description": TEXT,
        "status": mostly(st.sampled_from(["pending", "done", "in-progress"])),
        "dependencies": st.lists(mostly(st.integers(1, 4)), max_size=2),
        "priority": mostly(st.sampled_from(["high", "low"])),
        "details": TEXT,
    }
)
TASKS_DOC = st.one_of(
    st.fixed_dictionaries({"master": st.fixed_dictionaries({"tasks": st.lists(TASK, max_size=3)})}),
    st.fixed_dictionaries({"tasks": st.lists(TASK, max_size=3)}),
    st.recursive(SCALAR, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(TEXT, kids, max_size=3)),
)


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    """The commands find the project (and its config) from the working directory, as a user runs them."""
    old = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def project(root: Path, tasks_text: str) -> Path:
    (root / ".taskmaster" / "tasks").mkdir(parents=True)
    (root / ".taskmaster" / "tasks" / "tasks.json").write_text(tasks_text, encoding="utf-8")
    return root


@SETTINGS
@given(doc=TASKS_DOC, depth=DEPTHS)
def test_task_reader_and_task_master_commands(doc: Any, depth: int) -> None:
    text = render(doc, depth)
    with contextlib.suppress(TaskFileError):
        loads_document(text)
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        root = project(Path(tmp), text)
        with inside(root):
            for args in (["list"], ["next"], ["show", "1"], ["set-status", "--id=1", "--status=done"]):
                before = digest(root)
                assert_clean(runner.invoke(tm_cli, args), before, root)
                assert_clean(runner.invoke(tm_cli, [*args, "-f", "json"]), before, root)


CONFIG = st.one_of(
    st.fixed_dictionaries(
        {"execution": st.dictionaries(st.sampled_from(["max_workers", "sandbox"]), SCALAR)}
    ),
    st.fixed_dictionaries(
        {"models": st.fixed_dictionaries({"worker": st.fixed_dictionaries({"model": TEXT})})}
    ),
    st.dictionaries(TEXT, SCALAR, max_size=3),
    st.recursive(SCALAR, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(TEXT, kids, max_size=3)),
)


@SETTINGS
@given(cfg=CONFIG, depth=DEPTHS)
def test_config_reader_status_and_dry_run(cfg: Any, depth: int) -> None:
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        root = project(Path(tmp), json.dumps({"master": {"tasks": [{"id": 1, "title": "t"}]}}))
        (root / "orchestrator_config.json").write_text(render(cfg, depth), encoding="utf-8")
        with contextlib.suppress(ConfigError):
            load_config(root / "orchestrator_config.json")
        before = digest(root)
        with inside(root):
            assert_clean(runner.invoke(orchestrator_cli, ["status"]), before, root)
            assert_clean(runner.invoke(orchestrator_cli, ["run", "--dry-run"]), before, root)


NAME = st.one_of(TEXT, st.lists(TEXT, min_size=1, max_size=4).map("/".join)).map(lambda s: s + ".txt")
PLAN = st.one_of(
    st.fixed_dictionaries(
        {"name": TEXT, "files": st.dictionaries(NAME, TEXT, min_size=1, max_size=3)},
        optional={"run": TEXT, "post_install": st.lists(TEXT, max_size=2)},
    ),
    st.lists(st.fixed_dictionaries({"filename": NAME, "code": TEXT}), max_size=3),
    st.recursive(SCALAR, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(TEXT, kids, max_size=3)),
)


@SETTINGS
@given(plan=PLAN, depth=DEPTHS)
def test_plan_reader_and_execute(plan: Any, depth: int) -> None:
    text = render(plan, depth)
    with contextlib.suppress(PlanError):
        parse_plan_text(text)
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "plan.json").write_text(text, encoding="utf-8")
        before = digest(root)
        result = runner.invoke(
            orchestrator_cli, ["execute", str(root / "plan.json"), "-o", str(root / "out")]
        )
        assert_clean(result, before, root)
        assert result.exit_code != 1, result.output  # a plan of text files builds, or is refused


CASES = {
    "surrogate title": ("tasks", '{"master": {"tasks": [{"id": 1, "title": "bad \\ud800"}]}}'),
    "deep config": ("config", '{"execution": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    "deep plan": ("plan", '{"name": "x", "files": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    "long name": ("plan", json.dumps({"name": "x", "files": {"a" * 300 + ".py": "print(1)"}})),
    "deep name": ("plan", json.dumps({"name": "x", "files": {"d/" * 2100 + "m.py": "print(1)"}})),
    "surrogate name": ("plan", '{"name": "x", "files": {"\\ud800.py": "print(1)"}}'),
}
COMMANDS = {
    "tasks": [["task-master", "list"], ["task-master", "next"], ["task-master", "show", "1"]]
    + [["task-master", "set-status", "--id=1", "--status=done"]],
    "config": [["claude-orchestrator", "status"], ["claude-orchestrator", "run", "--dry-run"]],
    "plan": [["claude-orchestrator", "execute", "plan.json", "-o", "out"]],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_campaigns_inputs_through_the_installed_clis(case: str, tmp_path: Path) -> None:
    """The ten tracebacks of the campaign, as the user meets them: real processes, real stdout."""
    kind, text = CASES[case]
    project(tmp_path, text if kind == "tasks" else '{"master": {"tasks": [{"id": 1, "title": "t"}]}}')
    if kind == "config":
        (tmp_path / "orchestrator_config.json").write_text(text, encoding="utf-8")
    if kind == "plan":
        (tmp_path / "plan.json").write_text(text, encoding="utf-8")
    before = digest(tmp_path)
    for argv in COMMANDS[kind]:
        module = "claude_orchestrator.cli.taskmaster" if argv[0] == "task-master" else "claude_orchestrator"
        r = subprocess.run(
            [sys.executable, "-m", module, *argv[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 2, (argv, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1
        assert digest(tmp_path) == before


def test_an_argument_that_is_not_utf8_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        orchestrator_main(["execute", "plan-\udcff.json"])  # how Python passes the byte 0xff in argv
    assert e.value.code == 2
    assert capsys.readouterr().err == "Error: argument 2 is not valid UTF-8 text (\\udcff)\n"


def test_every_refusal_is_an_orchestrator_error() -> None:
    for text in ('{"a": "\\udc00"}', "[" * 100_000 + "]" * 100_000):
        for read in (loads_document, parse_plan_text):
            with pytest.raises(OrchestratorError) as e:
                read(text)
            assert e.value.exit_code == 2


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.one_of(st.binary(max_size=120), st.text(max_size=60).map(lambda t: t.encode("utf-16"))))
def test_bytes_that_are_not_json_text(raw: bytes) -> None:
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        root = project(Path(tmp), "{}")
        (root / ".taskmaster" / "tasks" / "tasks.json").write_bytes(raw)
        (root / "plan.json").write_bytes(raw)
        before = digest(root)
        with inside(root):
            for cli, args in ((tm_cli, ["list"]), (tm_cli, ["set-status", "--id=1", "--status=done"])):
                assert_clean(runner.invoke(cli, args), before, root)
            assert_clean(
                runner.invoke(orchestrator_cli, ["execute", "plan.json", "--no-plugins"]), before, root
            )
            (root / "orchestrator_config.json").write_bytes(raw)
            before = digest(root)
            assert_clean(runner.invoke(orchestrator_cli, ["status"]), before, root)
