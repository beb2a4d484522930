"""The scheduler's integration pipeline for units whose worker succeeded: `hooks.prepare` for many units at
once (commit, diff, review: nothing that needs the merge lock), then `hooks.integrate` for one unit at a
time (the merge). Each unit's answer reaches the scheduler once, as a `Decided` through `deliver`; the
scheduler stays the only owner of run state."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from ..workers.base import WorkResult, WorkUnit
from .scheduler_config import SchedulerHooks
from .state import Decision


@dataclass(frozen=True)
class Decided:
    """The integration of the scheduler's attempt `token` ended: `fut` holds its Decision (or error)."""

    token: int
    fut: Future[Decision]


class IntegrationPipeline:
    """`parallel`: how many units may be in `prepare` at once. `deliver` is called on a pipeline thread."""

    def __init__(
        self,
        hooks: SchedulerHooks,
        parallel: int,
        deliver: Callable[[Decided], None],
        name: str,
    ) -> None:
        self.hooks, self.deliver = hooks, deliver
        # threads start on first use
        self._prepare = ThreadPoolExecutor(max(1, parallel), thread_name_prefix=f"prepare-{name}")
        self._serial = ThreadPoolExecutor(1, thread_name_prefix=f"integrate-{name}")

    @property
    def active(self) -> bool:
        """True when the scheduler should send succeeded units here (an integrate or prepare hook is set)."""
        return self.hooks.integrate is not None or self.hooks.prepare is not None

    def submit(self, unit: WorkUnit, res: WorkResult, token: int) -> None:
        """Start integrating `unit`; its decision is delivered once (with `token`), whatever happens."""
        if self.hooks.prepare is None:
            self._to_serial(unit, res, token)
            return
        fut = self._prepare.submit(self.hooks.prepare, unit, res)
        fut.add_done_callback(lambda f: self._prepared(unit, res, token, f))

    def _prepared(self, unit: WorkUnit, res: WorkResult, token: int, fut: Future[Decision | None]) -> None:
        if fut.cancelled() or fut.exception() is not None or fut.result() is not None:
            self.deliver(Decided(token, fut))  # type: ignore[arg-type]  # settled in prepare (decision or error)
        else:
            self._to_serial(unit, res, token)

    def _to_serial(self, unit: WorkUnit, res: WorkResult, token: int) -> None:
        fut: Future[Decision] = Future()
        if self.hooks.integrate is None:  # prepared, nothing more to do: done
            fut.set_result(Decision("done"))
        else:
            try:
                fut = self._serial.submit(self.hooks.integrate, unit, res)
            except RuntimeError as e:  # shut down meanwhile (the run is aborting)
                fut.set_exception(e)
        fut.add_done_callback(lambda f: self.deliver(Decided(token, f)))

    def close(self) -> None:
        """Wait for what runs; drop what is queued (only on abort is anything left queued)."""
        for pool in (self._prepare, self._serial):  # prepare first: what it finishes may go on to serial
            pool.shutdown(wait=True, cancel_futures=True)
