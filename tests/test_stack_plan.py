import json

import pytest

from claude_orchestrator.errors import PlanError
from claude_orchestrator.stack.apply import slugify, write_plan
from claude_orchestrator.stack.plan import load_plan, parse_plan, parse_plan_text


def test_full_shape_with_both_key_spellings():
    plan = parse_plan(
        {
            "name": "My API",
            "description": "d",
            "files": [{"filename": "app.py", "code": "x = 1\n"}, {"path": "src/./b.py", "content": "y"}],
            "post_install": "echo hi",
            "run": "python app.py",
        }
    )
    assert plan.name == "My API"
    assert plan.file_paths() == ["app.py", "src/b.py"]
    assert plan.post_install == ("echo hi",)
    assert plan.run == "python app.py"
    assert plan.to_dict()["files"][0] == {"path": "app.py", "content": "x = 1\n"}


def test_bare_list_and_mapping_shapes():
    a = parse_plan([{"filename": "main.py", "code": "print(1)"}])
    b = parse_plan({"main.py": "print(1)", "lib/util.py": ""})
    c = parse_plan({"name": "n", "files": {"main.py": "print(1)"}})
    assert a.name == b.name == "project"
    assert a.file_paths() == ["main.py"]
    assert b.file_paths() == ["main.py", "lib/util.py"]
    assert c.file_paths() == ["main.py"]


def test_file_contents_are_never_rewritten():
    code = "const o = {a:1,};\nconst l = [1,2,];\n"
    plan = parse_plan_text(json.dumps({"name": "js", "files": [{"filename": "a.js", "code": code}]}))
    assert plan.files[0].content == code


def test_every_problem_listed_in_one_error():
    bad = {
        "name": "x",
        "files": [
            {"filename": "/etc/passwd", "code": ""},
            {"filename": "../up.txt", "code": ""},
            {"filename": "a/../../b", "code": ""},
            {"filename": "C:\\win.txt", "code": ""},
            {"filename": "nul\x00.txt", "code": ""},
            {"filename": ".git/hooks/pre-commit", "code": ""},
            {"filename": "sub/.git/config", "code": ""},
            {"filename": "dup.txt", "code": ""},
            {"filename": "./dup.txt", "code": ""},
            {"filename": "Dup.TXT", "code": ""},
            {"filename": "big.txt", "code": "x" * 101},
            {"filename": "n.txt", "code": 5},
            {"code": "no name"},
            "not an object",
        ],
        "extra": 1,
    }
    with pytest.raises(PlanError) as e:
        parse_plan(bad, max_file_bytes=100)
    msg = str(e.value)
    probs = e.value.problems
    assert e.value.exit_code == 2
    for needle in [
        '"/etc/passwd" is absolute',
        "\"../up.txt\" contains '..'",
        "\"a/../../b\" contains '..'",
        "drive letter",
        "NUL byte",
        "goes into .git/",
        "goes into a .git folder",
        'duplicate path "./dup.txt"',
        "differs only in case",
        "is 101 bytes (limit 100)",
        "code must be a string",
        "files[12] needs exactly one of 'filename' or 'path'",
        "files[13] must be an object",
        "unknown key 'extra'",
    ]:
        assert needle in msg, needle
    assert len(probs) >= 14


@pytest.mark.parametrize(
    "data",
    [[], {}, "text", {"name": "x", "files": []}, {"name": "x"}, {"name": "", "files": {"a": "b"}}],
)
def test_empty_or_malformed_plans_refused(data):
    with pytest.raises(PlanError):
        parse_plan(data)


def test_malformed_json_names_the_position(tmp_path):
    p = tmp_path / "plan.json"
    p.write_text('{"name": "x", "files": [}')
    with pytest.raises(PlanError, match="malformed JSON at line 1"):
        load_plan(p)
    with pytest.raises(PlanError, match="no such file"):
        load_plan(tmp_path / "missing.json")


def test_slugify():
    assert slugify("My Cool API!") == "my-cool-api"
    assert slugify("../../etc") == "etc"
    assert slugify("...") == "project"
    assert slugify("$(touch x)") == "touch-x"


def test_write_plan_fresh_folder_with_suffix(tmp_path):
    plan = parse_plan({"name": "Demo", "files": {"a/b/c.txt": "hi", "run.sh": "#!/bin/sh\necho hi\n"}})
    first = write_plan(plan, tmp_path)
    second = write_plan(plan, tmp_path)
    assert first.name == "demo" and second.name == "demo-2"
    assert (second / "a/b/c.txt").read_text() == "hi"
    assert (first / "run.sh").stat().st_mode & 0o111


def test_output_folder_symlink_is_resolved(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    project = write_plan(parse_plan({"a.txt": "x"}), tmp_path / "link")
    assert project.parent == real.resolve()
    assert (real / "project" / "a.txt").read_text() == "x"


def test_symlinked_parent_inside_project_is_refused(tmp_path, monkeypatch):
    """If something planted a symlink in the fresh folder, writing through it is refused and undone."""
    from claude_orchestrator.stack import apply

    outside = tmp_path / "outside"
    outside.mkdir()
    real_fresh = apply._fresh_dir

    def fresh_with_trap(out_dir, slug):
        d = real_fresh(out_dir, slug)
        (d / "sub").symlink_to(outside)
        return d

    monkeypatch.setattr(apply, "_fresh_dir", fresh_with_trap)
    with pytest.raises(PlanError, match="not a plain folder"):
        write_plan(parse_plan({"sub/x.txt": "pwned"}), tmp_path / "out")
    assert list(outside.iterdir()) == []
    assert list((tmp_path / "out").iterdir()) == []
