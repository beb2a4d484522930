"""Figures of the Ray executor against the fake model: bench_e2e's generated projects and `run` processes, on a
two-node Ray cluster started on this machine for the benchmark (and stopped at the end).

    .venv/bin/python bench/bench_ray.py [--commits 200] [--tasks 50] [--throughput-tasks 32] [--latency 2]
        [--workers 1,2,4,8,16] [--files 100] [--only overhead,parts,throughput] [--repeat 1]

The cluster: `ray start --head` and a second `ray start --address …`, each with its own temp folder, 2 CPUs
and 8 "slot"s; a worker takes one slot and no CPU (`execution.ray.worker_resources`), so 16 workers spread
over both nodes. The nodes have a fake API key in their own environment; the address of the fake model (one
per latency, started as bench_e2e starts it) reaches them through `execution.ray.forward_env`. Printed:

    overhead    --tasks independent tasks on a repository of --commits commits, 1 worker, no model latency,
                no review: the scheduled time per task (summary.json: first dispatch to last merge) with the
                local executor and with Ray, and the difference: what Ray adds to each task (bundle out,
                clone, the remote task, bundle back, fetch). Goal: <= 0.5 s.
    parts       the git side of that difference on the same repository, timed in this process (median of
                10): the base bundle (made once per tip of the branch), bringing it into a node's store
                (once per node and tip), the clone on the node (it borrows the store's objects), the node's
                commit and bundle back, the fetch into the task's worktree.
    throughput  --throughput-tasks independent tasks, --latency s per model request, api backend, review
                on: tasks per minute of the scheduled time for each worker count, local and Ray, and the
                speed-up over 1 worker of the same executor (goal: >= 10x at 16 workers); then the run's
                wall time and the CPU time the whole machine spent during it. With --repeat N, each case
                runs N times and its median run is the one shown (with every run's time): on a shared
                machine the same run takes 13 to 17 s from one minute to the next.

Each row ends with the 1-minute load average when the run started; `uptime` is printed at the start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_e2e import Case, FakeServer, Result, git, make_project, run_case

from claude_orchestrator.testing.ray_nodes import node_env, ray_nodes

SLOTS = 8  # workers per node
NODE_KEY = "sk-bench-fake-key"


def add_commits(root: Path, n: int) -> None:
    """`n` more commits on main, each changing one of 20 files (git fast-import: one process)."""
    parts = []
    for i in range(n):
        body = f"history {i}\n".encode()
        msg = f"history {i}\n".encode()
        parts.append(
            b"commit refs/heads/main\n"
            + f"committer Bench <bench@example.test> {1_700_000_000 + i} +0000\n".encode()
            + f"data {len(msg)}\n".encode()
            + msg
            + (b"from refs/heads/main^0\n" if i == 0 else b"")
            + f"M 100644 inline history/h{i % 20}.txt\ndata {len(body)}\n".encode()
            + body
            + b"\n"
        )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(parts), check=True)
    git(root, "reset", "-q", "--hard", "main")


def configure(commits: int, address: str) -> Callable[[Path], None]:
    """The project set-up of every run: --commits of history, workers on slots, the fake's address sent
    to the nodes (the config is the same for local runs: the same commits)."""

    def setup(root: Path) -> None:
        if commits > 1:
            add_commits(root, commits - 2)  # make_project's commit, these, and the config's below
        path = root / "orchestrator_config.json"
        cfg = json.loads(path.read_text())
        cfg["execution"]["ray"] = {
            "address": address,
            "worker_resources": {"slot": 1, "num_cpus": 0},
            "forward_env": ["ANTHROPIC_BASE_URL"],
        }
        path.write_text(json.dumps(cfg, indent=2))
        git(root, "commit", "-qam", "bench: the Ray cluster")

    return setup


def one(case: Case, fake: FakeServer, executor: str, setup: Callable[[Path], None], files: int) -> Result:
    r = run_case(case, files, False, fake, None, setup=setup, args=["--executor", executor])
    if r.done != case.tasks:
        raise SystemExit(f"{executor}: {r.done}/{case.tasks} tasks done")
    return r


def overhead(a: argparse.Namespace, address: str) -> None:
    setup = configure(a.commits, address)
    case = Case(a.tasks, "independent", 1, "api", 0.0, False)
    with FakeServer(0.0) as fake:
        local = one(case, fake, "local", setup, a.files)
        remote = one(case, fake, "ray", setup, a.files)
    per_local, per_ray = local.sched_s / a.tasks, remote.sched_s / a.tasks
    print(
        f"overhead  {a.tasks} tasks, {a.commits} commits, 1 worker, latency 0: local {per_local:.3f} s/task, "
        f"ray {per_ray:.3f} s/task, ray adds {per_ray - per_local:.3f} s/task (goal <= 0.5)   "
        f"load {local.load:.2f} / {remote.load:.2f}",
        flush=True,
    )


def parts(a: argparse.Namespace, n: int = 10) -> None:
    from claude_orchestrator.config import GitConfig
    from claude_orchestrator.workspace import GitWorkspace, bundles
    from claude_orchestrator.workspace.commits import head_of

    base = Path(tempfile.mkdtemp(prefix="bench-ray-parts-"))
    try:
        root = make_project(base / "p", 1, "independent", a.files, False)
        add_commits(root, a.commits - 1)
        ws = GitWorkspace.open(root, "parts", GitConfig())
        assert isinstance(ws, GitWorkspace)
        times: dict[str, list[float]] = {
            "base bundle": [],
            "store": [],
            "clone": [],
            "commit+bundle back": [],
            "fetch": [],
        }
        for i in range(n):
            scratch = base / f"s{i}"
            scratch.mkdir()
            t = time.perf_counter()
            b, _ = bundles.BaseBundles(ws, scratch).current()
            times["base bundle"].append(time.perf_counter() - t)
            cwd = ws.prepare(f"t{i}")
            head = head_of(ws, cwd)
            g, repo, store = bundles.NodeGit(), scratch / "repo", scratch / "store.git"
            t = time.perf_counter()
            bundles.store_base(g, store, b.path)  # once per node and base
            times["store"].append(time.perf_counter() - t)
            t = time.perf_counter()
            bundles.clone(g, store, None, ws.branch(f"t{i}"), head, repo)
            times["clone"].append(time.perf_counter() - t)
            (repo / f"note{i}.md").write_text(f"task {i}\n")
            t = time.perf_counter()
            bundles.commit_work(g, repo, [], [".taskmaster/"])
            new_head, data = bundles.bundle_back(g, repo, head, scratch / "back.bundle")
            times["commit+bundle back"].append(time.perf_counter() - t)
            t = time.perf_counter()
            bundles.receive(ws, f"t{i}", data, new_head, scratch)
            times["fetch"].append(time.perf_counter() - t)
        total = sum(statistics.median(v) for v in times.values())
        shown = ", ".join(f"{k} {statistics.median(v) * 1000:.0f} ms" for k, v in times.items())
        print(f"parts     {a.commits} commits: {shown}; together {total * 1000:.0f} ms", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def throughput(a: argparse.Namespace, address: str) -> None:
    setup = configure(1, address)
    rows: dict[str, dict[int, Result]] = {"local": {}, "ray": {}}
    with FakeServer(a.latency) as fake:
        for w in a.workers:
            for executor in ("local", "ray"):
                case = Case(a.throughput_tasks, "independent", w, "api", a.latency, True)
                runs: list[tuple[Result, float]] = []
                for _ in range(a.repeat):
                    cpu0 = machine_cpu_s()
                    r = one(case, fake, executor, setup, a.files)
                    runs.append((r, machine_cpu_s() - cpu0))
                r, cpu = sorted(runs, key=lambda x: x[0].sched_s)[len(runs) // 2]  # the median run
                rows[executor][w] = r
                first = rows[executor].get(min(a.workers))
                speedup = first.sched_s / r.sched_s if first else float("nan")
                each = (
                    f" (median of {', '.join(f'{x.sched_s:.2f}' for x, _ in runs)})" if a.repeat > 1 else ""
                )
                print(
                    f"throughput {executor:<5} {w:>2} workers: {r.sched_s:7.2f} s{each}, "
                    f"{60 * r.done / r.sched_s:6.1f} tasks/min, x{speedup:.2f} over {min(a.workers)} worker(s)"
                    f"   wall {r.wall_s:.2f} s, machine CPU {cpu:.1f} s   load {r.load:.2f}",
                    flush=True,
                )


def machine_cpu_s() -> float:
    """CPU seconds this machine has been busy since boot, every process together (/proc/stat): the nodes,
    the driver and the fake share its CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--commits", type=int, default=200)
    ap.add_argument("--tasks", type=int, default=50, help="tasks of the overhead figure")
    ap.add_argument("--throughput-tasks", type=int, default=32)
    ap.add_argument("--latency", type=float, default=2.0, help="seconds per model request (throughput)")
    ap.add_argument("--workers", default="1,2,4,8,16", help="worker counts of the throughput figure")
    ap.add_argument("--files", type=int, default=100, help="tracked files of the generated repositories")
    ap.add_argument("--only", default="overhead,parts,throughput")
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs of each throughput case (the median is shown)"
    )
    a = ap.parse_args(argv)
    a.workers = sorted(int(x) for x in a.workers.split(","))
    only = set(a.only.split(","))
    os.environ.update(node_env(), GIT_CONFIG_NOSYSTEM="1")  # the runs connect without token auth
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", flush=True)
    if "parts" in only:
        parts(a)
    if only & {"overhead", "throughput"}:
        node = [f"--num-cpus={os.cpu_count() or 1}", f"--resources={json.dumps({'slot': SLOTS})}"]
        with ray_nodes({"ANTHROPIC_API_KEY": NODE_KEY}, node, [node]) as address:
            wait_nodes(address, 2)
            if "overhead" in only:
                overhead(a, address)
            if "throughput" in only:
                throughput(a, address)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", flush=True)
    return 0


def wait_nodes(address: str, n: int, timeout: float = 180.0) -> None:
    """Until `n` nodes are alive (asked from a short-lived Ray driver)."""
    code = (
        "import ray, sys, time\n"
        f"ray.init(address={address!r}, log_to_driver=False)\n"
        f"deadline = time.monotonic() + {timeout}\n"
        f"while sum(x['Alive'] for x in ray.nodes()) < {n}:\n"
        "    if time.monotonic() > deadline: sys.exit('the nodes did not join')\n"
        "    time.sleep(0.2)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
