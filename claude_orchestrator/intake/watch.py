"""`watch DIR [--run]`: the drop folder. A thread watches the folder (file events through watchfiles,
debounced; polling with --poll or when watchfiles is missing) and imports each new or changed file at once,
even while a run is going on; the calling thread runs the ready work (RunEngine, the public API) whenever
something new was imported, and writes `NAME.result.md` beside each finished file. Ctrl-C stops both:
during a run it is the run's own Ctrl-C (running tasks get their grace), then the watch ends."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import OrchestratorError
from ..taskmaster.store import TaskStore
from .dropfolder import DropFolder, Imported, importable

Echo = Callable[[str], None]


class Watch:
    """`serve()` blocks until `stop` is set, Ctrl-C, or a run was stopped. `events` receives
    (kind, detail) pairs: ready, imported, failed, run-started, run-finished, result."""

    def __init__(
        self,
        store: TaskStore,
        folder: Path,
        *,
        tag: str | None = None,
        run: bool = False,
        cfg: Any = None,
        workers: int | None = None,
        backend: str | None = None,
        poll: bool = False,
        echo: Echo = print,
        step_ms: int = 200,
    ) -> None:
        self.store, self.tag, self.run, self.cfg = store, tag, run, cfg
        self.workers, self.backend, self.poll, self.echo, self.step_ms = workers, backend, poll, echo, step_ms
        self.drop = DropFolder(store, folder, tag)
        self.folder = self.drop.folder
        self.stop = threading.Event()
        self.work = threading.Event()
        self.events: queue.Queue[tuple[str, str]] = queue.Queue()
        self._lock = threading.Lock()

    def _note(self, kind: str, detail: str, line: str | None = None) -> None:
        if line:
            self.echo(line)
        self.events.put((kind, detail))

    # -- the watching thread ---------------------------------------------------------------------------
    def import_pending(self) -> None:
        with self._lock:
            for path in self.drop.pending_files():
                got = self.drop.import_file(path)
                if isinstance(got, Imported):
                    self._note(
                        "imported", got.file, f"imported {got.file}: task {', '.join(got.tasks) or '-'}"
                    )
                    self.work.set()
                else:
                    self._note("failed", path.name, f"{path.name} moved to failed/: {got}")

    def _changes(self) -> Iterator[object]:
        try:
            import watchfiles
        except ImportError:  # the polling fallback
            watchfiles = None  # type: ignore[assignment]
        if watchfiles is None:
            yield None
            while not self.stop.wait(1.0):
                yield {"poll"}
            return

        def wanted(_change: Any, path: str) -> bool:
            return importable(Path(path), self.folder)

        yield from watchfiles.watch(
            self.folder,
            watch_filter=wanted,
            step=self.step_ms,
            stop_event=self.stop,
            raise_interrupt=False,
            force_polling=True if self.poll else None,
            poll_delay_ms=300,
            recursive=False,
            rust_timeout=500,
            yield_on_timeout=True,  # the first (empty) yield: the watcher is set up
        )

    def _watch(self) -> None:
        try:
            first = True
            for changes in self._changes():
                if first or changes:  # first: what was there before the watch, once events are on
                    self.import_pending()
                if first:
                    self._note("ready", str(self.folder))
                    first = False
        except Exception as e:  # the watch must not die silently
            self.echo(f"watching stopped: {type(e).__name__}: {e}")
            self.stop.set()

    # -- the running thread ----------------------------------------------------------------------------
    def run_once(self) -> str:
        """Run this folder's pending tasks; write results. Returns the run's status (or 'nothing'/'error')."""
        from ..run.engine import RunEngine, RunOptions

        tag = self.store.load(self.tag)
        ids = self.drop.open_work(tag)
        status = "nothing"
        if ids:
            options = RunOptions(
                ids=ids, workers=self.workers, tag=self.tag, backend=self.backend, no_progress=True
            )
            self._note("run-started", ",".join(ids), f"running task {', '.join(ids)}")
            try:
                report = RunEngine(self.store, self.cfg, options).run()
                status = report.status
                self.echo(f"run {report.run_id}: {report.status}, cost ${report.cost_usd:.4f}")
            except OrchestratorError as e:
                status = "error"
                self.echo(f"run not started: {e}")
            self._note("run-finished", status)
        for path in self.drop.write_results(self.store.load(self.tag)):
            self._note("result", path.name, f"wrote {path.name}")
        return status

    def serve(self) -> None:
        thread = threading.Thread(target=self._watch, name="watch-folder", daemon=True)
        try:
            thread.start()
            while not self.stop.is_set():
                if not self.work.wait(0.2):
                    continue
                self.work.clear()
                if self.run and self.run_once() == "stopped":
                    break
        except KeyboardInterrupt:
            pass
        finally:
            self.stop.set()
            if thread.is_alive():
                thread.join(10)
