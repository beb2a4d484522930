"""Workspace figures: the git cost per task (worktree, commit, merge) in a throw-away repository.

    .venv/bin/python bench/bench_workspace.py [--files 500] [--tasks 16] [--threads 8] [--repeat 1]

A repository with --files tracked files (1 KiB each) is made in a temp dir. Then: open(); --tasks
worktrees prepared from --threads threads; each task writes 3 files, is diffed and committed; every task
is merged (half fast-forward-able, half needing a merge commit because the target moved); one conflict
(merge-tree path and the temporary-worktree fallback); reset_to_base; cleanup. Prints ms per step.

Per-task git cost = (prepare wall time + every diff, commit and merge + cleanup wall time) / tasks: the
git time one task adds to a run. Processes per task counts every process started in those steps, CPU per
task the CPU time they and this process used (steadier than wall time on a busy machine). With
--repeat N the scenario runs N times (a new repository each time): the step figures are those of the run
with the median per-task cost, and the per-task cost is given as median, min and max.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from claude_orchestrator.config import GitConfig
from claude_orchestrator.workspace.git import GitWorkspace

_started = [0]
_count_lock = threading.Lock()
_popen_init = subprocess.Popen.__init__


def _counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
    with _count_lock:
        _started[0] += 1
    _popen_init(self, *args, **kwargs)


subprocess.Popen.__init__ = _counting_init  # type: ignore[method-assign]  # count every process started


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def cpu_s() -> float:
    """CPU seconds used so far by this process and the children it waited for (git)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t) * 1000, result


def make_repo(base: Path, files: int) -> Path:
    repo = base / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Bench")
    git(repo, "config", "user.email", "bench@example.test")
    for i in range(files):
        f = repo / f"pkg{i % 20}" / f"m{i}.py"
        f.parent.mkdir(exist_ok=True)
        f.write_text("x" * 1023 + "\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def scenario(a: argparse.Namespace, base: Path) -> dict[str, Any]:
    repo = make_repo(base, a.files)
    f: dict[str, Any] = {}
    f["open"], ws = timed(lambda: GitWorkspace.open(repo, "bench", GitConfig()))
    assert isinstance(ws, GitWorkspace)
    ids = [str(i) for i in range(a.tasks)]
    procs0, cpu0 = _started[0], cpu_s()
    with ThreadPoolExecutor(a.threads) as pool:
        f["prepare"], paths = timed(lambda: list(pool.map(ws.prepare, ids)))
    f["commit"], f["merge"], f["diff"] = [], [], []
    for tid, p in zip(ids, paths, strict=True):
        for k in range(3):
            (p / f"task{tid}_{k}.py").write_text(f"# task {tid}\n")
        f["diff"].append(timed(lambda tid=tid: ws.diff(tid))[0])
        f["commit"].append(timed(lambda tid=tid: ws.commit_task(tid, f"bench {tid}"))[0])
    for tid in ids:
        ms, r = timed(lambda tid=tid: ws.merge_task(tid, f"bench {tid}"))
        assert r.ok, r.description
        f["merge"].append(ms)
    procs, cpu = _started[0] - procs0, cpu_s() - cpu0
    f["conflict"] = {}
    for legacy in (False, True):
        a_id, b_id = f"ca{legacy}", f"cb{legacy}"
        for tid, text in ((a_id, "A\n"), (b_id, "B\n")):
            (ws.prepare(tid) / "pkg0" / "m0.py").write_text(text + str(legacy))
            ws.commit_task(tid, tid)
        assert ws.merge_task(a_id, a_id, legacy=legacy).ok
        f["conflict"][legacy], r = timed(
            lambda b_id=b_id, legacy=legacy: ws.merge_task(b_id, b_id, legacy=legacy)
        )
        assert not r.ok
    f["reset"], _ = timed(lambda: ws.reset_to_base("cbFalse"))
    procs0, cpu0 = _started[0], cpu_s()
    f["cleanup"], _ = timed(lambda: [ws.cleanup(t) for t in ids])
    f["procs"] = (procs + _started[0] - procs0) / a.tasks
    f["cpu"] = (cpu + cpu_s() - cpu0) * 1000 / a.tasks
    steps = f["prepare"] + sum(f["diff"]) + sum(f["commit"]) + sum(f["merge"]) + f["cleanup"]
    f["per_task"] = steps / a.tasks
    return f


def report(a: argparse.Namespace, f: dict[str, Any], costs: list[float]) -> None:
    def line(name: str, values: list[float]) -> None:
        print(f"{name:<34} median {statistics.median(values):7.1f} ms   max {max(values):7.1f} ms")

    print(f"repo: {a.files} files; {a.tasks} tasks; {a.threads} threads")
    print(f"{'open()':<34} {f['open']:7.1f} ms")
    ms_prep = f["prepare"]
    print(
        f"{f'prepare() x{a.tasks} (parallel)':<34} {ms_prep:7.1f} ms total, {ms_prep / a.tasks:.1f} ms/task"
    )
    line("diff() per task", f["diff"])
    line("commit_task() per task", f["commit"])
    line("merge_task() per task", f["merge"])
    print(f"{'conflict detect (merge-tree)':<34} {f['conflict'][False]:7.1f} ms")
    print(f"{'conflict detect (temp worktree)':<34} {f['conflict'][True]:7.1f} ms")
    print(f"{'reset_to_base()':<34} {f['reset']:7.1f} ms")
    print(f"{f'cleanup() x{a.tasks}':<34} {f['cleanup']:7.1f} ms total")
    print(f"{'processes started per task':<34} {f['procs']:7.1f}")
    print(f"{'CPU per task (us + git)':<34} {f['cpu']:7.1f} ms")
    spread = f"   (min {min(costs):.1f}, max {max(costs):.1f}, {len(costs)} runs)" if len(costs) > 1 else ""
    print(f"{'per-task git cost':<34} {statistics.median(costs):7.1f} ms{spread}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--tasks", type=int, default=16)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    runs = []
    for _ in range(max(1, a.repeat)):
        with tempfile.TemporaryDirectory() as d:
            empty = Path(d) / "gitconfig"
            empty.write_text("")
            os.environ["GIT_CONFIG_GLOBAL"] = str(empty)
            runs.append(scenario(a, Path(d)))
    runs.sort(key=lambda f: f["per_task"])
    report(a, runs[(len(runs) - 1) // 2], [f["per_task"] for f in runs])


if __name__ == "__main__":
    main()
