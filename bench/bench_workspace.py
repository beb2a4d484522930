"""Workspace figures: the git cost per task (worktree, commit, merge) in a throw-away repository.

    .venv/bin/python bench/bench_workspace.py [--files 500] [--tasks 16] [--threads 8]

A repository with --files tracked files (1 KiB each) is made in a temp dir. Then: open(); --tasks
worktrees prepared from --threads threads; each task writes 3 files and is committed; every task is
merged (half fast-forward-able, half needing a merge commit because the target moved); one conflict
(merge-tree path and the temporary-worktree fallback); reset_to_base; cleanup. Prints ms per step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from claude_orchestrator.config import GitConfig
from claude_orchestrator.workspace.git import Workspace


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t) * 1000, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--tasks", type=int, default=16)
    ap.add_argument("--threads", type=int, default=8)
    a = ap.parse_args()
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    with tempfile.TemporaryDirectory() as d:
        empty = Path(d) / "gitconfig"
        empty.write_text("")
        os.environ["GIT_CONFIG_GLOBAL"] = str(empty)
        repo = Path(d) / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        git(repo, "config", "user.name", "Bench")
        git(repo, "config", "user.email", "bench@example.test")
        for i in range(a.files):
            f = repo / f"pkg{i % 20}" / f"m{i}.py"
            f.parent.mkdir(exist_ok=True)
            f.write_text("x" * 1023 + "\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "init")

        ms_open, ws = timed(lambda: Workspace.open(repo, "bench", GitConfig()))
        assert isinstance(ws, Workspace)
        ids = [str(i) for i in range(a.tasks)]
        ms_prep, paths = timed(lambda: list(ThreadPoolExecutor(a.threads).map(ws.prepare, ids)))
        commit_ms, merge_ms, diff_ms = [], [], []
        for tid, p in zip(ids, paths, strict=True):
            for k in range(3):
                (p / f"task{tid}_{k}.py").write_text(f"# task {tid}\n")
            diff_ms.append(timed(lambda tid=tid: ws.diff(tid))[0])
            commit_ms.append(timed(lambda tid=tid: ws.commit_task(tid, f"bench {tid}"))[0])
        for tid in ids:
            ms, r = timed(lambda tid=tid: ws.merge_task(tid, f"bench {tid}"))
            assert r.ok, r.description
            merge_ms.append(ms)
        conflict = {}
        for legacy in (False, True):
            a_id, b_id = f"ca{legacy}", f"cb{legacy}"
            for tid, text in ((a_id, "A\n"), (b_id, "B\n")):
                (ws.prepare(tid) / "pkg0" / "m0.py").write_text(text + str(legacy))
                ws.commit_task(tid, tid)
            assert ws.merge_task(a_id, a_id, legacy=legacy).ok
            conflict[legacy], r = timed(
                lambda b_id=b_id, legacy=legacy: ws.merge_task(b_id, b_id, legacy=legacy)
            )
            assert not r.ok
        ms_reset, _ = timed(lambda: ws.reset_to_base("cbFalse"))
        ms_clean, _ = timed(lambda: [ws.cleanup(t) for t in ids])

    def line(name: str, values: list[float]) -> None:
        print(f"{name:<34} median {statistics.median(values):7.1f} ms   max {max(values):7.1f} ms")

    print(f"repo: {a.files} files; {a.tasks} tasks; {a.threads} threads")
    print(f"{'open()':<34} {ms_open:7.1f} ms")
    print(
        f"{f'prepare() x{a.tasks} (parallel)':<34} {ms_prep:7.1f} ms total, {ms_prep / a.tasks:.1f} ms/task"
    )
    line("diff() per task", diff_ms)
    line("commit_task() per task", commit_ms)
    line("merge_task() per task", merge_ms)
    print(f"{'conflict detect (merge-tree)':<34} {conflict[False]:7.1f} ms")
    print(f"{'conflict detect (temp worktree)':<34} {conflict[True]:7.1f} ms")
    print(f"{'reset_to_base()':<34} {ms_reset:7.1f} ms")
    print(f"{f'cleanup() x{a.tasks}':<34} {ms_clean:7.1f} ms total")


if __name__ == "__main__":
    main()
