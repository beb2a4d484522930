"""The reliability campaign: kill -9 and resume, fault-free and faulty runs, escapes, hostile input, stale
writes by the real task-master-ai, secrets. Everything against the loopback fake model.

    .venv/bin/python bench/soak.py [--backends api,claude-code] [--kills 30] [--tasks 10] [--workers 3]
        [--clean-runs 20] [--fault-runs 5] [--fault-rate 0.25] [--tm-rounds 10] [--only kills,faults,...]
        [--keep DIR] [--json FILE]

Figures printed (goals in brackets):
    clean resumes       kill -9 of `run` at --kills points spread over a run of --tasks tasks (a chain), then
                        one `run`: exit 0, every task done, its file right, one commit per task, nothing run
                        again once done, git fsck clean, no lock left  [30/30 per backend]
    wrongly failed      tasks not done over --clean-runs fault-free runs of 6 independent tasks at 4 workers,
                        tasks.json tracked (status commits race with merges)  [0]
    done under faults   tasks done over --fault-runs runs with a --fault-rate share of model requests
                        answered with 500/529/429/broken stream/reset  [100%]
    escapes             a model's commands planting hooks in the main .git, writing the home folder, the
                        repository, .git/config; 200 file-tool writes racing a link swap; a hard link  [0]
    tracebacks          hostile inputs (lone surrogates, nesting 100,000 deep, long and deep file names,
                        binary garbage) through list/next/show/set-status/status/run --dry-run/execute  [0]
    secrets             canary secrets seen by programs planted in .git/hooks or run by a model  [0]
    lost updates        tasks whose last status and metadata our recorder acknowledged are not in the file
                        after its final flush, when the real task-master-ai's set-status runs meanwhile
                        and the recorder writes all through it (--tm-rounds rounds); also its statuses we
                        erased [0], and how many of ours its stale copies erased and we put back
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soak_lib import (  # noqa: E402
    CANARIES,
    KEY,
    check_finished,
    fake,
    faulty,
    make_project,
    model_env,
    note_warning,
    record_while,
    run,
    start_run,
    statuses,
    worker_starts,
)

from claude_orchestrator.testing.demo_model import demo_model  # noqa: E402

RESULTS: dict[str, Any] = {}


def say(line: str) -> None:
    print(line, flush=True)


def kills(base: Path, backend: str, points: int, n: int, workers: int) -> None:
    f = fake(demo_model)
    env = model_env(f)
    t0 = time.monotonic()
    code, out = run(make_project(base / f"{backend}-baseline", n, chain=True), backend, workers, env)
    span = time.monotonic() - t0
    if code != 0:
        say(f"  {backend}: the baseline run failed ({code}): {out.strip().splitlines()[-1:]}")
    clean, problems = 0, []
    for i in range(1, points + 1):
        root = make_project(base / f"{backend}-kill-{i}", n, chain=True)
        proc = start_run(root, backend, workers, env)
        time.sleep(span * i / (points + 1))
        os.kill(proc.pid, signal.SIGKILL)  # the run's process only, as a crash
        proc.communicate()
        done_at_kill = {k for k, s in statuses(root).items() if s == "done"}
        before = len(worker_starts(f))
        code, out = run(root, backend, workers, env)
        again = set(worker_starts(f)[before:]) & done_at_kill
        chk = check_finished(root, n, code, out, ran_again=again)
        clean += chk.clean
        if not chk.clean:
            problems.append(f"kill {i} at {span * i / (points + 1):.1f}s: {'; '.join(chk.problems)}")
        say(f"  kill {i}/{points} ({backend}): {'clean' if chk.clean else 'NOT clean'}")  # partial figures
    f.stop()
    RESULTS[f"clean_resumes_{backend}"] = f"{clean}/{points}"
    say(f"clean resumes ({backend}): {clean}/{points}   (a run of {n} tasks takes {span:.1f}s here)")
    for p in problems:
        say(f"    {p}")


def clean_runs(base: Path, backend: str, runs: int) -> None:
    f = fake(demo_model)
    env = model_env(f)
    failed, notes = 0, []
    for i in range(runs):
        root = make_project(base / f"{backend}-clean-{i}", 6, track_tasks=True)
        code, out = run(root, backend, 4, env)
        bad = [k for k, s in statuses(root).items() if s != "done"]
        failed += len(bad)
        say(f"  clean run {i + 1}/{runs} ({backend}): {len(bad)} not done")
        if bad or code != 0:
            notes.append(f"run {i}: exit {code}, not done {bad}: {out.strip().splitlines()[-2:]}")
    f.stop()
    RESULTS[f"wrongly_failed_{backend}"] = failed
    say(f"tasks wrongly failed ({backend}, {runs} fault-free runs of 6 tasks at 4 workers): {failed}")
    for note in notes:
        say(f"    {note}")


def fault_runs(base: Path, backend: str, runs: int, rate: float) -> None:
    done = total = errors = requests = 0
    for i in range(runs):
        model = faulty(demo_model, rate, seed=i)
        f = fake(model)
        root = make_project(base / f"{backend}-faults-{i}", 6)
        run(root, backend, 4, model_env(f))
        st = statuses(root)
        done += sum(s == "done" for s in st.values())
        total += len(st)
        errors += model.injected  # a broken stream is answered 200 first: counted where injected
        requests += len(f.requests)
        f.stop()
        say(f"  fault run {i + 1}/{runs} ({backend}): {sum(s == 'done' for s in st.values())}/{len(st)} done")
    RESULTS[f"done_under_faults_{backend}"] = f"{done}/{total}"
    say(
        f"tasks done under {rate:.0%} faults ({backend}): {done}/{total} ({errors} faults in {requests} requests)"
    )


ESCAPES = {
    "hook": 'printf "#!/bin/sh\\nenv > /tmp/soak-hook-ran\\n" > "$(git rev-parse --git-common-dir)/hooks/pre-push"',
    "hooks path": 'git config --file "$(git rev-parse --git-common-dir)/config" core.hooksPath "$PWD"',
    "home": 'echo pwned > "$HOME/soak-escape.txt"',
    "repository": 'echo pwned > "$(git rev-parse --git-common-dir)/../soak-escape.txt"',
    "env dump": "env > seen.env",
}


PLANTED_HOOKS = (
    "pre-commit",
    "post-commit",
    "post-merge",
    "post-checkout",
    "reference-transaction",
    "pre-auto-gc",
)


def escape_model(req: Any) -> Any:
    """A worker that runs every escape command, then does its task; everything else as the demo."""
    from claude_orchestrator.testing.fake_anthropic import text_reply, tool_use_reply

    if not req.has_tool("run_command"):
        return demo_model(req)
    done = len(req.tool_results or [])
    commands = list(ESCAPES.values())
    if done < len(commands):
        return tool_use_reply("run_command", {"command": commands[done]})
    return demo_model(req) if done == len(commands) else text_reply("done")


def escapes(base: Path) -> None:
    from claude_orchestrator.workers.sandbox import Sandbox

    found: list[str] = []
    root = make_project(base / "escape", 1)
    for name in PLANTED_HOOKS:  # programs planted earlier, by anyone: our git must never run them
        hook = root / ".git" / "hooks" / name
        hook.write_text(f"#!/bin/sh\nenv >> {base}/planted-hook-saw.env\n")
        hook.chmod(0o755)
    f = fake(escape_model)
    run(root, "api", 1, model_env(f))
    f.stop()
    common = root / ".git"
    checks = {
        "hook planted": (common / "hooks" / "pre-push").exists(),
        "hooksPath set": "hookspath" in (common / "config").read_text().lower(),
        "home written": (Path.home() / "soak-escape.txt").exists(),
        "repository written": (root / "soak-escape.txt").exists(),
    }
    found += [k for k, v in checks.items() if v]
    (Path.home() / "soak-escape.txt").unlink(missing_ok=True)
    box_root = base / "box" / "wt"
    box_root.mkdir(parents=True)
    secret = base / "box" / "outside.txt"
    secret.write_text("secret\n")
    found += race_escapes(Sandbox(box_root), secret)
    leaks = secrets_seen([base / "planted-hook-saw.env", Path("/tmp/soak-hook-ran"), *root.rglob("seen.env")])
    RESULTS["escapes"] = len(found)
    RESULTS["secrets_reaching_a_planted_program"] = leaks
    say(f"escapes: {len(found)} {found or ''}")
    ran = (base / "planted-hook-saw.env").is_file()
    say(f"secrets reaching a planted program or a model's command: {leaks} (planted hooks ran: {ran})")


def race_escapes(box: Any, secret: Path) -> list[str]:
    """200 writes racing a thread that swaps the target for a link out; a hard link to the outside file."""
    stop = threading.Event()
    target = box.root / "target.txt"

    def swap() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            link = box.root / f".l{n}"
            with contextlib.suppress(OSError):
                os.symlink(secret, link)
                os.replace(link, target)

    t = threading.Thread(target=swap, daemon=True)
    t.start()
    for i in range(200):
        box.dispatch("write_file", {"path": "target.txt", "content": f"{i}\n"})
    stop.set()
    t.join()
    os.link(secret, box.root / "hl.txt")
    box.dispatch("write_file", {"path": "hl.txt", "content": "pwned\n"})
    return ["written outside"] if secret.read_text() != "secret\n" else []


def secrets_seen(files: list[Path]) -> int:
    values = [KEY, *CANARIES.values()]
    seen = 0
    for p in files:
        if p.is_file():
            text = p.read_text(errors="replace")
            seen += sum(v in text for v in values)
    Path("/tmp/soak-hook-ran").unlink(missing_ok=True)
    return seen


def hostile_inputs(base: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    tasks_cases = ['{"master": {"tasks": [{"id": 1, "title": "bad \\ud800"}]}}', "\xff\xfe garbage", deep]
    config_cases = ['{"execution": ' + deep + "}", '{"execution": {"sandbox": "\\udfff"}}']
    plan_cases = [
        json.dumps({"name": "x", "files": {"a" * 300 + ".py": "print(1)"}}),
        json.dumps({"name": "x", "files": {"d/" * 2100 + "m.py": "print(1)"}}),
        '{"name": "x", "files": {"\\ud800.py": "print(1)"}}',
        '{"name": "x", "files": ' + deep + "}",
    ]
    tracebacks = invocations = 0
    calls: list[tuple[str | None, str | None, str | None]] = [(t, None, None) for t in tasks_cases] + [
        (None, c, None) for c in config_cases
    ]
    calls += [(None, None, p) for p in plan_cases]
    for i, (tasks, cfg, plan) in enumerate(calls):
        root = make_project(base / f"input-{i}", 1)
        if tasks is not None:
            (root / ".taskmaster" / "tasks" / "tasks.json").write_text(tasks, errors="surrogateescape")
        if cfg is not None:
            (root / "orchestrator_config.json").write_text(cfg)
        if plan is not None:
            (root / "plan.json").write_text(plan)
        commands = [["task-master", c] for c in ("list", "next")] + [["task-master", "show", "1"]]
        commands += [
            ["task-master", "set-status", "--id=1", "--status=done"],
            ["claude-orchestrator", "status"],
        ]
        commands += [
            ["claude-orchestrator", "run", "--dry-run"],
            ["claude-orchestrator", "execute", "plan.json"],
        ]
        for argv in commands:
            module = (
                "claude_orchestrator.cli.taskmaster" if argv[0] == "task-master" else "claude_orchestrator"
            )
            r = subprocess.run(
                [sys.executable, "-m", module, *argv[1:]], cwd=root, capture_output=True, text=True
            )
            invocations += 1
            tracebacks += "Traceback" in r.stderr
    RESULTS["tracebacks"] = tracebacks
    say(f"tracebacks: {tracebacks} in {invocations} invocations of {len(calls)} hostile inputs")


def lost_updates(base: Path, rounds: int, n: int = 120) -> None:
    """Per round: the real task-master-ai sets the even tasks to review while our recorder, all through
    that command's life, records the odd ones started then done, one after another (a flush after each:
    acknowledged). Counted after the final flush: our acknowledged statuses erased, its statuses erased
    (ours at fault in both cases), and the stale write-backs of its that the recorder undid (the race hit)."""
    from claude_orchestrator.events import EventBus
    from claude_orchestrator.run.recorder import TaskRecorder
    from claude_orchestrator.taskmaster.store import TaskStore

    real = os.environ.get("TASK_MASTER_AI_BIN") or str(
        Path(__file__).resolve().parent.parent / ".cache/task-master-ai/node_modules/.bin/task-master"
    )
    if not Path(real).exists():
        say("lost updates: skipped (no task-master-ai; set TASK_MASTER_AI_BIN)")
        return
    lost = acked = writes = theirs_lost = theirs = undone = 0
    why: list[str] = []  # the last line task-master-ai printed, in each round it failed
    for r in range(rounds):
        root = make_project(base / f"tm-{r}", n, track_tasks=False)
        evens = [str(i) for i in range(2, n + 1, 2)]
        bus = EventBus()
        seen: list[str] = []
        bus.subscribe(functools.partial(note_warning, seen))
        out = (base / f"tm-{r}.log").open("w")
        other = subprocess.Popen(
            [real, "set-status", f"--id={','.join(evens)}", "--status=review"],
            cwd=root,
            env={**os.environ, "HOME": str(root)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        with TaskRecorder(TaskStore(root), "master", run_id="soak", run_path=root / "run", bus=bus) as rec:
            ours = record_while(rec, other, [str(i) for i in range(1, n + 1, 2)])
            other.wait()
            rec.flush()
        out.close()
        data = json.loads((root / ".taskmaster" / "tasks" / "tasks.json").read_text())
        found = {str(t["id"]): t for t in data["master"]["tasks"]}
        st = {uid: t["status"] for uid, t in found.items()}
        acked += len(ours)
        writes += max(ours.values(), default=0)
        lost += sum(
            st[uid] != "done" or found[uid].get("metadata", {}).get("orchestrator", {}).get("seq") != seq
            for uid, seq in ours.items()
        )
        undone += sum("stale write" in m for m in seen)
        if other.returncode == 0:
            theirs += len(evens)
            theirs_lost += sum(st[i] != "review" for i in evens)
        else:
            lines = [ln.strip() for ln in (base / f"tm-{r}.log").read_text(errors="replace").splitlines()]
            why.append(([ln for ln in lines if ln] or ["(no output)"])[-1][:200])
    RESULTS["lost_updates"] = f"{lost}/{acked}"
    RESULTS["their_updates_lost"] = f"{theirs_lost}/{theirs}"
    RESULTS["stale_writes_undone"] = undone
    say(
        f"lost updates with the real task-master-ai writing meanwhile: {lost} of {acked} tasks' last "
        f"acknowledged status and metadata ({writes} acknowledged writes in {rounds} rounds)"
    )
    say(
        f"    its statuses erased: {theirs_lost} of {theirs}; our records put back after its stale writes: {undone}"
    )
    if why:
        say(f"    task-master-ai set-status failed in {len(why)} of {rounds} rounds: {sorted(set(why))}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="api,claude-code")
    p.add_argument("--kills", type=int, default=30)
    p.add_argument("--tasks", type=int, default=10)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--clean-runs", type=int, default=20)
    p.add_argument("--fault-runs", type=int, default=5)
    p.add_argument("--fault-rate", type=float, default=0.25)
    p.add_argument("--tm-rounds", type=int, default=10)
    p.add_argument("--only", default="kills,clean,faults,escapes,inputs,stale")
    p.add_argument("--keep", type=Path, default=None, help="keep the projects in this folder")
    p.add_argument("--json", type=Path, default=None, help="write the figures here too")
    a = p.parse_args()
    base = Path(tempfile.mkdtemp(prefix="soak-", dir=a.keep))
    only = set(a.only.split(","))
    try:
        for backend in a.backends.split(","):
            if "kills" in only:
                kills(base, backend, a.kills, a.tasks, a.workers)
            if "clean" in only:
                clean_runs(base, backend, a.clean_runs)
            if "faults" in only:
                fault_runs(base, backend, a.fault_runs, a.fault_rate)
        if "escapes" in only:
            escapes(base)
        if "inputs" in only:
            hostile_inputs(base)
        if "stale" in only:
            lost_updates(base, a.tm_rounds)
    finally:
        if a.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    if a.json:
        a.json.write_text(json.dumps(RESULTS, indent=2))
    say(json.dumps(RESULTS))


if __name__ == "__main__":
    main()
