"""End-to-end run figures: the whole `claude-orchestrator run` on generated projects, against the fake model.

    .venv/bin/python bench/bench_e2e.py [--tasks 10,50,200] [--graph independent,chain] [--workers 1,4,8,16]
        [--backend api,claude-code] [--latency 0,2] [--review on,off] [--files 500] [--repeat 1]
        [--track-tasks] [--json FILE] [--keep DIR]

Each combination of the lists runs once per --repeat (the defaults are one quick case: 10 independent
tasks, 1 and 4 workers, api, no latency, review on). For each run a project is generated in a temp dir: a
git repository with --files tracked files (1 KiB each) and a tasks.json (untracked unless --track-tasks) of
--tasks tasks, either independent or in 8 chains ("chain": task i depends on task i-8). The fake Anthropic
API (claude_orchestrator.testing.fake_anthropic --demo) runs as its own process with --latency seconds per
request; each worker writes one file per task (two model requests: the tool call and the final answer);
the review is one request. Printed per run:

    wall        the `run` process from start to exit (Python start-up included)
    sched       the scheduled part (summary.json's duration_s: first dispatch to last merge)
    speedup     wall at 1 worker / wall, for the same tasks, graph, backend, latency and review; then the
                same for sched
    cpu/t       CPU seconds per task of the run's whole process tree (git and Claude Code included), and
                of the fake model's process
    serial/t    seconds per merged task spent in the serial merge stage (summary.json integration figures)
    git/t       git processes per task (GIT_TRACE: every git process, those git starts itself included)
    rss/w       peak resident memory of the run's process tree (sampled) / workers, MiB
    cp-ratio    makespan / (critical path of the measured per-task times: dispatch to done, integration
                included) — 1.0 is a perfect schedule for the graph

and once, on a repository like the generated ones, the floor: the least git needs for one task (worktree
add, commit in the worktree, merge-tree, commit-tree, update-ref), in ms and processes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CHAINS = 8
_FAKE_LINE = re.compile(r"fake Anthropic API on (http://\S+)")


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


# ---- the generated project ------------------------------------------------------------------------------


def task_list(n: int, graph: str) -> list[dict[str, Any]]:
    tasks = []
    for i in range(1, n + 1):
        deps = [i - CHAINS] if graph == "chain" and i > CHAINS else []
        tasks.append(
            {
                "id": i,
                "title": f"Note {i}",
                "description": f"Write the note of task {i}.",
                "details": "One markdown file.",
                "testStrategy": "The file exists.",
                "priority": "medium",
                "status": "pending",
                "dependencies": deps,
                "subtasks": [],
            }
        )
    return tasks


def make_project(root: Path, n_tasks: int, graph: str, files: int, track_tasks: bool) -> Path:
    from claude_orchestrator.project import init_orchestrator

    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Bench")
    git(root, "config", "user.email", "bench@example.test")
    for i in range(files):
        f = root / f"pkg{i % 20}" / f"m{i}.py"
        f.parent.mkdir(exist_ok=True)
        f.write_text("x" * 1023 + "\n")
    init_orchestrator(root, "bench")
    cfg_path = root / "orchestrator_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["execution"]["retry_backoff_seconds"] = 0.05
    cfg_path.write_text(json.dumps(cfg, indent=2))
    tasks_path = root / ".taskmaster" / "tasks" / "tasks.json"
    tasks_path.write_text(json.dumps({"master": {"tasks": task_list(n_tasks, graph), "metadata": {}}}))
    git(root, "add", "-A")
    if not track_tasks:
        git(root, "rm", "-q", "--cached", str(tasks_path))
    git(root, "commit", "-q", "-m", "start")
    return root


# ---- the fake model, as its own process -----------------------------------------------------------------


class FakeServer:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def cpu_s(self) -> float:
        """CPU seconds the fake has used so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> FakeServer:
        cmd = [sys.executable, "-m", "claude_orchestrator.testing.fake_anthropic", "--demo"]
        cmd += ["--latency", str(self.latency)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = _FAKE_LINE.search(line)
        if not m:
            self.proc.kill()
            raise SystemExit(f"the fake model did not start: {line!r}")
        self.url = m.group(1)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


# ---- one run --------------------------------------------------------------------------------------------


@dataclass
class Case:
    tasks: int
    graph: str
    workers: int
    backend: str
    latency: float
    review: bool

    def key(self) -> tuple[Any, ...]:
        return (self.tasks, self.graph, self.backend, self.latency, self.review)


@dataclass
class Result:
    case: Case
    wall_s: float
    sched_s: float
    done: int
    failed: int
    git_procs: int
    git_by_cmd: dict[str, int]
    serial_s: float | None
    merged: int
    rss_peak_mb: float
    cp_ratio: float | None
    load: float
    cpu_s: float = 0.0
    fake_cpu_s: float = 0.0
    speedup: float | None = None
    speedup_sched: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def git_per_task(self) -> float:
        return self.git_procs / max(1, self.case.tasks)

    @property
    def serial_per_task(self) -> float | None:
        return None if self.serial_s is None or not self.merged else self.serial_s / self.merged


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, in KiB (0 when it is gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            status = (d / "status").read_text()
        except (OSError, ValueError, IndexError):
            continue
        m = re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)
        rss[int(d.name)] = int(m.group(1)) if m else 0
        children.setdefault(ppid, []).append(int(d.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every_s: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s, self.peak_kb = pid, every_s, 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.every_s):
            self.peak_kb = max(self.peak_kb, _tree_rss_kb(self.pid))

    def stop(self) -> None:
        self._halt.set()
        self.join()


_TRACE = re.compile(r"trace: built-in: git (?:-c \S+ )*(\S+)")


def count_git(trace: Path) -> Counter[str]:
    """Git processes in a GIT_TRACE file, by subcommand."""
    found: Counter[str] = Counter()
    if trace.is_file():
        for line in trace.read_text(errors="replace").splitlines():
            m = _TRACE.search(line)
            if m:
                found[m.group(1)] += 1
    return found


def critical_ratio(run_dir: Path, tasks: list[dict[str, Any]]) -> float | None:
    """Makespan over the critical path of the measured dispatch-to-done times (last attempt)."""
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    first = last = None
    events = run_dir / "events.ndjson"
    if not events.is_file():
        return None
    for line in events.read_text().splitlines():
        e = json.loads(line)
        t, kind, tid = e.get("ts"), e.get("kind") or e.get("type"), str(e.get("task_id", ""))
        if t is None:
            continue
        if kind in ("run_started", "RunStarted"):
            first = t
        elif kind in ("task_started", "TaskStarted"):
            start[tid] = t
        elif kind in ("task_completed", "TaskCompleted"):
            end[tid] = t
        elif kind in ("run_finished", "RunFinished"):
            last = t
    if first is None or last is None or not end:
        return None
    longest: dict[str, float] = {}
    for task in tasks:  # ids are in dependency order
        tid = str(task["id"])
        if tid not in end or tid not in start:
            continue
        own = end[tid] - start[tid]
        longest[tid] = own + max((longest.get(str(d), 0.0) for d in task["dependencies"]), default=0.0)
    cp = max(longest.values(), default=0.0)
    return (last - first) / cp if cp > 0 else None


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_case(
    case: Case,
    files: int,
    track_tasks: bool,
    fake: FakeServer,
    keep: Path | None,
    *,
    setup: Callable[[Path], None] | None = None,
    args: Sequence[str] = (),
) -> Result:
    """One run of `case` on a generated project; `setup(root)` changes the project first (and commits),
    `args` go to `run` (other benchmarks reuse this one)."""
    base = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    try:
        root = make_project(base / "p", case.tasks, case.graph, files, track_tasks)
        if setup is not None:
            setup(root)
        trace = base / "git.trace"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_CODE_"))}
        env.update(
            ANTHROPIC_BASE_URL=fake.url,
            ANTHROPIC_API_KEY="sk-bench-fake-key",
            CLAUDE_CONFIG_DIR=str(base / "claude-config"),
            GIT_TRACE=str(trace),
            GIT_CONFIG_NOSYSTEM="1",
        )
        cmd = [sys.executable, "-m", "claude_orchestrator", "run", "--working-dir", str(root)]
        cmd += ["--backend", case.backend, "--workers", str(case.workers), "--no-progress", "--fresh"]
        if not case.review:
            cmd.append("--no-review")
        cmd += args
        load = os.getloadavg()[0]
        cpu0, fake0 = _children_cpu(), fake.cpu_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        sampler = RssSampler(proc.pid)
        sampler.start()
        output, _ = proc.communicate()
        wall = time.perf_counter() - t0
        cpu, fake_cpu = _children_cpu() - cpu0, fake.cpu_s() - fake0
        sampler.stop()
        runs = sorted((root / ".taskmaster" / "runs").glob("*/summary.json"))
        if not runs:
            raise SystemExit(f"no run summary; the run printed:\n{output[-3000:]}")
        run_dir = runs[-1].parent
        summary = json.loads(runs[-1].read_text())
        integ = summary.get("integration") or {}
        by_cmd = count_git(trace)
        tasks = task_list(case.tasks, case.graph)
        res = Result(
            case=case,
            wall_s=wall,
            sched_s=float(summary.get("duration_s") or 0.0),
            done=int(summary.get("tasks_done", 0)),
            failed=int(summary.get("tasks_failed", 0)),
            git_procs=sum(by_cmd.values()),
            git_by_cmd=dict(by_cmd.most_common()),
            serial_s=integ.get("merge_s"),
            merged=int(integ.get("merges", 0)),
            rss_peak_mb=sampler.peak_kb / 1024,
            cp_ratio=critical_ratio(run_dir, tasks),
            load=load,
            cpu_s=cpu,
            fake_cpu_s=fake_cpu,
            extra={k: v for k, v in integ.items() if k not in ("merge_s", "merges")},
        )
        if res.done != case.tasks:
            print(f"  ! {res.done}/{case.tasks} done; the run printed:\n{output[-2000:]}", file=sys.stderr)
        if keep is not None:
            shutil.copytree(base, keep / f"{case.tasks}-{case.graph}-{case.backend}-w{case.workers}")
        return res
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---- the floor ------------------------------------------------------------------------------------------


def floor(files: int, n: int = 5) -> tuple[float, float]:
    """ms and git processes (as GIT_TRACE counts them) of the least git work for one task: worktree add,
    commit in it, merge-tree, commit-tree, update-ref. Median ms over `n` tasks."""
    base = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    try:
        root = make_project(base / "p", 1, "independent", files, False)
        trace = base / "floor.trace"
        env = {**os.environ, "GIT_TRACE": str(trace)}
        times = []
        for i in range(n):
            wt = base / f"wt{i}"
            t = time.perf_counter()
            tip = git(root, "rev-parse", "main", env=env)
            git(root, "worktree", "add", "-q", "-b", f"t{i}", str(wt), tip, env=env)
            (wt / f"note{i}.md").write_text(f"task {i}\n")
            git(wt, "add", "-A", env=env)
            git(wt, "commit", "-q", "-m", f"task {i}", env=env)
            branch_tip = git(wt, "rev-parse", "HEAD", env=env)
            now = git(root, "rev-parse", "main", env=env)
            tree = git(root, "merge-tree", "--write-tree", now, branch_tip, env=env).splitlines()[0]
            merged = git(root, "commit-tree", tree, "-p", now, "-p", branch_tip, "-m", f"m {i}", env=env)
            git(root, "update-ref", "refs/heads/main", merged, now, env=env)
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times), sum(count_git(trace).values()) / n
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---- the matrix -----------------------------------------------------------------------------------------


def _list(text: str, kind: type) -> list[Any]:
    return [kind(x) for x in text.split(",") if x.strip()]


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--tasks", default="10", help="comma-separated task counts (10,50,200)")
    ap.add_argument("--graph", default="independent", help="independent,chain")
    ap.add_argument("--workers", default="1,4", help="comma-separated worker counts (1,4,8,16)")
    ap.add_argument("--backend", default="api", help="api,claude-code")
    ap.add_argument("--latency", default="0", help="seconds per model request (0,2)")
    ap.add_argument("--review", default="on", help="on,off")
    ap.add_argument("--files", type=int, default=500, help="tracked files in the generated repository")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--track-tasks", action="store_true", help="commit tasks.json (status commits)")
    ap.add_argument("--json", type=Path, help="append one JSON object per run to this file")
    ap.add_argument("--keep", type=Path, help="copy each run's project and git trace here")
    ap.add_argument("--no-floor", action="store_true", help="skip the floor measurement")
    a = ap.parse_args(argv)
    if a.keep:
        a.keep.mkdir(parents=True, exist_ok=True)
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    cases = [
        Case(t, g, w, b, lat, r == "on")
        for lat, t, g, b, r, w in itertools.product(
            _list(a.latency, float),
            _list(a.tasks, int),
            _list(a.graph, str),
            _list(a.backend, str),
            _list(a.review, str),
            sorted(_list(a.workers, int)),
        )
    ]
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    if not a.no_floor:
        ms, procs = floor(a.files)
        print(f"floor: {ms:.1f} ms, {procs:g} git processes for one task (worktree add, commit, merge)")
    print(
        f"{'tasks':>5} {'graph':<11} {'backend':<11} {'lat':>4} {'rev':>3} {'w':>3} {'wall':>7} {'sched':>7} "
        f"{'speedup':>13} {'serial/t':>8} {'git/t':>6} {'cpu/t':>11} {'rss/w':>6} {'cp':>5} {'done':>7} "
        f"{'load':>5}"
    )
    ones: dict[tuple[Any, ...], tuple[float, float]] = {}
    for lat, group in itertools.groupby(cases, key=lambda c: c.latency):
        with FakeServer(lat) as fake:
            for case in group:
                for _ in range(a.repeat):
                    r = run_case(case, a.files, a.track_tasks, fake, a.keep)
                    report(r, ones, a.json)
    return 0


def report(r: Result, ones: dict[tuple[Any, ...], tuple[float, float]], to: Path | None) -> None:
    c = r.case
    if c.workers == 1:
        ones[c.key()] = (r.wall_s, r.sched_s)
    one = ones.get(c.key())
    if one:
        r.speedup, r.speedup_sched = one[0] / r.wall_s, one[1] / max(r.sched_s, 1e-9)
    speedup = f"{_fmt(r.speedup, '.2f')}/{_fmt(r.speedup_sched, '.2f')}"
    cpu = f"{r.cpu_s / c.tasks:.2f}+{r.fake_cpu_s / c.tasks:.2f}"
    print(
        f"{c.tasks:>5} {c.graph:<11} {c.backend:<11} {c.latency:>4g} {'on' if c.review else 'off':>3} "
        f"{c.workers:>3} {r.wall_s:>7.2f} {r.sched_s:>7.2f} {speedup:>13} "
        f"{_fmt(r.serial_per_task, '>8.3f')} {r.git_per_task:>6.1f} {cpu:>11} {r.rss_peak_mb / c.workers:>6.1f} "
        f"{_fmt(r.cp_ratio, '>5.2f')} {f'{r.done}/{c.tasks}':>7} {r.load:>5.1f}",
        flush=True,
    )
    if to is not None:
        row = {**asdict(r), "git_per_task": r.git_per_task, "serial_per_task": r.serial_per_task}
        with to.open("a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    sys.exit(main())
