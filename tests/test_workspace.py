"""Workspace: opening, per-task worktrees, scoped commits, resume, no-git mode (real git repositories)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gitrepo import AUTHOR, changed_in, commit_files, files_in, isolate_git, make_repo, porcelain, run, write

from claude_orchestrator.config import GitConfig
from claude_orchestrator.errors import DirtyWorktreeError, RepoStateError, WorkspaceError
from claude_orchestrator.workspace import GitWorkspace, NoGitWorkspace, gitops, locks


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git(monkeypatch, tmp_path)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def open_ws(repo: Path, run_id: str = "run1", **kw: object) -> GitWorkspace:
    ws = GitWorkspace.open(repo, run_id, GitConfig(), **kw)  # type: ignore[arg-type]
    assert isinstance(ws, GitWorkspace)
    return ws


def test_open_records_branch_and_excludes_worktrees(repo: Path) -> None:
    ws = open_ws(repo)
    assert ws.is_git and ws.target_branch == "main" and ws.start_branch == "main"
    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert "/.taskmaster/worktrees/" in exclude.splitlines()
    open_ws(repo)  # reopening does not write the line twice
    assert (repo / ".git" / "info" / "exclude").read_text().count("/.taskmaster/worktrees/") == 1
    assert not (repo / ".gitignore").exists()


def test_prepare_cuts_branch_from_target_tip(repo: Path) -> None:
    ws = open_ws(repo)
    path = ws.prepare("3")
    assert path == repo / ".taskmaster" / "worktrees" / "run1" / "3"
    assert run(path, "symbolic-ref", "--short", "HEAD") == "orchestrator/run1/3"
    assert run(path, "rev-parse", "HEAD") == run(repo, "rev-parse", "main")
    assert (path / "a.txt").read_text() == "one\ntwo\nthree\n"
    assert porcelain(repo) == ""  # the main tree does not see the worktree
    assert ws.prepare("3") == path  # idempotent


def test_one_commit_per_task_with_only_its_files_and_config_author(repo: Path) -> None:
    ws = open_ws(repo)
    p1, p2 = ws.prepare("1"), ws.prepare("2")
    write(p1 / "src" / "one.py", "x = 1\n")
    write(p1 / "a.txt", "one\nTWO\nthree\n")
    write(p2 / "two.py", "y = 2\n")
    sha1 = ws.commit_task("1", "Add one")
    sha2 = ws.commit_task("2", "Add  two\nsecond line")
    assert sha1 and sha2
    assert changed_in(p1, sha1) == ["a.txt", "src/one.py"]
    assert changed_in(p2, sha2) == ["two.py"]
    msg = run(p1, "log", "-1", "--format=%B", sha1)
    assert msg.startswith("[orchestrator] Task 1: Add one\n")
    assert "Files: a.txt, src/one.py" in msg
    assert run(p2, "log", "-1", "--format=%s", sha2) == "[orchestrator] Task 2: Add two second line"
    assert run(p1, "log", "-1", "--format=%an <%ae>", sha1) == f"{AUTHOR[0]} <{AUTHOR[1]}>"
    assert run(p1, "rev-list", "--count", f"main..{sha1}") == "1"
    assert porcelain(p1) == "" and porcelain(p2) == ""
    assert ws.commit_task("1", "again") is None  # nothing left to commit
    assert ws.commit_task("1", "marker", allow_empty=True) is not None


def test_sensitive_files_never_committed_and_worker_commits_squashed(repo: Path) -> None:
    ws = open_ws(repo)
    p = ws.prepare("7")
    write(p / "app.py", "print('hi')\n")
    write(p / ".env", "API_KEY=sk-very-secret\n")
    write(p / "certs" / "key.pem", "-----BEGIN PRIVATE KEY-----\n")
    commit_files(p, "worker: add app")  # the worker commits everything itself, .env included
    write(p / "notes.md", "done\n")
    sha = ws.commit_task("7", "App")
    assert sha is not None
    assert run(p, "rev-list", "--count", f"main..{sha}") == "1"  # squashed into one task commit
    assert files_in(p, sha) == ["a.txt", "app.py", "b.txt", "notes.md"]
    assert ws.skipped["7"] == [".env", "certs/key.pem"]
    body = run(p, "log", "-1", "--format=%B", sha)
    assert "Worker commits: worker: add app" in body and ".env" in body
    assert (p / ".env").read_text() == "API_KEY=sk-very-secret\n"  # left in the worktree, not deleted
    assert "sk-very-secret" not in run(p, "log", "--all", "-p")


def test_diff_and_changed_files_hide_secrets(repo: Path) -> None:
    ws = open_ws(repo)
    p = ws.prepare("4")
    write(p / "b.txt", "bee\nmore\n")
    write(p / "new.txt", "fresh\n")
    write(p / "server.key", "TOPSECRET\n")
    (p / "a.txt").unlink()
    assert ws.changed_files("4") == ["a.txt", "b.txt", "new.txt", "server.key"]
    d = ws.diff("4")
    assert "+more" in d and "+fresh" in d and "-one" in d
    assert "TOPSECRET" not in d and "not shown (sensitive files): server.key" in d
    assert ws.has_changes("4")
    short = ws.diff("4", max_bytes=40)
    assert short.endswith("bytes shown]\n") and len(short) < 120
    assert run(p, "diff", "--cached", "--name-only") == ""  # the worktree's own index is untouched


def test_dirty_user_tree_is_refused_and_nothing_changes(repo: Path) -> None:
    write(repo / "a.txt", "edited by the user\n")
    write(repo / "scratch.txt", "mine\n")
    before = (repo / ".git" / "info" / "exclude").read_text()
    with pytest.raises(DirtyWorktreeError) as ei:
        GitWorkspace.open(repo, "r", GitConfig(), target_branch="feature")
    assert "a.txt" in str(ei.value) and "scratch.txt" in str(ei.value)
    assert ei.value.exit_code == 2 and ei.value.fields["paths"] == ["a.txt", "scratch.txt"]
    assert not (repo / ".taskmaster").exists()
    assert run(repo, "branch", "--list") == "* main"
    assert (repo / ".git" / "info" / "exclude").read_text() == before
    assert (repo / "a.txt").read_text() == "edited by the user\n"


def test_dirty_message_lists_at_most_five_paths(repo: Path) -> None:
    for i in range(8):
        write(repo / f"u{i}.txt", "x")
    with pytest.raises(DirtyWorktreeError, match=r"u0\.txt.*u4\.txt \(\+3 more\)"):
        GitWorkspace.open(repo, "r", GitConfig())


def test_engine_files_do_not_count_as_dirty(repo: Path) -> None:
    write(repo / ".taskmaster" / "tasks" / "tasks.json", '{"tasks": []}\n')
    write(repo / ".taskmaster" / "runs" / "r1" / "events.ndjson", "{}\n")
    assert open_ws(repo).is_git


def test_repository_states_that_cannot_start(tmp_path: Path) -> None:
    empty = make_repo(tmp_path / "empty", {}, identity=False)
    with pytest.raises(RepoStateError, match="no commit yet"):
        GitWorkspace.open(empty, "r", GitConfig())
    repo = make_repo(tmp_path / "r2")
    run(repo, "checkout", "-q", "--detach")
    with pytest.raises(RepoStateError, match="detached"):
        GitWorkspace.open(repo, "r", GitConfig())
    assert open_ws(repo, target_branch="work").target_branch == "work"
    with pytest.raises(RepoStateError, match="invalid branch name"):
        GitWorkspace.open(repo, "r", GitConfig(), target_branch="bad..name")
    run(repo, "checkout", "-q", "main")
    run(repo, "config", "--unset", "user.email")
    with pytest.raises(RepoStateError, match="user.name and user.email"):
        GitWorkspace.open(repo, "r", GitConfig())
    assert GitWorkspace.open(repo, "r", GitConfig(auto_commit=False)).is_git


def test_resume_reuses_worktree_with_uncommitted_work(repo: Path) -> None:
    ws = open_ws(repo, "run-9", target_branch="feat")
    p = ws.prepare("1")
    write(p / "half.py", "work in progress\n")
    del ws  # "crash": a new process opens the same run
    again = open_ws(repo, "run-9")
    assert again.target_branch == "feat"  # recorded at the first open
    assert again.existing_tasks() == {"1": p}
    assert again.prepare("1") == p
    assert (p / "half.py").read_text() == "work in progress\n"
    assert again.cleanup("1") is False  # uncommitted work: the worktree stays
    assert (p / "half.py").exists()


def test_prepare_recreates_a_removed_worktree_on_its_branch(repo: Path) -> None:
    ws = open_ws(repo)
    p = ws.prepare("2")
    write(p / "x.txt", "x\n")
    sha = ws.commit_task("2", "x")
    assert ws.cleanup("2") is True and not p.exists()
    assert run(repo, "rev-parse", "orchestrator/run1/2") == sha  # branch kept
    assert ws.prepare("2") == p and (p / "x.txt").read_text() == "x\n"


def test_cleanup_and_finish(repo: Path) -> None:
    ws = open_ws(repo)
    p = ws.prepare("1")
    write(p / "c.txt", "c\n")
    ws.commit_task("1", "c")
    assert ws.cleanup("1", keep_branch=False) is True
    assert run(repo, "branch", "--list", "orchestrator/run1/1") != ""  # not merged: branch kept
    assert ws.merge_task("1", "c").ok
    ws.prepare("1")
    assert ws.cleanup("1", keep_branch=False) is True
    assert run(repo, "branch", "--list", "orchestrator/run1/1") == ""
    ws.finish()
    assert not ws.run_dir.exists()
    assert len(run(repo, "worktree", "list").splitlines()) == 1


def test_parallel_prepare_from_eight_threads(repo: Path) -> None:
    ws = open_ws(repo)
    start = threading.Barrier(8)

    def go(i: int) -> Path:
        start.wait(timeout=30)
        return ws.prepare(str(i))

    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(go, range(8)))
    assert len(set(paths)) == 8
    for i, p in enumerate(paths):
        assert run(p, "symbolic-ref", "--short", "HEAD") == f"orchestrator/run1/{i}"
        assert (p / "a.txt").is_file()
    assert len(run(repo, "worktree", "list").splitlines()) == 9
    assert set(ws.existing_tasks()) == {str(i) for i in range(8)}


def test_project_in_a_subdirectory(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "mono", {"proj/a.txt": "a\n", "other/z.txt": "z\n"})
    ws = open_ws(repo / "proj")
    p = ws.prepare("1")
    assert p.name == "proj" and (p / "a.txt").is_file()
    write(p / "new.txt", "n\n")
    write(p / ".taskmaster" / "tasks" / "tasks.json", "{}\n")  # engine file inside the task: not committed
    sha = ws.commit_task("1", "n")
    assert sha and changed_in(p, sha) == ["proj/new.txt"]
    assert ws.skipped["1"] == ["proj/.taskmaster/tasks/tasks.json"]


def test_no_git_directory(tmp_path: Path) -> None:
    d = tmp_path / "plain"
    d.mkdir()
    ws = GitWorkspace.open(d, "r", GitConfig())
    assert isinstance(ws, NoGitWorkspace) and ws.is_git is False
    assert "not in a git repository" in ws.notice
    assert ws.prepare("1") == d.resolve()
    assert ws.commit_task("1", "t") is None and ws.merge_task("1", "t").ok
    off = GitWorkspace.open(make_repo(tmp_path / "r"), "r", GitConfig(use_worktrees=False))
    assert isinstance(off, NoGitWorkspace) and "use_worktrees" in off.notice


def test_no_git_overlapping_tasks_take_turns(tmp_path: Path) -> None:
    ws = NoGitWorkspace(tmp_path, "no git")
    inside_a, release_a, inside_b, inside_c = (threading.Event() for _ in range(4))

    def task_a() -> None:
        with ws.task_slot("a", ["x.py", "y.py"]):
            inside_a.set()
            release_a.wait(timeout=30)

    def task_b() -> None:  # overlaps a on y.py
        with ws.task_slot("b", ["y.py"]):
            inside_b.set()

    def task_c() -> None:  # disjoint from a
        with ws.task_slot("c", ["z.py"]):
            inside_c.set()

    ta = threading.Thread(target=task_a)
    ta.start()
    assert inside_a.wait(timeout=30)
    tb, tc = threading.Thread(target=task_b), threading.Thread(target=task_c)
    tb.start()
    tc.start()
    assert inside_c.wait(timeout=30)  # disjoint task runs alongside
    assert not inside_b.wait(timeout=0.3)  # overlapping task waits
    release_a.set()
    assert inside_b.wait(timeout=30)
    for t in (ta, tb, tc):
        t.join(timeout=30)


def test_unknown_task_is_a_clear_error(repo: Path) -> None:
    ws = open_ws(repo)
    with pytest.raises(WorkspaceError, match="task 99 has no worktree"):
        ws.commit_task("99", "x")
    with pytest.raises(WorkspaceError, match="no branch"):
        ws.merge_task("99", "x")


def test_interrupted_checkout_is_redone_on_resume(repo: Path) -> None:
    ws = open_ws(repo)
    path = ws.run_dir / "6"  # as if the process died between registering and checking out
    run(repo, "worktree", "add", "-q", "--no-checkout", "-b", "orchestrator/run1/6", str(path), "main")
    (Path(run(path, "rev-parse", "--absolute-git-dir")) / "orchestrator-checkout-pending").touch()
    assert not (path / "a.txt").exists()
    assert open_ws(repo).prepare("6") == path
    assert (path / "a.txt").read_text() == "one\ntwo\nthree\n" and porcelain(path) == ""


def test_repo_lock_excludes_another_process(repo: Path) -> None:
    ws = open_ws(repo)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(repo / ".git" / "orchestrator.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "held"
    got = threading.Event()
    t = threading.Thread(target=lambda: (ws.prepare("1"), got.set()))
    t.start()
    assert not got.wait(timeout=0.5)  # the other process holds the repository lock
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert got.wait(timeout=30)
    t.join(timeout=30)
    assert holder.wait(timeout=30) == 0
    holder.stdin.close()
    holder.stdout.close()


HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
"""


def test_a_task_directory_that_vanished_is_named(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no such directory"):
        gitops.git(tmp_path / "gone", "status")


def test_stale_git_locks_left_by_a_killed_git_are_removed(repo: Path) -> None:
    """`kill -9` during a git command leaves index.lock behind: the next run clears it and says so."""
    (repo / ".git" / "index.lock").write_text("")
    ws = open_ws(repo)
    assert not (repo / ".git" / "index.lock").exists()
    assert "index.lock" in (ws.notice or "")
    p = ws.prepare("1")
    write(p / "n.txt", "n\n")
    gitdir = Path(run(p, "rev-parse", "--absolute-git-dir"))
    (gitdir / "index.lock").write_text("")  # a worker's git killed mid-command
    assert ws.commit_task("1", "one") is not None
    (repo / ".git" / "index.lock").write_text("")  # and one in the main tree, mid-run
    assert ws.merge_task("1", "one").ok
    assert (repo / "n.txt").read_text() == "n\n"


def test_a_git_lock_held_by_a_live_process_is_kept(repo: Path) -> None:
    lock = repo / ".git" / "index.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys,time; f=open(sys.argv[1],'w'); time.sleep(30)", str(lock)]
    )
    try:
        deadline = time.monotonic() + 10
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert locks.clear_stale_locks(repo / ".git", [repo]) == []
        assert lock.exists()
    finally:
        holder.kill()
        holder.wait()
    assert locks.clear_stale_locks(repo / ".git", [repo]) == ["index.lock"]


def test_a_worktree_add_killed_half_way_is_redone_on_resume(repo: Path) -> None:
    ws = open_ws(repo)
    p = ws.prepare("1")
    wt_admin = Path(run(p, "rev-parse", "--absolute-git-dir"))
    (wt_admin / "HEAD").unlink()  # registration half-written: git no longer lists it as a worktree
    ws2 = open_ws(repo)
    p2 = ws2.prepare("1")
    assert p2 == p and (p2 / "a.txt").read_text() == "one\ntwo\nthree\n"
    write(p2 / "x.txt", "x\n")
    assert ws2.commit_task("1", "one") is not None
    assert (
        "error"
        not in subprocess.run(["git", "fsck"], cwd=repo, capture_output=True, text=True).stderr.lower()
    )
