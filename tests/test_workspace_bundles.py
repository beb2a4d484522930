"""Git bundles both ways (workspace/bundles.py), without Ray: a task's repository made on a "node" from the
driver's bundles, the node's work brought back into the task's worktree, where integration finds it as if
the worker had run there."""

from __future__ import annotations

from pathlib import Path

import pytest
from gitrepo import changed_in, files_in, isolate_git, make_repo, run, write

from claude_orchestrator.config import GitConfig
from claude_orchestrator.errors import WorkspaceError
from claude_orchestrator.workspace import bundles
from claude_orchestrator.workspace.commits import head_of
from claude_orchestrator.workspace.git import GitWorkspace


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitWorkspace:
    isolate_git(monkeypatch, tmp_path)
    repo = make_repo(tmp_path / "repo")
    opened = GitWorkspace.open(repo, "r1", GitConfig())
    assert isinstance(opened, GitWorkspace)
    return opened


def _ship(
    ws: GitWorkspace, tmp: Path, task: str, g: bundles.NodeGit | None = None
) -> tuple[Path, Path, str, str]:
    """What the executor and the node do before the worker runs: (driver worktree, node clone, base, head).
    `g`: the node's git (it keeps the clone's config guard)."""
    scratch = tmp / "scratch"
    scratch.mkdir(exist_ok=True)
    cwd = ws.prepare(task)
    base, _ = bundles.BaseBundles(ws, scratch).current()
    head = head_of(ws, cwd)
    part = bundles.task_part(ws, cwd, head, base.sha, scratch)
    part_file = None
    if part is not None:
        part_file = scratch / "part.bundle"
        part_file.write_bytes(part)
    node = tmp / f"node-{task}-{head[:6]}"
    node.mkdir()
    g = g or bundles.NodeGit()
    bundles.store_base(g, tmp / "store.git", base.path)
    bundles.clone(g, tmp / "store.git", part_file, str(ws.branch(task)), head, node / "repo")
    return cwd, node / "repo", base.sha, head


def _bring_back(ws: GitWorkspace, task: str, clone: Path, head: str) -> list[str]:
    g = bundles.NodeGit()
    skipped = bundles.commit_work(g, clone, GitConfig().sensitive_patterns, list(ws.ignore_paths))
    new_head, data = bundles.bundle_back(g, clone, head, clone.parent / "back.bundle")
    bundles.receive(ws, task, data, new_head, clone.parent)
    return skipped


def test_the_nodes_work_lands_in_the_worktree_as_uncommitted_changes(ws: GitWorkspace, tmp_path: Path):
    cwd, clone, _, head = _ship(ws, tmp_path, "1")
    assert run(clone, "rev-parse", "--abbrev-ref", "HEAD") == ws.branch("1")
    write(clone / "new.txt", "new\n")
    write(clone / "a.txt", "changed\n")
    (clone / "b.txt").unlink()
    write(clone / ".env", "SECRET=1\n")  # sensitive: stays on the node
    skipped = _bring_back(ws, "1", clone, head)
    assert skipped == [".env"]
    assert head_of(ws, cwd) == head  # the node's own commit is unwrapped
    assert (cwd / "new.txt").read_text() == "new\n" and not (cwd / "b.txt").exists()
    assert not (cwd / ".env").exists()
    commit = ws.commit_task("1", "Do it")  # integration's commit, exactly as for a local worker
    assert commit is not None
    assert files_in(cwd, commit) == ["a.txt", "new.txt"]
    assert "node" not in run(cwd, "log", "-1", "--format=%B")


def test_the_workers_own_commits_come_back_and_a_retry_starts_from_them(ws: GitWorkspace, tmp_path: Path):
    cwd, clone, _, head = _ship(ws, tmp_path, "1")
    write(clone / "one.txt", "1\n")
    run(clone, "add", "-A")
    run(clone, "-c", "user.name=W", "-c", "user.email=w@x", "commit", "-q", "-m", "worker's own commit")
    _bring_back(ws, "1", clone, head)
    assert run(cwd, "log", "-1", "--format=%s") == "worker's own commit"
    ws.commit_task("1", "First attempt")
    run(ws.root, "commit", "-q", "--allow-empty", "-m", "the target moves on")  # another task merged
    cwd, clone2, base, head2 = _ship(ws, tmp_path, "1")  # the review sends it back
    assert head2 != base and (clone2 / "one.txt").read_text() == "1\n"  # the part bundle carried it


def test_no_new_work_leaves_the_worktree_as_it_was(ws: GitWorkspace, tmp_path: Path):
    cwd, clone, _, head = _ship(ws, tmp_path, "1")
    _bring_back(ws, "1", clone, head)
    assert head_of(ws, cwd) == head and ws.changed_files("1") == []


def test_a_filter_the_worker_plants_in_the_clone_never_runs(ws: GitWorkspace, tmp_path: Path):
    g = bundles.NodeGit()
    _, clone, _, _ = _ship(ws, tmp_path, "1", g)
    marker = tmp_path / "planted-ran"
    run(clone, "config", "filter.evil.clean", f"touch {marker}; cat")
    write(clone / ".gitattributes", "*.txt filter=evil\n")
    write(clone / "x.txt", "x\n")
    bundles.commit_work(g, clone, [], [])
    assert run(clone, "show", "HEAD:x.txt") == "x"  # committed, through no filter
    assert not marker.exists()


def test_work_fetched_over_the_tasks_own_commit_is_reviewed_committed_and_merged_whole(
    ws: GitWorkspace, tmp_path: Path
):
    """The workspace knows the task's commit (its diff, its merge parent): a second attempt fetched over
    it, without a reset, is seen as the worktree holds it, not as that commit."""
    cwd, clone, _, head = _ship(ws, tmp_path, "1")
    write(clone / "one.txt", "1\n")
    _bring_back(ws, "1", clone, head)
    first = ws.commit_task("1", "First attempt")
    assert first is not None and "one.txt" in ws.diff("1")
    cwd, clone2, _, head2 = _ship(ws, tmp_path, "1")  # sent back; the worktree keeps its commit
    assert head2 == first
    write(clone2 / "two.txt", "2\n")
    run(clone2, "add", "-A")
    run(clone2, "-c", "user.name=W", "-c", "user.email=w@x", "commit", "-q", "-m", "worker's own commit")
    _bring_back(ws, "1", clone2, head2)
    assert head_of(ws, cwd) != first
    view = ws.diff("1")
    assert "one.txt" in view and "two.txt" in view
    second = ws.commit_task("1", "Second attempt")
    assert second is not None and changed_in(cwd, second) == ["one.txt", "two.txt"]
    merged = ws.merge_task("1", "Second attempt")
    assert merged.ok, merged.description
    assert (ws.root / "one.txt").read_text() == "1\n" and (ws.root / "two.txt").read_text() == "2\n"


def test_a_detached_head_on_the_node_is_a_clear_error(ws: GitWorkspace, tmp_path: Path):
    _, clone, _, head = _ship(ws, tmp_path, "1")
    run(clone, "checkout", "-q", "--detach")
    write(clone / "x.txt", "x\n")
    run(clone, "add", "x.txt")
    run(clone, "-c", "user.name=W", "-c", "user.email=w@x", "commit", "-qm", "on no branch")
    with pytest.raises(WorkspaceError, match="detached HEAD"):
        bundles.bundle_back(bundles.NodeGit(), clone, head, clone.parent / "back.bundle")


def test_the_nodes_word_on_its_wrapping_commit_spares_reading_it(ws: GitWorkspace, tmp_path: Path):
    cwd, clone, _, head = _ship(ws, tmp_path, "1")
    write(clone / "n.txt", "n\n")
    g, made = bundles.NodeGit(), []
    bundles.commit_work(g, clone, [], [], made)
    new_head, data = bundles.bundle_back(g, clone, head, clone.parent / "back.bundle")
    assert made == [True]
    bundles.receive(ws, "1", data, new_head, clone.parent, wrapped=True)
    assert head_of(ws, cwd) == head and (cwd / "n.txt").read_text() == "n\n"  # unwrapped, as before


def test_a_branch_moved_back_on_the_node_comes_back_without_a_bundle(ws: GitWorkspace, tmp_path: Path):
    """The worker reset its branch to an earlier commit: nothing is new, the driver already has it."""
    write(ws.root / "later.txt", "later\n")
    run(ws.root, "add", "later.txt")
    run(ws.root, "-c", "user.name=U", "-c", "user.email=u@x", "commit", "-qm", "a second commit")
    cwd, clone, _, head = _ship(ws, tmp_path, "1")
    earlier = run(clone, "rev-parse", "HEAD~1")
    run(clone, "reset", "-q", "--hard", "HEAD~1")
    new_head, data = bundles.bundle_back(bundles.NodeGit(), clone, head, clone.parent / "back.bundle")
    assert (new_head, data) == (earlier, None)
    bundles.receive(ws, "1", data, new_head, clone.parent)
    assert head_of(ws, cwd) == earlier


def _in_pack(repo: Path) -> int:
    counts = dict(ln.split(": ") for ln in run(repo, "count-objects", "-v").splitlines())
    return int(counts["in-pack"])


def _commit_on_target(ws: GitWorkspace, name: str) -> str:
    write(ws.root / name, f"{name}\n")
    run(ws.root, "add", name)
    run(ws.root, "commit", "-qm", f"add {name}")
    return run(ws.root, "rev-parse", "HEAD")


def test_later_bases_hold_only_what_the_branch_gained_and_clones_borrow_the_stored_objects(
    ws: GitWorkspace, tmp_path: Path
):
    """The run's first base bundle is whole; later ones need it (git's prerequisite) and carry only the
    new commits. A node stores each once; an attempt's clone unpacks nothing of its own."""
    scratch, store, g = tmp_path / "scratch", tmp_path / "store.git", bundles.NodeGit()
    scratch.mkdir()
    bases = bundles.BaseBundles(ws, scratch)
    first, made = bases.current()
    assert made and first.since is None and bases.first is first
    assert bases.current() == (first, False)  # the same tip: the same bundle
    tip = _commit_on_target(ws, "merged.txt")
    later, made = bases.current()
    assert made and (later.sha, later.since) == (tip, first.sha)
    assert first.sha in run(ws.root, "bundle", "verify", str(later.path))  # it requires the first base
    with pytest.raises(WorkspaceError):  # alone, a node cannot use it
        bundles.store_base(g, tmp_path / "empty.git", later.path)
    bundles.store_base(g, store, first.path)
    stored = _in_pack(store)
    bundles.store_base(g, store, later.path)
    assert _in_pack(store) == stored + 3  # the new commit, its tree and the new file only
    repo = tmp_path / "node" / "repo"
    repo.parent.mkdir()
    bundles.clone(g, store, None, "orchestrator/r1/9", tip, repo)
    assert run(repo, "symbolic-ref", "HEAD") == "refs/heads/orchestrator/r1/9"
    assert (repo / "merged.txt").read_text() == "merged.txt\n" and run(repo, "status", "--porcelain") == ""
    assert list((repo / ".git" / "objects" / "pack").iterdir()) == []  # borrowed, not copied


def test_a_branch_moved_behind_the_first_base_gets_a_whole_bundle(ws: GitWorkspace, tmp_path: Path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    bases = bundles.BaseBundles(ws, scratch)
    start = run(ws.root, "rev-parse", "HEAD")
    _commit_on_target(ws, "later.txt")
    first, _ = bases.current()
    run(ws.root, "reset", "-q", "--hard", start)  # the user moved the branch back
    back, made = bases.current()
    assert made and (back.sha, back.since) == (start, None)
    store, g = tmp_path / "store.git", bundles.NodeGit()
    bundles.store_base(g, store, back.path)  # usable on its own
    assert run(store, "cat-file", "-t", start) == "commit"
