"""The scheduler's worker pool, as data: `WorkerSlots` (numbered slots, a best of N takes N at once) and
`Attempt` (one dispatched attempt of a unit and the slots it holds)."""

from __future__ import annotations

from dataclasses import dataclass

from ..workers.base import WorkUnit


@dataclass
class Attempt:
    uid: str
    no: int
    token: int
    slots: tuple[int, ...]  # the first names its worker ("w2"); a best of N holds N
    unit: WorkUnit  # as the worker got it (attempt, feedback, dependency results)
    stop_cancelled: bool = False
    withdrawn: str = ""  # the status a person set in tasks.json to take the unit out while it ran

    @property
    def slot(self) -> int:
        return self.slots[0]


class WorkerSlots:
    """`size` numbered slots; a unit takes one per attempt that runs at once (`WorkUnit.best_of`, at most
    `size`), and gives them back when its worker is done."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = list(range(size, 0, -1))

    @property
    def free(self) -> int:
        return len(self._free)

    def need(self, unit: WorkUnit) -> int:
        return max(1, min(unit.best_of, self.size))

    def take(self, n: int) -> tuple[int, ...]:
        return tuple(self._free.pop() for _ in range(n))

    def give(self, slots: tuple[int, ...]) -> None:
        self._free += slots
