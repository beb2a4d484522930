"""The verification gate's parts: reading `metadata.verify`, running checks (timeout, scrubbed environment,
what they leave behind), and the texts the worker and the review get."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from gitrepo import commit_files, make_repo, run, write

from claude_orchestrator.errors import InputError
from claude_orchestrator.events import EventBus, TaskVerification
from claude_orchestrator.run.verify import Check, VerifyGate, checks_of, run_checks
from claude_orchestrator.workers.base import WorkUnit

PY = sys.executable


def test_commands_read_as_argument_lists_strings_or_one_string():
    assert [c.argv for c in checks_of("1", {"verify": [["python", "-m", "pytest", "-q"]]})] == [
        ("python", "-m", "pytest", "-q")
    ]
    assert [c.argv for c in checks_of("1", {"verify": "pytest -q 'tests/a b.py'"})] == [
        ("pytest", "-q", "tests/a b.py")
    ]
    shell = checks_of("1", {"verify": ["make build && make test", "ls *.py"]})
    assert [c.argv for c in shell] == [
        ("sh", "-c", "make build && make test"),
        ("sh", "-c", "ls *.py"),
    ]
    assert checks_of("1", {}) == checks_of("1", {"verify": []}) == checks_of("1", None) == []
    quoted = Check.from_string('python -c "print(1); print(2)"')  # shell syntax inside quotes: no shell
    assert quoted.argv == ("python", "-c", "print(1); print(2)")
    assert Check.from_string('echo "$HOME"').argv[0] == "sh"  # expansions need one


@pytest.mark.parametrize(
    "value, message",
    [
        (["python", "-m", "pytest"], "looks like one argument list"),
        ({"cmd": "x"}, "must be a command string or a list"),
        ([["python"], []], "command 2 must be a non-empty"),
        ([["python", 3]], "command 1 must be"),
    ],
)
def test_malformed_verify_is_bad_input_naming_the_task(value, message):
    with pytest.raises(InputError, match=message) as e:
        checks_of("4.2", {"verify": value})
    assert "task 4.2: metadata.verify" in str(e.value)


def test_a_failing_check_reports_its_exit_code_and_the_end_of_its_output(tmp_path: Path):
    script = "import sys\nfor i in range(3000): print('line', i)\nprint('FAILED: 2 != 3', file=sys.stderr)\nsys.exit(3)\n"
    (tmp_path / "check.py").write_text(script)
    v = run_checks(
        [Check((PY, "check.py"), "python check.py"), Check((PY, "-c", "pass"), "ok")], tmp_path, 30, 500
    )
    assert v.status == "failed"
    assert [(r.command, r.exit_code) for r in v.results] == [("python check.py", 3), ("ok", 0)]
    bad = v.failures[0]
    assert len(bad.output) <= 500 and bad.output.rstrip().endswith("FAILED: 2 != 3")
    assert "line 2999" in bad.output and "line 0\n" not in bad.output
    assert "$ python check.py\n  -> exit 3" in v.report() and "$ ok\n  -> exit 0" in v.report()
    assert "FAILED: 2 != 3" in v.feedback() and "python check.py" in v.feedback()


def test_a_hanging_check_is_killed_with_its_children_at_the_timeout(tmp_path: Path):
    pidfile = tmp_path / "child.pid"
    code = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(120)\n"
    )
    t0 = time.monotonic()
    v = run_checks([Check((PY, "-c", code), "hang")], tmp_path, 1.0)
    assert time.monotonic() - t0 < 20
    r = v.results[0]
    assert v.status == "failed" and r.timed_out and r.exit_code == 124
    assert "killed at its timeout" in v.report()
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_checks_get_no_secrets_and_a_missing_command_is_a_failure(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-must-not-leak")
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-must-not-leak")
    code = "import os; print(sorted(k for k in os.environ if 'KEY' in k or 'TOKEN' in k))"
    v = run_checks([Check((PY, "-c", code), "env"), Check(("no-such-command-x",), "nope")], tmp_path, 30)
    assert "must-not-leak" not in v.results[0].output and v.results[0].output.strip() == "[]"
    assert v.results[1].exit_code == 127 and "no-such-command-x" in v.results[1].output


def test_what_checks_leave_in_a_worktree_is_removed_and_the_work_is_kept(tmp_path: Path):
    repo = make_repo(tmp_path / "r", {"app.py": "x = 1\n", ".gitignore": "ignored/\n"})
    write(repo / "app.py", "x = 2\n")  # the worker's change, not committed yet (best of N checks it so)
    write(repo / "new.py", "y = 1\n")
    code = (
        "import os, pathlib\n"
        "pathlib.Path('cache/deep').mkdir(parents=True)\n"
        "pathlib.Path('cache/deep/a.bin').write_text('x')\n"
        "pathlib.Path('report.xml').write_text('<r/>')\n"
        "pathlib.Path('ignored').mkdir()\n"
        "pathlib.Path('ignored/keep').write_text('k')\n"
        "pathlib.Path('.gitignore').write_text('changed by a check\\n')\n"
    )
    v = run_checks([Check((PY, "-c", code), "mess")], repo, 30)
    assert v.status == "passed"
    assert sorted(run(repo, "status", "--porcelain", "--untracked-files=all").splitlines()) == [
        " M app.py",
        "?? new.py",
    ]
    assert (repo / "app.py").read_text() == "x = 2\n" and (repo / ".gitignore").read_text() == "ignored/\n"
    commit_files(repo)
    assert run(repo, "status", "--porcelain") == ""


def test_the_gate_publishes_what_it_found_and_counts_units_by_their_last_status(tmp_path: Path):
    bus = EventBus()
    seen: list[TaskVerification] = []
    bus.subscribe(lambda e: seen.append(e) if isinstance(e, TaskVerification) else None)
    gate = VerifyGate(bus, "r1", timeout_s=30)

    def unit(uid: str, verify: object = None) -> WorkUnit:
        return WorkUnit(uid, uid, f"t{uid}", metadata={} if verify is None else {"verify": verify})

    gate.check(unit("1", [[PY, "-c", "raise SystemExit(2)"]]), tmp_path)
    gate.check(unit("1", [[PY, "-c", "pass"]]), tmp_path)  # its retry passes
    gate.check(unit("2", [[PY, "-c", "raise SystemExit(1)"]]), tmp_path)
    gate.check(unit("3"), tmp_path)
    assert [(e.task_id, e.status, e.exit_code) for e in seen] == [
        ("1", "failed", 2),
        ("1", "passed", None),
        ("2", "failed", 1),
        ("3", "none", None),
    ]
    assert seen[0].command and seen[0].checks == 1 and seen[0].passed == 0
    assert gate.counts() == {"verified": 1, "failed_verification": 1, "unchecked": 1}
    off = VerifyGate(bus, "r1", enabled=False)
    assert off.check(unit("4", [[PY, "-c", "raise SystemExit(1)"]]), tmp_path).status == "skipped"
    assert off.counts() == {"verified": 0, "failed_verification": 0, "unchecked": 1}
    assert os.environ.get("ANTHROPIC_API_KEY") is None
