"""The run pipeline, the wing behind ``claude-orchestrator run``: the engine (a composition root), task
selection, the scheduler's unit graph and state, the scheduler and its config, the executor (the seam to
the workers), dispatch to a backend, integration (commit → review → merge, the one retry policy), the
admission gate, the task recorder (the one writer of tasks.json), the run's outcome, the run folder and
resume.

Its internals are not part of the public surface; ``RunEngine``, ``RunOptions`` and ``RunReport`` are
exported from the package root."""
