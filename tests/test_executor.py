"""The Executor seam: LocalExecutor runs jobs on threads and delivers progress and results back through the
callback the scheduler gives it; cancel stops a job; close reports jobs that would not stop."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest

from claude_orchestrator.events import TaskProgress
from claude_orchestrator.run.executor import Finished, Job, LocalExecutor, Progress
from claude_orchestrator.testing.fake_worker import FakeSpec, FakeWorker
from claude_orchestrator.workers.base import WorkContext, WorkResult, WorkUnit


def unit(uid: str, **kw: object) -> WorkUnit:
    return WorkUnit(unit_id=uid, task_id=uid, title=f"task {uid}", **kw)  # type: ignore[arg-type]


def opened(ex: LocalExecutor, workers: int = 2) -> queue.SimpleQueue[Progress | Finished]:
    inbox: queue.SimpleQueue[Progress | Finished] = queue.SimpleQueue()
    ex.open(inbox.put, workers)
    return inbox


def finished(inbox: queue.SimpleQueue[Progress | Finished]) -> Finished:
    while True:
        msg = inbox.get(timeout=30)
        if isinstance(msg, Finished):
            return msg


def test_submit_runs_the_job_and_delivers_progress_then_the_result(tmp_path: Path):
    seen: list[WorkContext] = []

    class Echo:
        name = "echo"

        def run(self, u: WorkUnit, ctx: WorkContext) -> WorkResult:
            seen.append(ctx)
            ctx.report(TaskProgress(phase="working"))
            return WorkResult(ok=True, summary=f"did {u.unit_id} attempt {u.attempt}: {u.feedback}")

    ex = LocalExecutor(lambda u: Echo(), lambda u: tmp_path / u.unit_id)
    inbox = opened(ex)
    job = Job(7, unit("3", attempt=2, feedback="fix it"), run_id="r1", timeout_s=12.0)
    ex.submit(job)
    first = inbox.get(timeout=30)
    assert isinstance(first, Progress) and first.job == job and first.progress.data == {"phase": "working"}
    done = finished(inbox)
    assert done.job.token == 7 and done.result.ok and done.result.summary == "did 3 attempt 2: fix it"
    ctx = seen[0]
    assert (ctx.workdir, ctx.run_id, ctx.timeout_s) == (tmp_path / "3", "r1", 12.0)
    assert ex.close(1.0) == set()


def test_cancel_stops_a_running_job_and_its_result_still_comes():
    fw = FakeWorker(default=FakeSpec(hang=True))
    ex = LocalExecutor(lambda u: fw)
    inbox = opened(ex)
    ex.submit(Job(1, unit("1")))
    assert isinstance(inbox.get(timeout=30), Progress)  # it is running
    ex.cancel(1)
    ex.cancel(99)  # unknown tokens are ignored
    done = finished(inbox)
    assert not done.result.ok and done.result.error == "cancelled" and fw.active == 0
    assert ex.close(1.0) == set()


def test_a_failing_workdir_or_worker_is_a_failed_result_and_no_worker_refuses_the_job():
    def workdir(u: WorkUnit) -> Path:
        raise OSError("git worktree add failed")

    ex = LocalExecutor(lambda u: FakeWorker(), workdir)
    inbox = opened(ex)
    ex.submit(Job(1, unit("1")))
    assert finished(inbox).result.error == "worker raised OSError: git worktree add failed"

    def no_worker(u: WorkUnit) -> FakeWorker:
        raise KeyError(u.backend)

    refusing = LocalExecutor(no_worker)
    opened(refusing)
    with pytest.raises(KeyError):
        refusing.submit(Job(2, unit("2", backend="nope")))
    assert refusing.close(1.0) == set()
    ex.close(1.0)


def test_close_reports_jobs_that_ignore_cancel():
    release = threading.Event()

    class Stubborn:
        name = "stubborn"

        def run(self, u: WorkUnit, ctx: WorkContext) -> WorkResult:
            release.wait(60)
            return WorkResult(ok=True)

    ex = LocalExecutor(lambda u: Stubborn())
    opened(ex)
    ex.submit(Job(5, unit("5")))
    try:
        assert ex.close(0.2) == {5}
    finally:
        release.set()
