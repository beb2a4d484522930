"""Skill packs: `claude-orchestrator skills list|install|new` manage .claude/skills/ with validated front
matter; a run records the skills present, and the real Claude Code CLI workers are offered them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from run_helpers import git
from run_helpers import make_project as make_repo
from test_engine import env_fake, plan_tasks, run_cli  # noqa: F401 (env_fake is a fixture)

from claude_orchestrator.cli.main import cli
from claude_orchestrator.environment import find_claude_cli
from claude_orchestrator.skills import list_skills, read_skill
from claude_orchestrator.testing.demo_model import demo_model


def skills(*args: str) -> Any:
    return CliRunner().invoke(cli, ["skills", *args])


def write_skill(folder: Path, front: str, body: str = "Body.\n") -> Path:
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(f"---\n{front}\n---\n{body}")
    return folder


def test_new_scaffolds_a_valid_skill_that_list_shows(tmp_path: Path) -> None:
    res = skills(
        "new", "pytest-style", "--description", "Use for tests: fixtures, parametrize.", "-d", str(tmp_path)
    )
    assert res.exit_code == 0, res.output
    skill = read_skill(tmp_path / ".claude" / "skills" / "pytest-style")
    assert skill.ok and skill.description == "Use for tests: fixtures, parametrize."
    listed = skills("list", "--json", "-d", str(tmp_path))
    assert json.loads(listed.output) == [
        {
            "name": "pytest-style",
            "description": "Use for tests: fixtures, parametrize.",
            "ok": True,
            "problems": [],
        }
    ]
    assert skills("new", "pytest-style", "-d", str(tmp_path)).exit_code == 2  # exists
    bad = skills("new", "Bad_Name", "-d", str(tmp_path))
    assert bad.exit_code == 2 and "lowercase letters" in bad.output


@pytest.mark.parametrize(
    ("front", "problem"),
    [
        ("description: no name", "has no `name`"),
        ("name: Other\ndescription: d", "lowercase letters"),
        ("name: elsewhere\ndescription: d", "differs from its folder"),
        ("name: sk", "has no `description`"),
        ("name: sk\ndescription: Use it: always", "quote the value of `description`"),
        ("name: sk\ndescription: d\njust words", "not `key: value`"),
    ],
)
def test_front_matter_is_validated(tmp_path: Path, front: str, problem: str) -> None:
    write_skill(tmp_path / ".claude" / "skills" / "sk", front)
    (found,) = list_skills(tmp_path)
    assert not found.ok and any(problem in p for p in found.problems), found.problems
    res = skills("list", "-d", str(tmp_path))
    assert res.exit_code == 1 and "INVALID" in res.output


def test_front_matter_shapes_that_are_fine(tmp_path: Path) -> None:
    write_skill(tmp_path / "a", 'name: a\ndescription: "Quoted: with a colon"\nallowed-tools: Read, Grep')
    write_skill(tmp_path / "b", "name: b\ndescription: >\n  Folded over\n  two lines.")
    assert read_skill(tmp_path / "a").description == "Quoted: with a colon"
    assert read_skill(tmp_path / "b").description == "Folded over two lines."
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "SKILL.md").write_text("no front matter\n")
    assert "must start with a front matter block" in read_skill(tmp_path / "c").problems[0]


def test_install_a_skill_or_a_pack_all_or_nothing(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    one = write_skill(tmp_path / "src" / "alpha", "name: alpha\ndescription: Alpha things.")
    (one / "reference.md").write_text("extra file\n")
    res = skills("install", str(one), "-d", str(project))
    assert res.exit_code == 0 and "installed alpha" in res.output
    assert (project / ".claude" / "skills" / "alpha" / "reference.md").read_text() == "extra file\n"

    pack = tmp_path / "pack"
    write_skill(pack / "skills" / "beta", "name: beta\ndescription: Beta.")
    write_skill(pack / "skills" / "gamma", "name: gamma")  # no description
    res = skills("install", str(pack), "-d", str(project))
    assert res.exit_code == 2 and "gamma: front matter has no `description`" in res.output
    assert not (project / ".claude" / "skills" / "beta").exists()  # nothing copied

    (pack / "skills" / "gamma" / "SKILL.md").write_text("---\nname: gamma\ndescription: Gamma.\n---\n")
    assert skills("install", str(pack), "-d", str(project)).exit_code == 0
    assert sorted(s.name for s in list_skills(project)) == ["alpha", "beta", "gamma"]
    again = skills("install", str(one), "-d", str(project))
    assert again.exit_code == 2 and "already installed: alpha" in again.output
    assert skills("install", str(one), "--force", "-d", str(project)).exit_code == 0
    assert skills("install", str(tmp_path / "missing"), "-d", str(project)).exit_code == 2


def test_run_records_the_skills_present(tmp_path: Path, env_fake: Any) -> None:  # noqa: F811
    root = make_repo(tmp_path / "p", plan_tasks([1]))
    write_skill(
        root / ".claude" / "skills" / "house-style", "name: house-style\ndescription: Our conventions."
    )
    write_skill(root / ".claude" / "skills" / "broken", "name: broken")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "skills")  # a run starts only from a clean tree
    env_fake(demo_model)
    res = run_cli(root, "--backend", "api", "--no-review")
    assert res.exit_code == 0, res.output
    (run_dir,) = (root / ".taskmaster" / "runs").iterdir()
    assert json.loads((run_dir / "run.json").read_text())["skills"] == ["house-style"]


@pytest.mark.claude_cli
@pytest.mark.slow
@pytest.mark.skipif(find_claude_cli() is None, reason="Claude Code CLI not available")
def test_claude_code_workers_are_offered_the_skills(tmp_path: Path, env_fake: Any) -> None:  # noqa: F811
    root = make_repo(tmp_path / "p", plan_tasks([1]))
    skills("new", "zebra-facts", "--description", "Knows zebra stripe facts (marker 7f3a9).", "-d", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "skills")
    fake = env_fake(demo_model)
    res = run_cli(root, "--backend", "claude-code", "--no-review")
    assert res.exit_code == 0, res.output
    worker = [r for r in fake.requests if r.endpoint == "/v1/messages" and r.has_tool("Write")]
    assert worker and any("marker 7f3a9" in json.dumps(r.body) for r in worker)
