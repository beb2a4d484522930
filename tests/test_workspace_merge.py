"""Workspace merges: clean merges, conflicts and the retry, tracked tasks.json, --branch (real git)."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gitrepo import commit_files, isolate_git, make_repo, porcelain, run, write

from claude_orchestrator.config import GitConfig
from claude_orchestrator.workspace import GitWorkspace

TASKS = ".taskmaster/tasks/tasks.json"


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git(monkeypatch, tmp_path)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def open_ws(repo: Path, run_id: str = "run1", cfg: GitConfig | None = None, **kw: object) -> GitWorkspace:
    ws = GitWorkspace.open(repo, run_id, cfg or GitConfig(), **kw)  # type: ignore[arg-type]
    assert isinstance(ws, GitWorkspace)
    return ws


def do_task(ws: GitWorkspace, tid: str, files: dict[str, str]) -> Path:
    p = ws.prepare(tid)
    for name, text in files.items():
        write(p / name, text)
    assert ws.commit_task(tid, f"task {tid}") is not None
    return p


def no_merge_in_progress(repo: Path) -> bool:
    return not (repo / ".git" / "MERGE_HEAD").exists()


def test_two_tasks_merge_into_the_starting_branch_and_the_tree_follows(repo: Path) -> None:
    ws = open_ws(repo)
    p1 = do_task(ws, "1", {"one.txt": "1\n"})
    do_task(ws, "2", {"two.txt": "2\n"})
    write(p1 / "forgotten.txt", "not committed\n")
    r1 = ws.merge_task("1", "one")
    assert r1.ok and r1.kind == "fast-forward" and r1.commit == run(repo, "rev-parse", "main")
    assert "1 uncommitted file(s) in its worktree were not merged" in r1.description
    assert not (repo / "forgotten.txt").exists()
    r2 = ws.merge_task("2", "two")
    assert r2.ok and r2.kind == "merged" and r2.commit == run(repo, "rev-parse", "HEAD")
    assert run(repo, "log", "-1", "--format=%s") == "[orchestrator] Merge task 2: two"
    assert run(repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert (repo / "one.txt").read_text() == "1\n" and (repo / "two.txt").read_text() == "2\n"
    assert porcelain(repo) == ""
    again = ws.merge_task("2", "two")
    assert again.ok and again.kind == "up-to-date"


@pytest.mark.parametrize("legacy", [False, True], ids=["merge-tree", "temp-worktree"])
def test_conflict_fails_cleanly_then_reset_to_base_and_redo_merges(repo: Path, legacy: bool) -> None:
    ws = open_ws(repo)
    do_task(ws, "1", {"a.txt": "one\nFIRST\nthree\n"})
    p2 = do_task(ws, "2", {"a.txt": "one\nSECOND\nthree\n", "extra.txt": "e\n"})
    assert ws.merge_task("1", "first", legacy=legacy).ok
    head = run(repo, "rev-parse", "HEAD")
    write(p2 / "uncommitted.txt", "late work\n")  # must survive the reset as a patch
    r = ws.merge_task("2", "second", legacy=legacy)
    assert not r.ok and r.kind == "conflict" and r.commit is None
    assert r.conflict_files == ["a.txt"]
    assert "a.txt" in r.description and "conflict" in r.description.lower()
    assert run(repo, "rev-parse", "HEAD") == head and porcelain(repo) == "" and no_merge_in_progress(repo)
    assert (repo / "a.txt").read_text() == "one\nFIRST\nthree\n"
    assert len(run(repo, "worktree", "list").splitlines()) == 3  # no temporary worktree left behind

    patch = ws.reset_to_base("2")
    assert "+SECOND" in patch and "+late work" in patch and "extra.txt" in patch
    saved = list((ws.run_dir / ".patches").glob("2-*.patch"))
    assert [s.name for s in saved] == ["2-1.patch"] and "+late work" in saved[0].read_text()
    assert run(repo, "for-each-ref", "--format=%(refname)", "refs/orchestrator-saved/") == (
        "refs/orchestrator-saved/run1/2/1"
    )
    assert run(p2, "rev-parse", "HEAD") == head  # re-cut on the new base
    assert porcelain(p2) == "" and (p2 / "a.txt").read_text() == "one\nFIRST\nthree\n"

    write(p2 / "b.txt", "bee\nredone\n")
    assert ws.commit_task("2", "second, redone") is not None
    r2 = ws.merge_task("2", "second, redone", legacy=legacy)
    assert r2.ok, r2.description
    assert (repo / "b.txt").read_text() == "bee\nredone\n" and (
        repo / "a.txt"
    ).read_text() == "one\nFIRST\nthree\n"
    assert porcelain(repo) == ""


def test_second_reset_keeps_both_patches(repo: Path) -> None:
    ws = open_ws(repo)
    p = do_task(ws, "5", {"x.txt": "v1\n"})
    ws.reset_to_base("5")
    write(p / "x.txt", "v2\n")
    ws.reset_to_base("5")
    names = sorted(s.name for s in (ws.run_dir / ".patches").glob("5-*.patch"))
    assert names == ["5-1.patch", "5-2.patch"]
    assert "+v2" in (ws.run_dir / ".patches" / "5-2.patch").read_text()


def test_reset_keeps_untracked_secrets_and_copies_tracked_ones(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", "certs/dev.pem": "old cert\n"})
    ws = open_ws(repo)
    p = ws.prepare("1")
    write(p / ".env", "TOKEN=abc\n")
    write(p / "certs" / "dev.pem", "new cert\n")
    patch = ws.reset_to_base("1")
    assert "TOKEN" not in patch and "new cert" not in patch
    assert (p / ".env").read_text() == "TOKEN=abc\n"  # untracked secret stays in place
    assert (ws.run_dir / ".patches" / "1-1.files" / "certs" / "dev.pem").read_text() == "new cert\n"


@pytest.mark.parametrize("auto_commit", [True, False])
def test_tracked_tasks_json_status_writes_survive_merges(tmp_path: Path, auto_commit: bool) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", TASKS: json.dumps({"status": "pending"}) + "\n"})
    status_file = repo / TASKS
    write(status_file, json.dumps({"status": "started"}) + "\n")  # the engine wrote before opening
    ws = open_ws(repo, cfg=GitConfig(auto_commit=auto_commit))
    p1 = do_task(ws, "1", {"one.txt": "1\n"})
    write(p1 / TASKS, '{"worker": "scribbled"}\n')  # a worker touching the database is not committed
    do_task(ws, "2", {"two.txt": "2\n"})
    assert ws.merge_task("1", "one").ok
    write(status_file, json.dumps({"status": "1 done"}) + "\n")  # engine write between merges
    r2 = ws.merge_task("2", "two")
    assert r2.ok, r2.description
    write(status_file, json.dumps({"status": "2 done"}) + "\n")
    assert json.loads(status_file.read_text()) == {"status": "2 done"}
    assert (repo / "one.txt").exists() and (repo / "two.txt").exists()
    dirty = porcelain(repo)
    assert dirty == f" M {TASKS}"  # only the latest engine write is pending
    log = run(repo, "log", "--format=%s")
    if auto_commit:
        assert log.count("Update task status") == 2
        assert json.loads(run(repo, "show", f"HEAD~1:{TASKS}")) == {"status": "1 done"}
    else:
        assert "Update task status" not in log
    assert "scribbled" not in run(repo, "log", "--all", "-p", "--", TASKS)


def test_branch_option_merges_there_and_leaves_the_original_branch(repo: Path) -> None:
    main_before = run(repo, "rev-parse", "main")
    ws = open_ws(repo, target_branch="orch/feature")
    assert ws.start_branch == "main" and ws.target_branch == "orch/feature"
    assert "created branch orch/feature" in (ws.notice or "")
    do_task(ws, "1", {"one.txt": "1\n"})
    do_task(ws, "2", {"two.txt": "2\n"})
    assert ws.merge_task("1", "one").ok and ws.merge_task("2", "two").ok
    assert run(repo, "rev-parse", "main") == main_before
    assert run(repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert not (repo / "one.txt").exists() and porcelain(repo) == ""
    assert run(repo, "ls-tree", "--name-only", "orch/feature").splitlines() == [
        "a.txt",
        "b.txt",
        "one.txt",
        "two.txt",
    ]
    ws2 = open_ws(repo, target_branch="orch/feature")  # resume reuses the branch
    assert ws2.notice is None and run(repo, "rev-parse", "orch/feature") == ws.merge_task("2", "two").commit


def test_merge_never_overwrites_a_user_change_made_during_the_run(repo: Path) -> None:
    ws = open_ws(repo)
    do_task(ws, "1", {"b.txt": "task version\n"})
    write(repo / "b.txt", "the user's edit\n")
    r = ws.merge_task("1", "b")
    assert not r.ok and r.kind == "blocked" and r.conflict_files == ["b.txt"]
    assert (repo / "b.txt").read_text() == "the user's edit\n"
    assert no_merge_in_progress(repo)
    run(repo, "checkout", "--", "b.txt")
    assert ws.merge_task("1", "b").ok and (repo / "b.txt").read_text() == "task version\n"


def test_merge_moves_a_branch_checked_out_elsewhere_only_via_its_tree(repo: Path, tmp_path: Path) -> None:
    ws = open_ws(repo)
    do_task(ws, "1", {"n.txt": "n\n"})
    run(repo, "checkout", "-q", "-b", "side")  # the user switched branches mid-run
    r = ws.merge_task("1", "n")
    assert r.ok and run(repo, "rev-parse", "main") == r.commit
    assert not (repo / "n.txt").exists() and run(repo, "symbolic-ref", "--short", "HEAD") == "side"


def test_worker_commits_are_merged_as_one_task_commit(repo: Path) -> None:
    ws = open_ws(repo)
    p = ws.prepare("1")
    for i in range(3):
        write(p / f"f{i}.txt", f"{i}\n")
        commit_files(p, f"step {i}")
    sha = ws.commit_task("1", "three steps")
    assert ws.merge_task("1", "three steps").commit == sha
    assert run(repo, "rev-list", "--count", "HEAD~1..HEAD") == "1"
    assert "Worker commits: step 0; step 1; step 2" in run(repo, "log", "-1", "--format=%B")


def test_eight_threads_commit_and_merge_concurrently(repo: Path) -> None:
    ws = open_ws(repo)

    def task(i: int) -> str | None:
        p = ws.prepare(str(i))
        write(p / f"out{i}" / "result.txt", f"{i}\n")
        ws.commit_task(str(i), f"t{i}")
        r = ws.merge_task(str(i), f"t{i}")
        assert r.ok, r.description
        return r.commit

    with ThreadPoolExecutor(8) as pool:
        commits = list(pool.map(task, range(8)))
    assert all(commits)
    assert sorted(p.name for p in repo.glob("out*")) == [f"out{i}" for i in range(8)]
    assert porcelain(repo) == ""
    assert run(repo, "log", "--format=%s").count("Task ") >= 8


def test_odd_file_names_are_committed_and_diffed_literally(repo: Path) -> None:
    ws = open_ws(repo)
    p = ws.prepare("1")
    write(p / "weird *name [x].txt", "odd\n")
    write(p / ":(exclude)b.txt", "magic-looking\n")
    assert ws.changed_files("1") == [":(exclude)b.txt", "weird *name [x].txt"]
    assert "+odd" in ws.diff("1") and "+magic-looking" in ws.diff("1")
    sha = ws.commit_task("1", "odd")
    assert sha and run(repo, "show", "--format=", "--name-only", sha).splitlines() == [
        ":(exclude)b.txt",
        "weird *name [x].txt",
    ]


def test_status_commits_never_race_with_a_concurrent_writer(tmp_path: Path) -> None:
    """The engine rewrites tasks.json (temp file + rename) while status commits run: each commit holds one
    whole version, the index keeps up with HEAD, and no commit fails with "nothing to commit"."""
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n", TASKS: json.dumps({"n": 0}) + "\n"})
    ws = open_ws(repo)
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            tmp = repo / ".taskmaster" / "tasks" / "tasks.json.tmp"
            tmp.write_text(json.dumps({"n": n, "pad": "x" * (n % 300)}) + "\n", encoding="utf-8")
            os.replace(tmp, repo / TASKS)

    t = threading.Thread(target=writer)
    t.start()
    try:
        commits = 0
        for _ in range(40):
            if ws.commit_status() is not None:
                commits += 1
            json.loads(run(repo, "show", f"HEAD:{TASKS}"))  # a whole version was committed
            assert run(repo, "diff", "--cached", "--name-only") == ""  # index == HEAD
    finally:
        stop.set()
        t.join()
    assert commits >= 20
    write(repo / TASKS, json.dumps({"n": "last"}) + "\n")
    assert ws.commit_status() is not None  # the last version goes in too
    assert json.loads(run(repo, "show", f"HEAD:{TASKS}")) == {"n": "last"}
    assert run(repo, "diff", "--cached", "--name-only") == "" and porcelain(repo) == ""
