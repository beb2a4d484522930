"""Git bundles: how a task's repository travels to a node that shares no filesystem with us, and how its
work comes back.

On the driver: :class:`BaseBundles` makes one bundle of the target branch per tip (every task dispatched on
that tip shares it): the run's first one whole, the later ones with only what the branch gained since that
first one; :func:`task_part` bundles what the task's branch has beyond that base (the work of an
earlier attempt); :func:`receive` fetches a node's bundle into the task's worktree, which then looks as if
the worker had run there (the node's own commit of uncommitted work is unwrapped into uncommitted changes).

On a node: :func:`store_base` brings a base bundle's objects into the node's store (a bare repository), once
per node and base; :func:`clone` makes an attempt's private repository that borrows the store's objects
(git alternates: nothing is unpacked again) and checks out the task branch;
:func:`commit_work` commits what the worker left uncommitted (never sensitive or engine files);
:func:`bundle_back` bundles the new commits. Node commands run through process/runner.py (cancellable, their
process group killed on the way out).
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import WorkspaceError
from ..process import run_process_group
from . import hardening
from .commits import head_of
from .gitops import git
from .paths import is_sensitive, under
from .worktrees import tree_of

if TYPE_CHECKING:
    from .git import GitWorkspace

NODE_SUBJECT = "claude-orchestrator node: uncommitted work"
_NODE_IDENTITY = {
    "GIT_AUTHOR_NAME": "claude-orchestrator",
    "GIT_AUTHOR_EMAIL": "claude-orchestrator@localhost",
    "GIT_COMMITTER_NAME": "claude-orchestrator",
    "GIT_COMMITTER_EMAIL": "claude-orchestrator@localhost",
}


# --- the driver ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    """A bundle of the target branch at one commit: whole, or with only what it has beyond `since` (the
    run's first base, which a node stores first)."""

    sha: str
    path: Path
    since: str | None = None


class BaseBundles:
    """One bundle of the target branch per tip, made when a task is first dispatched on that tip: the first
    one whole (`first`), the later ones beyond it."""

    def __init__(self, ws: GitWorkspace, scratch: Path) -> None:
        self.ws, self.scratch = ws, scratch
        self.first: Base | None = None
        self._current: Base | None = None
        self._lock = threading.Lock()

    def current(self) -> tuple[Base, bool]:
        """The bundle of the branch's tip, and whether it was made just now."""
        with self._lock:
            tip = self.ws.tip()  # read from git's files
            if self._current is not None and self._current.sha == tip:
                return self._current, False
            since = self.first.sha if self.first is not None else None
            fd, name = tempfile.mkstemp(suffix=".bundle", dir=self.scratch)
            os.close(fd)
            create = ("bundle", "create", "-q", name, f"refs/heads/{self.ws.target_branch}")
            try:
                self.ws.git.run(self.ws.root, *create, *([f"^{since}"] if since else []))
            except WorkspaceError as e:
                if since is None or not _empty(e):
                    raise
                since = None  # the branch went back to (or behind) the first base: a whole bundle
                self.ws.git.run(self.ws.root, *create)
            heads = self.ws.git.out(self.ws.root, "bundle", "list-heads", name).split()  # a merge may move it
            self._current = Base(heads[0] if heads else tip, Path(name), since)
            if self.first is None:
                self.first = self._current
            return self._current, True


def task_part(ws: GitWorkspace, cwd: Path, head: str, base_sha: str, scratch: Path) -> bytes | None:
    """A bundle of the task's branch (at `head`) beyond `base_sha` (earlier attempts' commits), or None
    when it has none."""
    runner = ws.git
    if head == base_sha or int(runner.out(cwd, "rev-list", "--count", f"{base_sha}..{head}") or "0") == 0:
        return None
    fd, name = tempfile.mkstemp(suffix=".bundle", dir=scratch)
    os.close(fd)
    try:
        branch = runner.out(cwd, "symbolic-ref", "-q", "HEAD")
        runner.run(cwd, "bundle", "create", "-q", name, branch, f"^{base_sha}")
        return Path(name).read_bytes()
    finally:
        Path(name).unlink(missing_ok=True)


def receive(
    ws: GitWorkspace, work_id: str, data: bytes | None, head: str, scratch: Path, wrapped: bool | None = None
) -> None:
    """Make the task's worktree hold the node's work: fetch its bundle, move the task branch to the
    node's head; the node's own commit of uncommitted work becomes uncommitted changes again (`wrapped`:
    whether `head` is that commit, when the node said so; else its subject is read). Under the task's
    lock, and the workspace's record of the worktree follows (a commit it knew is no longer the head:
    forgotten)."""
    runner = ws.git
    with ws.task_lock(work_id):
        tree = tree_of(ws, work_id)
        if tree is None:
            raise WorkspaceError(f"task {work_id} has no worktree to receive its work in")
        cwd = tree.path
        if data is not None:
            fd, name = tempfile.mkstemp(suffix=".bundle", dir=scratch)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            try:
                runner.run(cwd, "bundle", "unbundle", name)  # its objects in, no ref written
            finally:
                Path(name).unlink(missing_ok=True)
        if head_of(ws, cwd) != head:
            runner.run(cwd, "reset", "-q", "--hard", head)
            if wrapped is None:
                wrapped = runner.out(cwd, "log", "-1", "--format=%s", head) == NODE_SUBJECT
            if wrapped:
                runner.run(cwd, "reset", "-q", "--mixed", "HEAD~1")  # unstaged, as a local worker leaves it
        if tree.commit is not None and head_of(ws, cwd) != tree.commit:
            tree.commit, tree.left = None, []


# --- a node ----------------------------------------------------------------------------------------------


class NodeGit:
    """Git on a node, in a private folder, through process/runner.py (cancellable), hardened as on the driver
    (hooks off …; after `guard`, filters and signing programs the worker added to the clone's config are
    overridden)."""

    def __init__(self, cancel: threading.Event | None = None, timeout_s: float = 600.0) -> None:
        self.cancel, self.timeout_s = cancel, timeout_s
        self.guard: hardening.ConfigGuard | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        self.env.update(LC_ALL="C", GIT_TERMINAL_PROMPT="0", GIT_EDITOR="true", GIT_MERGE_AUTOEDIT="no")

    def run(
        self,
        cwd: Path,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        raw: bool = False,
    ) -> str:
        guarded = self.guard.args() if self.guard is not None else ()
        r = run_process_group(
            ["git", *hardening.BASE_ARGS, "-c", "commit.gpgSign=false", *guarded, *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            timeout=self.timeout_s,
            cancel=self.cancel,
            input=input.encode() if input is not None else None,
            sweep=False,  # hooks, filters and fsmonitor are off: git leaves nothing outside its group
        )
        if not r.ok:
            why = "cancelled" if r.cancelled else "timed out" if r.timed_out else r.stderr.strip()[:300]
            raise WorkspaceError(f"git {args[0]} failed on the node: {why or f'exit {r.returncode}'}")
        return r.stdout if raw else r.stdout.strip()


def store_base(g: NodeGit, store: Path, bundle: Path) -> None:
    """Bring a base bundle's objects into the node's `store` (a bare repository, made on first use); a
    bundle beyond the first base needs that one stored first."""
    if not (store / "objects").is_dir():
        g.run(store.parent, "init", "-q", "--bare", "--template=", store.name)
    g.run(store, "bundle", "unbundle", str(bundle))  # its objects in, no ref written


def clone(g: NodeGit, store: Path, part: Path | None, branch: str, head: str, dest: Path) -> None:
    """A private repository in `dest` that borrows the objects of the node's `store` (where the base is),
    with the task's part in its own, and the task branch out at `head`."""
    g.run(dest.parent, "init", "-q", "--template=", dest.name)
    info = dest / ".git" / "objects" / "info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "alternates").write_text(f"{(store / 'objects').resolve()}\n", encoding="utf-8")
    if part is not None:
        g.run(dest, "bundle", "unbundle", str(part))  # its objects in, no ref written
    g.run(dest, "checkout", "-q", "-B", branch, head)
    plain = NodeGit(g.cancel, g.timeout_s)  # the guard reads the config without its own overrides
    guard = hardening.ConfigGuard(
        dest, dest / ".git", lambda: plain.run(dest, "config", "-z", "--show-origin", "--list", raw=True)
    )
    guard.start()  # the config as cloned: what the worker adds to it is overridden from now on
    g.guard = guard


def commit_work(
    g: NodeGit, repo: Path, sensitive: list[str], ignore: list[str], made: list[bool] | None = None
) -> list[str]:
    """Commit what the worker left uncommitted, sensitive and engine files left out (returned); `made`
    gets whether a commit was made."""
    listed = g.run(repo, "status", "--porcelain", "-z", "--untracked-files=all", "--no-renames", raw=True)
    paths = sorted({e[3:] for e in listed.split("\0") if len(e) > 3})
    skip = sorted(p for p in paths if is_sensitive(p, sensitive) or under(p, ignore))
    keep = [p for p in paths if p not in skip]
    if keep:
        lit = {"GIT_LITERAL_PATHSPECS": "1"}
        g.run(
            repo, "add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul", input="\0".join(keep), env=lit
        )
        g.run(repo, "commit", "-q", "--no-verify", "-m", NODE_SUBJECT, env=_NODE_IDENTITY)
    if made is not None:
        made.append(bool(keep))
    return skip


def bundle_back(g: NodeGit, repo: Path, start: str, dest: Path) -> tuple[str, bytes | None]:
    """(the branch's head, a bundle of its commits beyond `start` or None when there are none)."""
    head, branch = g.run(repo, "rev-parse", "HEAD", "--symbolic-full-name", "HEAD").split("\n")
    if head == start:
        return head, None
    if not branch.startswith("refs/heads/"):
        raise WorkspaceError("the worker left no branch checked out on the node (a detached HEAD)")
    try:
        g.run(repo, "bundle", "create", "-q", str(dest), branch, f"^{start}")
    except WorkspaceError as e:
        if not _empty(e):
            raise
        return head, None  # the branch went back to a commit the driver has: nothing new to send
    return head, dest.read_bytes()


def _empty(e: WorkspaceError) -> bool:
    """Git refused to bundle nothing: the commits asked for are all in what was excluded."""
    return "empty bundle" in str(e)


def check_git_repository(root: Path) -> None:
    """Raise WorkspaceError unless `root` is inside a git work tree with a commit."""
    proc = git(root, "rev-parse", "--verify", "-q", "HEAD", check=False)
    if proc.returncode != 0:
        raise WorkspaceError(f"{root} is not a git repository with a commit")
