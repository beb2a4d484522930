"""Time the stack runner on tiny offline projects, one per installed toolchain.

    python bench/stack_builds.py [--repeat N]

Prints, per stack: build seconds (execute_plan: write + detect + install/build + launcher) and run
seconds (run.sh to exit), median of N runs. Also the plan-validation rate for a 500-file plan.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from claude_orchestrator.stack import execute_plan, parse_plan, run_project

PLANS = {
    "python": (None, {"requirements.txt": "", "main.py": "print('hi')"}),
    "node": (
        "npm",
        {"package.json": json.dumps({"name": "n", "version": "1.0.0"}), "index.js": "console.log(1)"},
    ),
    "go": ("go", {"main.go": 'package main\nimport "fmt"\nfunc main() { fmt.Println(1) }\n'}),
    "rust": (
        "cargo",
        {
            "Cargo.toml": '[package]\nname = "b"\nversion = "0.1.0"\nedition = "2021"\n',
            "src/main.rs": "fn main() {}",
        },
    ),
    "java": ("javac", {"Main.java": "public class Main { public static void main(String[] a) {} }"}),
    "cpp-g++": ("g++", {"main.cpp": "int main() {}"}),
    "cpp-cmake": (
        "cmake",
        {
            "CMakeLists.txt": "cmake_minimum_required(VERSION 3.10)\nproject(b CXX)\nadd_executable(b main.cpp)\n",
            "main.cpp": "int main() {}",
        },
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'stack':<10} {'build s':>8} {'run s':>7}")
    for stack, (tool, files) in PLANS.items():
        if tool and not shutil.which(tool):
            print(f"{stack:<10} skipped ({tool} not installed)")
            continue
        builds, runs = [], []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as d:
                t0 = time.perf_counter()
                res = execute_plan({"name": stack, "files": files}, Path(d))
                t1 = time.perf_counter()
                run_project(res.project_dir, timeout=60)
                t2 = time.perf_counter()
                builds.append(t1 - t0)
                runs.append(t2 - t1)
        print(f"{stack:<10} {statistics.median(builds):>8.2f} {statistics.median(runs):>7.2f}")
    big = {"name": "big", "files": {f"pkg/m{i}.py": "x = 1\n" * 50 for i in range(500)}}
    t0 = time.perf_counter()
    for _ in range(20):
        parse_plan(big)
    per = (time.perf_counter() - t0) / 20
    print(f"validate a 500-file plan: {per * 1000:.1f} ms")


if __name__ == "__main__":
    main()
