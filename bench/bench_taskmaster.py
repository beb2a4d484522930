"""Time our `task-master list` / `next` against the real task-master-ai 0.43.1 on generated task files.

    python bench/bench_taskmaster.py [--runs 5] [--real-runs 2] [--sizes 1000,10000] [--no-real]

Generates tagged files with N tasks x 3 subtasks and 0-3 dependencies each (seeded), runs each command as a
subprocess of the installed console script (and of the real CLI, with HOME/TMPDIR in a temp dir and no API
keys), and prints the median wall time per command and the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(
    os.environ.get("TASK_MASTER_AI_BIN") or ROOT / ".cache/task-master-ai/node_modules/.bin/task-master"
)
OURS = Path(sys.executable).parent / "task-master"
STATUSES = ["done"] * 3 + ["pending"] * 5 + ["in-progress", "review", "deferred"]
PRIORITIES = ["low", "medium", "medium", "high", "critical"]


def generate(n: int, seed: int = 7) -> dict:
    rnd = random.Random(seed)
    tasks = []
    for i in range(1, n + 1):
        deps = sorted(rnd.sample(range(1, i), min(i - 1, rnd.randint(0, 3)))) if i > 1 else []
        subs = [
            {
                "id": s,
                "title": f"Subtask {i}.{s}",
                "description": f"Step {s} of task {i}",
                "status": rnd.choice(["pending", "done"]),
                "dependencies": [f"{i}.{s - 1}"] if s > 1 else [],
                "details": "Implementation notes " * 3,
            }
            for s in range(1, 4)
        ]
        tasks.append(
            {
                "id": i,
                "title": f"Task {i}: build component {i}",
                "description": f"Build and test component number {i} of the system",
                "status": rnd.choice(STATUSES),
                "priority": rnd.choice(PRIORITIES),
                "dependencies": deps,
                "details": "Detailed implementation guidance. " * 6,
                "testStrategy": "Unit tests and an integration test.",
                "subtasks": subs,
            }
        )
    return {
        "master": {
            "tasks": tasks,
            "metadata": {"created": "2025-01-01T00:00:00.000Z", "description": "bench"},
        }
    }


def make_project(base: Path, n: int) -> Path:
    proj = base / f"p{n}"
    tm = proj / ".taskmaster"
    (tm / "tasks").mkdir(parents=True)
    (tm / "state.json").write_text(json.dumps({"currentTag": "master", "migrationNoticeShown": True}))
    (tm / "tasks" / "tasks.json").write_text(json.dumps(generate(n), indent=2))
    return proj


def env_for(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not any(s in k.upper() for s in ("KEY", "TOKEN", "SECRET"))}
    for name, sub in (("HOME", "home"), ("TMPDIR", "tmp")):
        (base / sub).mkdir(exist_ok=True)
        env[name] = str(base / sub)
    return env


def timed(cmd: list[str], cwd: Path, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--real-runs", type=int, default=2)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--no-real", action="store_true")
    args = ap.parse_args()
    real = REAL if REAL.exists() and not args.no_real else None
    base = Path(tempfile.mkdtemp(prefix="bench-tm-"))
    env = env_for(base)
    rows = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            proj = make_project(base, n)
            size = (proj / ".taskmaster/tasks/tasks.json").stat().st_size / 1e6
            for cmd in (["list"], ["next"], ["list", "--json"]):
                ours = timed([str(OURS), *cmd], proj, env, args.runs)
                theirs = timed([str(real), *cmd], proj, env, args.real_runs) if real else None
                rows.append((n, size, " ".join(cmd), ours, theirs))
                print(f"  measured {n} tasks: {' '.join(cmd)}", file=sys.stderr)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(
        f"\n{'tasks':>6} {'MB':>5}  {'command':<12} {'ours (s)':>9} {'task-master-ai (s)':>19} {'speed-up':>9}"
    )
    for n, size, cmd, ours, theirs in rows:
        t = f"{theirs:19.2f}" if theirs is not None else f"{'-':>19}"
        x = f"{theirs / ours:8.1f}x" if theirs is not None else f"{'-':>9}"
        print(f"{n:>6} {size:5.1f}  {cmd:<12} {ours:9.3f} {t} {x}")
    print(
        f"\nmedian of {args.runs} runs (ours) / {args.real_runs} runs (task-master-ai 0.43.1); {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
