"""Short flags mean what they mean in task-master-ai 0.43.1: the table below is its `--help`, checked against
our commands here and against the real CLI by the oracle test at the end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import click
import pytest
from tm_helpers import (
    clean_env,
    first_json,
    make_project,
    read_json,
    require_real,
    run_ours,
    sub,
    task,
    tasks_path,
)

from claude_orchestrator.cli.taskmaster import cli

# command -> {short flag: long flag}, from `task-master <command> --help` (0.43.1); -h/--help left out
REAL_SHORT_FLAGS: dict[str, dict[str, str]] = {
    "add-dependency": {"-i": "--id", "-d": "--depends-on", "-f": "--file"},
    "add-subtask": {
        "-f": "--file",
        "-p": "--parent",
        "-i": "--task-id",
        "-t": "--title",
        "-d": "--description",
        "-s": "--status",
    },
    "add-tag": {"-f": "--file", "-d": "--description"},
    "add-task": {
        "-f": "--file",
        "-p": "--prompt",
        "-t": "--title",
        "-d": "--description",
        "-r": "--research",
    },
    "analyze-complexity": {
        "-o": "--output",
        "-m": "--model",
        "-t": "--threshold",
        "-f": "--file",
        "-r": "--research",
        "-i": "--id",
    },
    "clear-subtasks": {"-f": "--file", "-i": "--id"},
    "complexity-report": {"-f": "--file"},
    "copy-tag": {"-f": "--file", "-d": "--description"},
    "delete-tag": {"-f": "--file", "-y": "--yes"},
    "expand": {
        "-i": "--id",
        "-a": "--all",
        "-n": "--num",
        "-r": "--research",
        "-p": "--prompt",
        "-f": "--force",
        "-cr": "--complexity-report",
    },
    "fix-dependencies": {"-f": "--file"},
    "generate": {"-t": "--tag", "-o": "--output", "-p": "--project", "-f": "--format"},
    "init": {
        "-y": "--yes",
        "-n": "--name",
        "-d": "--description",
        "-v": "--version",
        "-a": "--author",
        "-r": "--rules",
    },
    "list": {
        "-s": "--status",
        "-t": "--tag",
        "-f": "--format",
        "-c": "--compact",
        "-p": "--project",
        "-w": "--watch",
    },
    "move": {"-f": "--file"},
    "next": {"-t": "--tag", "-f": "--format", "-p": "--project"},
    "parse-prd": {
        "-i": "--input",
        "-o": "--output",
        "-n": "--num-tasks",
        "-f": "--force",
        "-r": "--research",
    },
    "remove-dependency": {"-i": "--id", "-d": "--depends-on", "-f": "--file"},
    "remove-subtask": {"-f": "--file", "-i": "--id", "-c": "--convert"},
    "remove-task": {"-i": "--id", "-f": "--file", "-y": "--yes"},
    "rename-tag": {"-f": "--file"},
    "rules": {"-f": "--force", "-m": "--mode", "-y": "--yes"},
    "set-status": {"-i": "--id", "-s": "--status", "-f": "--format", "-p": "--project"},
    "show": {"-i": "--id", "-s": "--status", "-f": "--format", "-p": "--project"},
    "tags": {},
    "tags add": {},
    "tags copy": {},
    "tags list": {},
    "tags remove": {"-y": "--yes"},
    "tags rename": {},
    "tags use": {},
    "use-tag": {"-f": "--file"},
    "models": {},
    "update": {"-f": "--file", "-p": "--prompt", "-r": "--research"},
    "update-task": {"-f": "--file", "-i": "--id", "-p": "--prompt", "-r": "--research"},
    "update-subtask": {"-f": "--file", "-i": "--id", "-p": "--prompt", "-r": "--research"},
    "research": {
        "-i": "--id",
        "-f": "--files",
        "-c": "--context",
        "-t": "--tree",
        "-s": "--save",
        "-d": "--detail",
    },
    "scope-up": {"-f": "--file", "-i": "--id", "-s": "--strength", "-p": "--prompt", "-r": "--research"},
    "scope-down": {"-f": "--file", "-i": "--id", "-s": "--strength", "-p": "--prompt", "-r": "--research"},
    "validate-dependencies": {"-f": "--file"},
}
ALIASES = {"ls": "list", "status": "set-status"}


def _command(path: str) -> click.Command:
    ctx = click.Context(cli)
    cmd: click.Command | None = cli
    for part in path.split():
        assert isinstance(cmd, click.Group)
        cmd = cmd.get_command(ctx, part)
        assert cmd is not None, f"task-master has no command {path!r}"
    assert cmd is not None
    return cmd


def our_short_flags(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in _command(path).params:
        if not isinstance(p, click.Option):
            continue
        shorts = [o for o in [*p.opts, *p.secondary_opts] if not o.startswith("--")]
        longs = [o for o in p.opts if o.startswith("--")]
        for s in shorts:
            if s != "-h":
                out[s] = longs[0] if longs else s
    return out


@pytest.mark.parametrize("path", sorted(REAL_SHORT_FLAGS))
def test_short_flags_as_task_master_has_them(path: str) -> None:
    assert our_short_flags(path) == REAL_SHORT_FLAGS[path]


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_aliases(alias: str) -> None:
    assert _command(alias) is _command(ALIASES[alias])


def test_short_flags_do_what_the_original_does(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", [task(1), task(2, subtasks=[sub(1)])])
    run_ours(["add-task", "-t", "Manual", "-d", "Written by hand", "--priority", "high"], root)
    run_ours(["add-subtask", "-p", "3", "-t", "Part one", "-d", "First part", "-s", "done"], root)
    t3 = read_json(root)["master"]["tasks"][2]
    assert (t3["title"], t3["description"], t3["priority"]) == ("Manual", "Written by hand", "high")
    assert t3["subtasks"][0]["title"] == "Part one" and t3["subtasks"][0]["status"] == "done"
    out = json.loads(run_ours(["set-status", "-i", "1", "-s", "review", "-f", "json"], root).stdout)
    assert out["updatedTasks"] == [{"taskId": "1", "oldStatus": "pending", "newStatus": "review"}]
    assert (
        json.loads(run_ours(["ls", "-s", "review", "-f", "json"], root).stdout)["metadata"]["filtered"] == 1
    )
    assert (
        run_ours(["show", "-i", "2", "-s", "done"], root).stdout.count("No subtasks with status 'done'") == 1
    )
    # the tasks file is --file everywhere, -f only where the original has it so
    other = tmp_path / "other.json"
    other.write_text(tasks_path(root).read_text())
    run_ours(["add-dependency", "-i", "2", "-d", "1", "-f", str(other)], root)
    assert json.loads(other.read_text())["master"]["tasks"][1]["dependencies"] == [1]
    assert (
        json.loads(run_ours(["next", "--file", str(other), "-f", "json"], root).stdout)["task"]["id"] == "3"
    )
    report = tmp_path / "report.json"
    report.write_text(
        json.dumps(
            {"meta": {"thresholdScore": 5}, "complexityAnalysis": [{"taskId": 1, "complexityScore": 9}]}
        )
    )
    assert "score 9" in run_ours(["complexity-report", "-f", str(report)], root).stdout


# Every command of the real CLI with its short flags, read from its commander program in one node process
# (36 `--help` runs would take minutes).
DUMP_FLAGS = """
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
const dist = process.argv[1];
const file = readdirSync(dist).find((f) => /^commands-.*\\.js$/.test(f));
const program = (await import(join(dist, file))).setupCLI();
const out = {};
const walk = (cmd, prefix) => {
  for (const c of cmd.commands) {
    const name = prefix ? `${prefix} ${c.name()}` : c.name();
    out[name] = Object.fromEntries(c.options.filter((o) => o.short).map((o) => [o.short, o.long]));
    walk(c, name);
  }
};
walk(program, '');
console.log(JSON.stringify(out));
process.exit(0);
"""


@pytest.mark.taskmaster_cli
@pytest.mark.slow
def test_the_table_is_the_real_clis(tmp_path: Path) -> None:
    dist = Path(require_real()).resolve().parent
    env = clean_env(tmp_path)
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", DUMP_FLAGS, str(dist)],
        cwd=make_project(tmp_path / "p"),
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    real = first_json(proc.stdout)
    assert {k: real[k] for k in REAL_SHORT_FLAGS} == REAL_SHORT_FLAGS
