"""The workspace's fast paths, as the run's pipeline uses them: how many git processes a task costs, views
made from the task's own commit equal to the full ones, no git at all for status commits of an untracked
tasks.json (real git)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from gitrepo import isolate_git, make_repo, porcelain, run, write

from claude_orchestrator.config import GitConfig
from claude_orchestrator.workspace import GitWorkspace


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git(monkeypatch, tmp_path)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def open_ws(repo: Path) -> GitWorkspace:
    ws = GitWorkspace.open(repo, "run1", GitConfig())
    assert isinstance(ws, GitWorkspace)
    return ws


class GitCalls:
    """Counts the git processes a workspace starts, by subcommand."""

    def __init__(self, ws: GitWorkspace) -> None:
        self.seen: Counter[str] = Counter()
        run_git = ws.git.run

        def counted(cwd: Path, *args: str, **kw: Any) -> Any:
            self.seen[args[0]] += 1
            return run_git(cwd, *args, **kw)

        ws.git.run = counted  # type: ignore[method-assign]

    def take(self) -> Counter[str]:
        seen, self.seen = self.seen, Counter()
        return seen


def test_a_task_costs_a_handful_of_git_processes(repo: Path) -> None:
    ws = open_ws(repo)
    calls = GitCalls(ws)
    p1, p2 = ws.prepare("1"), ws.prepare("2")
    assert calls.take() == {"worktree": 2, "reset": 2}  # register, then check out outside the lock
    write(p1 / "one.txt", "1\n")
    write(p2 / "two.txt", "2\n")
    c1, c2 = ws.commit_task("1", "one"), ws.commit_task("2", "two")
    assert c1 and c2 and calls.take() == {"status": 2, "add": 2, "commit": 2}
    assert "+1" in ws.diff("1") and calls.take() == {"status": 1, "diff": 1}
    r1 = ws.merge_task("1", "one", commit_status=False, count_left=False)
    assert r1.ok and r1.kind == "fast-forward" and calls.take() == {"merge": 1}  # the main tree follows
    r2 = ws.merge_task("2", "two", commit_status=False, count_left=False)
    assert r2.ok and r2.kind == "merged" and calls.take() == {"merge-tree": 1, "commit-tree": 1, "merge": 1}
    assert ws.cleanup("1") and ws.cleanup("2") and calls.take() == {"status": 2, "worktree": 2}  # spares
    assert not p1.exists() and not p2.exists()
    assert (repo / "one.txt").read_text() == "1\n" and (repo / "two.txt").read_text() == "2\n"
    assert porcelain(repo) == "" and run(repo, "log", "-1", "--format=%s").endswith("Merge task 2: two")
    p3 = ws.prepare("3")  # a spare, switched to the new branch: no checkout of the whole tree
    assert calls.take() == {"worktree": 1, "clean": 1, "checkout": 1}
    assert (p3 / "one.txt").read_text() == "1\n" and (p3 / "two.txt").read_text() == "2\n"


def test_the_view_of_a_fresh_commit_equals_the_full_view(repo: Path) -> None:
    ws = open_ws(repo)
    p = ws.prepare("1")
    write(p / "a.txt", "one\nTWO\nthree\n")
    write(p / "new" / "b.txt", "bee\n")
    write(p / ".env", "TOKEN=secret\n")
    assert ws.commit_task("1", "one") is not None
    quick = ws.diff("1")
    full = open_ws(repo).diff("1")  # another workspace (as on resume) knows nothing: it asks git
    assert quick == full
    assert "+TWO" in quick and "+bee" in quick and "secret" not in quick and ".env" in quick
    write(p / "late.txt", "written after the commit\n")  # no longer just the commit: the full view
    assert "+written after the commit" in ws.diff("1")


def test_a_resumed_task_merges_through_git_as_before(repo: Path) -> None:
    ws = open_ws(repo)
    p = ws.prepare("1")
    write(p / "one.txt", "1\n")
    sha = ws.commit_task("1", "one")
    again = open_ws(repo)  # a resumed run: the worktree is found again, nothing else is known
    assert again.prepare("1") == p
    r = again.merge_task("1", "one")
    assert r.ok and r.commit == sha and again.merge_task("1", "one").kind == "up-to-date"


def test_status_commits_start_no_git_when_no_engine_file_is_tracked(repo: Path) -> None:
    ws = open_ws(repo)
    write(repo / ".taskmaster" / "tasks" / "tasks.json", '{"master": {"tasks": []}}\n')  # untracked
    calls = GitCalls(ws)
    assert ws.commit_status() is None and calls.take() == {"ls-files": 1}
    assert ws.commit_status() is None and calls.take() == {}


def test_a_worktree_whose_checkout_never_finished_is_checked_out_again(repo: Path) -> None:
    """`kill -9` while `git worktree add` runs: git finishes without us and leaves the worktree locked,
    its files not checked out. The next prepare checks them out and unlocks it."""
    ws = open_ws(repo)
    path = ws.run_dir / "6"
    run(
        repo,
        "worktree",
        "add",
        "-q",
        "--no-checkout",
        "--lock",
        "-b",
        "orchestrator/run1/6",
        str(path),
        "main",
    )
    assert not (path / "a.txt").exists()
    assert open_ws(repo).prepare("6") == path
    assert (path / "a.txt").read_text() == "one\ntwo\nthree\n" and porcelain(path) == ""
    assert "locked" not in run(repo, "worktree", "list", "--porcelain")
    write(path / "x.txt", "x\n")
    assert ws.commit_task("6", "x") is not None


def worktree_paths(repo: Path) -> list[str]:
    out = run(repo, "worktree", "list", "--porcelain").splitlines()
    return sorted(
        line.split(" ", 1)[1] for line in out if line.startswith("worktree ") and "/.taskmaster/" in line
    )


def test_a_spare_worktree_starts_the_next_task_as_a_fresh_checkout_would(repo: Path) -> None:
    write(repo / ".gitignore", "build/\n")
    run(repo, "add", ".gitignore")
    run(repo, "commit", "-q", "-m", "ignore build")
    ws = open_ws(repo)
    p1 = ws.prepare("1")
    write(p1 / "one.txt", "1\n")
    write(p1 / "build" / "out.bin", "left by a build\n")  # ignored: not work, but not the next task's
    assert ws.commit_task("1", "one") and ws.merge_task("1", "one").ok and ws.cleanup("1")
    assert not p1.exists() and len(worktree_paths(repo)) == 1  # kept, as a spare
    p2 = ws.prepare("2")
    assert p2 == ws.run_dir / "2" and worktree_paths(repo) == [str(p2)]
    assert run(p2, "symbolic-ref", "HEAD") == "refs/heads/orchestrator/run1/2"
    assert run(p2, "rev-parse", "HEAD") == run(repo, "rev-parse", "main")
    assert porcelain(p2) == "" and not (p2 / "build").exists() and (p2 / "one.txt").read_text() == "1\n"
    write(p2 / "two.txt", "2\n")
    assert ws.commit_task("2", "two") and ws.merge_task("2", "two").ok
    assert run(repo, "show", "--stat", "--format=", "HEAD").split()[0] == "two.txt"  # its own change only
    assert run(repo, "branch", "--list", "orchestrator/run1/1").strip()  # the old branch is kept


def test_a_worktree_with_uncommitted_work_is_not_made_a_spare(repo: Path) -> None:
    ws = open_ws(repo)
    p1 = ws.prepare("1")
    write(p1 / "stray.txt", "not committed\n")
    assert ws.cleanup("1") is False and (p1 / "stray.txt").exists() and ws.spares == []


def test_a_spare_moved_but_not_switched_is_replaced_by_a_new_worktree(repo: Path) -> None:
    """Killed between moving a spare to the task's path and switching its branch: the next run finds a
    worktree on another task's branch there, removes it and makes the task a new one."""
    ws = open_ws(repo)
    p1 = ws.prepare("1")
    write(p1 / "one.txt", "1\n")
    assert ws.commit_task("1", "one") and ws.merge_task("1", "one").ok and ws.cleanup("1")
    (spare,) = ws.spares
    run(repo, "worktree", "move", str(spare), str(ws.run_dir / "2"))
    again = open_ws(repo)
    p2 = again.prepare("2")
    assert run(p2, "symbolic-ref", "HEAD") == "refs/heads/orchestrator/run1/2"
    assert porcelain(p2) == "" and worktree_paths(repo) == [str(p2)]


def test_finish_removes_the_spares_and_those_a_killed_run_left(repo: Path) -> None:
    dead = open_ws(repo)  # a run killed with a spare in its folder
    p1 = dead.prepare("1")
    assert dead.commit_task("1", "nothing", allow_empty=True) and dead.merge_task("1", "x").ok
    assert dead.cleanup("1") and len(dead.spares) == 1
    ws = open_ws(repo)
    p2 = ws.prepare("2")
    write(p2 / "two.txt", "2\n")
    assert ws.commit_task("2", "two") and ws.merge_task("2", "two").ok and ws.cleanup("2")
    assert len(worktree_paths(repo)) == 2
    ws.finish()
    assert worktree_paths(repo) == [] and not p1.exists() and not ws.run_dir.exists()


def test_a_task_run_again_gets_back_the_spare_that_holds_its_branch(repo: Path) -> None:
    ws = open_ws(repo)
    p1 = ws.prepare("1")
    write(p1 / "one.txt", "1\n")
    assert ws.commit_task("1", "one") and ws.merge_task("1", "one").ok and ws.cleanup("1")
    assert ws.prepare("1") == p1 and ws.spares == []  # set back to pending: its own worktree again
    assert run(p1, "symbolic-ref", "HEAD") == "refs/heads/orchestrator/run1/1" and porcelain(p1) == ""
    assert (p1 / "one.txt").read_text() == "1\n" and worktree_paths(repo) == [str(p1)]


def test_a_worktree_handed_back_before_its_merge_still_merges_on_the_fast_path(repo: Path) -> None:
    """The run's pipeline makes a committed task's worktree a spare before its merge (the merge needs only
    the branch): the merge still knows the commit's parent (no ancestry questions), the next task takes the
    spare."""
    ws = open_ws(repo)
    p1, p2 = ws.prepare("1"), ws.prepare("2")
    write(p1 / "one.txt", "1\n")
    write(p2 / "two.txt", "2\n")
    assert ws.commit_task("1", "one") and ws.commit_task("2", "two")
    assert ws.cleanup("1") and ws.cleanup("2") and not p1.exists() and len(ws.spares) == 2
    calls = GitCalls(ws)
    assert ws.merge_task("1", "one", commit_status=False, count_left=False).kind == "fast-forward"
    assert calls.take() == {"merge": 1}
    assert ws.merge_task("2", "two", commit_status=False, count_left=False).kind == "merged"
    assert calls.take() == {"merge-tree": 1, "commit-tree": 1, "merge": 1} and ws.spared == {}
    p3 = ws.prepare("3")
    assert calls.take() == {"worktree": 1, "clean": 1, "checkout": 1}  # a spare
    assert (p3 / "one.txt").read_text() == "1\n" and (p3 / "two.txt").read_text() == "2\n"


def test_a_conflict_after_the_hand_back_takes_the_worktree_back_for_the_retry(repo: Path) -> None:
    ws = open_ws(repo)
    p1, p2 = ws.prepare("1"), ws.prepare("2")
    write(p1 / "same.txt", "one\n")
    write(p2 / "same.txt", "two\n")
    assert ws.commit_task("1", "one") and ws.commit_task("2", "two")
    assert ws.cleanup("1") and ws.cleanup("2")
    assert ws.merge_task("1", "one", commit_status=False).ok
    r2 = ws.merge_task("2", "two", commit_status=False)
    assert not r2.ok and r2.kind == "conflict" and r2.conflict_files == ["same.txt"]
    patch = ws.reset_to_base("2")  # the retry: its own spare (its branch still out) comes back
    assert "+two" in patch and ws.worktree("2") == p2 and porcelain(p2) == ""
    assert (p2 / "same.txt").read_text() == "one\n"  # on the new tip
    write(p2 / "same.txt", "one\ntwo\n")
    assert ws.commit_task("2", "two again") and ws.merge_task("2", "two", commit_status=False).ok
    assert (repo / "same.txt").read_text() == "one\ntwo\n"


def wait_for(cond: Any, seconds: float = 60.0) -> None:
    import time

    end = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < end, "not reached in time"
        time.sleep(0.02)


def test_worktrees_made_ahead_start_at_the_tip_and_unused_ones_go_at_the_end(repo: Path) -> None:
    ws = open_ws(repo)
    ws.prepare_ahead(["1", "2"])
    wait_for(lambda: all((ws.run_dir / t / "a.txt").is_file() for t in ("1", "2")))
    wait_for(lambda: ws.ahead is not None and not ws.ahead._wanted)
    write(repo / "later.txt", "merged meanwhile\n")
    run(repo, "add", "later.txt")
    run(repo, "commit", "-q", "-m", "the tip moves on")
    calls = GitCalls(ws)
    p1 = ws.prepare("1")  # made ahead: only brought to the tip
    assert p1 == ws.run_dir / "1" and calls.take() == {"checkout": 1}
    assert (p1 / "later.txt").read_text() == "merged meanwhile\n" and porcelain(p1) == ""
    assert run(p1, "rev-parse", "HEAD") == run(repo, "rev-parse", "main")
    write(p1 / "one.txt", "1\n")
    assert ws.commit_task("1", "one") and ws.merge_task("1", "one").ok and ws.cleanup("1")
    ws.finish()  # "2" never started: its worktree and branch go
    assert worktree_paths(repo) == [] and not run(repo, "branch", "--list", "orchestrator/run1/2").strip()
    assert run(repo, "branch", "--list", "orchestrator/run1/1").strip()


def test_a_unit_that_starts_first_makes_its_own_worktree(repo: Path) -> None:
    ws = open_ws(repo)
    p = ws.prepare("1")
    ws.prepare_ahead(["1"])  # too late: nothing is made twice, nothing is reset
    write(p / "work.txt", "in progress\n")
    assert ws.prepare("1") == p and (p / "work.txt").exists()
    ws.finish()
    assert (p / "work.txt").exists()
