"""The scheduler's graph of units: ids, priorities, subtask groups, longest remaining chains, file locks,
and a simulated schedule for ``run --dry-run``. No threads and no I/O here.

The dependencies are one networkx ``DiGraph`` (edge: dependency -> dependent), the graph implementation
the task database uses too (taskmaster/graph.py); order, cycles and reachability are computed on it, ties
broken by task id. For the scheduler's hot path, ``deps`` and ``dependents`` are plain dicts derived from
that graph whenever units are added (never written otherwise): a lookup there is a dict access, not a
networkx view.
"""

from __future__ import annotations

import heapq
import posixpath
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx

from ..errors import DependencyError
from ..taskmaster.ids import IdKey, id_key
from ..taskmaster.model import PRIORITY_RANK
from ..workers.base import WorkUnit


@dataclass(frozen=True)
class SchedUnit:
    """A unit for the scheduler. A unit named as another unit's `parent` is a group: it does not run;
    its dependencies apply to all its descendants and it completes when they all have."""

    unit: WorkUnit
    parent: str | None = None
    est_duration_s: float | None = None

    @property
    def id(self) -> str:
        return self.unit.unit_id


def priority_rank(priority: str) -> int:
    """Heap order: the most important priority first (any case; unknown counts as medium)."""
    return -PRIORITY_RANK.get(str(priority).lower(), PRIORITY_RANK["medium"])


def norm_path(p: str) -> str:
    n = posixpath.normpath(p.strip().replace("\\", "/"))
    return "" if n == "." else n.lstrip("/")


def _overlap(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


class FileLocks:
    """Paths held by running units; a path overlaps an equal path or one inside/around it."""

    def __init__(self) -> None:
        self.held: Counter[str] = Counter()

    def conflicts(self, files: Iterable[str]) -> bool:
        return any(_overlap(f, h) for f in files for h in self.held)

    def acquire(self, files: Iterable[str]) -> None:
        self.held.update(files)

    def release(self, files: Iterable[str]) -> None:
        self.held.subtract(files)
        for f in [f for f, n in self.held.items() if n <= 0]:
            del self.held[f]


@dataclass
class UnitGraph:
    """Runnable units with dependencies expanded through groups (deps done before the run removed)."""

    done_before: set[str] = field(default_factory=set)
    units: dict[str, SchedUnit] = field(default_factory=dict)  # runnable units only
    groups: dict[str, SchedUnit | None] = field(default_factory=dict)
    ancestors: dict[str, list[str]] = field(default_factory=dict)  # runnable id -> groups, innermost first
    group_members: dict[str, set[str]] = field(default_factory=dict)  # group -> runnable descendants
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)  # runnable units; edge: dependency -> dependent
    deps: dict[str, set[str]] = field(default_factory=dict)  # derived from `graph`: predecessors
    dependents: dict[str, list[str]] = field(default_factory=dict)  # derived from `graph`: successors
    missing: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)  # given but done before the run
    topo: list[str] = field(default_factory=list)
    bottom: dict[str, float] = field(default_factory=dict)

    def add(self, batch: Iterable[SchedUnit]) -> list[str]:
        """Add units (the initial list, or follow-ups at run time). Returns the new runnable ids in
        dependency order. Raises DependencyError for duplicate ids or a cycle; nothing is added then."""
        batch = list(batch)
        ids = [s.id for s in batch]
        known = set(self.units) | set(self.groups) | self.skipped
        counts = Counter(ids)
        dups = sorted({i for i in ids if counts[i] > 1 or i in known}, key=id_key)
        if dups:
            raise DependencyError(f"duplicate unit ids: {', '.join(dups)}", problems=dups)
        by_id = {s.id: s for s in batch}
        parent_of = {s.id: str(s.parent) for s in batch if s.parent is not None}
        new_groups = {p for p in parent_of.values() if p not in self.groups}
        bad_parent = [p for p in new_groups if p in self.units]
        if bad_parent:
            raise DependencyError(f"a running unit cannot get subtasks: {', '.join(bad_parent)}")

        def chain(uid: str) -> list[str]:
            out, seen = [], {uid}
            p = parent_of.get(uid)
            while p is not None and p not in seen:
                out.append(p)
                seen.add(p)
                p = parent_of.get(p) or self._group_parent(p)
            return out

        runnable = [i for i in ids if i not in new_groups]
        added: list[SchedUnit] = []
        for g in new_groups:
            self.groups[g] = by_id.get(g)
            self.group_members.setdefault(g, set())
        for uid in runnable:
            anc = chain(uid)
            if uid in self.done_before or any(a in self.done_before for a in anc):
                self.skipped.add(uid)
                continue
            self.ancestors[uid] = anc
            for g in anc:
                self.group_members.setdefault(g, set()).add(uid)
            added.append(by_id[uid])
        for su in added:
            self.units[su.id] = su
            self.graph.add_node(su.id)
            self.files[su.id] = tuple(f for f in (norm_path(x) for x in su.unit.relevant_files) if f)
        for su in added:
            self._wire(su)
        try:
            order = self._toposort([s.id for s in added])
        except DependencyError:
            self._rollback([s.id for s in added], new_groups, ids)
            raise
        self.topo.extend(order)
        self._derive(order)
        self._compute_bottom()
        return order

    def _derive(self, added: list[str]) -> None:
        """Refresh the hot-path adjacency of the new units and of the units they depend on."""
        pred, succ = self.graph.pred, self.graph.succ
        touched = set(added)
        for u in added:
            self.deps[u] = set(pred[u])
            touched.update(pred[u])
        for u in touched:
            self.dependents[u] = list(succ[u])

    def _group_parent(self, g: str) -> str | None:
        su = self.groups.get(g)
        return str(su.parent) if su is not None and su.parent is not None else None

    def _known(self, dep: str) -> bool:
        return dep in self.done_before or dep in self.units or dep in self.groups or dep in self.skipped

    def _expand(self, dep: str) -> tuple[set[str], bool]:
        """Runnable ids a dependency stands for, and whether it is known at all."""
        if dep in self.units:
            return {dep}, True
        if dep in self.groups and dep not in self.done_before:
            return set(self.group_members.get(dep, ())), True
        return set(), self._known(dep)

    def _wire(self, su: SchedUnit) -> None:
        uid = su.id
        anc = self.ancestors[uid]
        raw = []
        for d in map(str, su.unit.dependencies):
            # like Task Master's `next`: a bare number in a subtask's deps names a sibling ("1" -> "P.1")
            sib = f"{anc[0]}.{d}" if anc and "." not in d else None
            raw.append(sib if sib is not None and sib != uid and self._known(sib) else d)
        for g in anc:
            gsu = self.groups.get(g)
            if gsu is not None:
                raw += [str(d) for d in gsu.unit.dependencies]
        deps: set[str] = set()
        missing: list[str] = []
        for d in raw:
            if d == uid or d in anc:
                continue
            got, known = self._expand(d)
            if not known and d not in missing:
                missing.append(d)
            deps |= got
        deps.discard(uid)
        if missing:
            self.missing[uid] = missing
        self.graph.add_edges_from((d, uid) for d in deps)

    def _toposort(self, ids: list[str]) -> list[str]:
        """The new units in dependency order, the smallest id first among those ready."""
        order: list[str] = []
        fresh = self.graph if len(ids) == len(self.graph) else self.graph.subgraph(ids)  # views are slower
        try:
            order.extend(nx.lexicographical_topological_sort(fresh, key=_tie_key))
        except nx.NetworkXUnfeasible:
            cycle = self._find_cycle(set(ids) - set(order))
            raise DependencyError("dependency cycle: " + " -> ".join(cycle), cycle=cycle) from None
        return order

    def _rollback(self, added: list[str], new_groups: set[str], ids: list[str]) -> None:
        self.graph.remove_nodes_from(added)
        for u in added:
            for g in self.ancestors.pop(u, []):
                self.group_members.get(g, set()).discard(u)
            for table in (self.units, self.missing, self.files):
                table.pop(u, None)
        for g in new_groups:
            self.groups.pop(g, None)
            self.group_members.pop(g, None)
        self.skipped.difference_update(ids)

    def _find_cycle(self, left: set[str]) -> list[str]:
        """A cycle among units left out of the order: from the smallest id, follow its smallest
        dependency that is left until an id repeats (deterministic, unlike a depth-first search)."""
        start = min(left, key=id_key)
        path, seen, u = [start], {start: 0}, start
        while True:
            u = min((d for d in self.graph.pred[u] if d in left), key=id_key)
            if u in seen:
                cyc = path[seen[u] :]
                return [*cyc, u]
            seen[u] = len(path)
            path.append(u)

    def weight(self, uid: str) -> float:
        est = self.units[uid].est_duration_s
        return est if est is not None and est >= 0 else self._default_w

    def _compute_bottom(self, weights: Mapping[str, float] | None = None) -> None:
        ests = [s.est_duration_s for s in self.units.values() if s.est_duration_s is not None]
        self._default_w = (sum(ests) / len(ests)) if ests else 1.0
        bottom: dict[str, float] = {}
        for u in reversed(self.topo):
            tail = max((bottom[v] for v in self.dependents.get(u, ())), default=0.0)
            bottom[u] = (weights[u] if weights and u in weights else self.weight(u)) + tail
        self.bottom = bottom

    def unreachable(self) -> set[str]:
        """Units with an unknown dependency, and everything that depends on them."""
        dead: set[str] = set()
        for u in self.missing:
            if u not in dead:  # else its descendants are in already
                dead |= nx.descendants(self.graph, u)
            dead.add(u)
        return dead

    def critical_path(self, among: Iterable[str] | None = None) -> list[str]:
        pool = set(self.units) if among is None else set(among)
        if not pool:
            return []
        u = min(pool, key=lambda x: (-self.bottom[x], id_key(x)))
        path = [u]
        while True:
            nxt = [v for v in self.dependents.get(u, ()) if v in pool]
            if not nxt:
                return path
            u = min(nxt, key=lambda x: (-self.bottom[x], id_key(x)))
            path.append(u)

    def ready_key(self, uid: str) -> tuple[int, float, IdKey, str]:
        """Heap key: priority, then longest remaining chain (descending), then id."""
        return (priority_rank(self.units[uid].unit.priority), -self.bottom[uid], id_key(uid), uid)


def _tie_key(uid: str) -> tuple[IdKey, str]:
    return id_key(uid), uid


def build_graph(units: Iterable[SchedUnit], done_before: Iterable[str] = ()) -> UnitGraph:
    g = UnitGraph(done_before={str(d) for d in done_before})
    g.add(units)
    return g


# --- dry-run preview ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewSlot:
    unit_id: str
    worker: int
    start: float
    end: float


@dataclass(frozen=True)
class Preview:
    order: list[str]  # dispatch order
    slots: list[PreviewSlot]
    critical_path: list[str]
    makespan: float
    lower_bound: float  # max(critical path, total work / workers)
    blocked: dict[str, list[str]]  # unit -> unknown dependencies that keep it (and its dependents) out


def schedule_preview(
    units: Iterable[SchedUnit],
    max_workers: int,
    durations: Mapping[str, float] | None = None,
    *,
    done_before: Iterable[str] = (),
    exclusive_files: bool = False,
) -> Preview:
    """Simulate the scheduler's list scheduling (no waves) with the given or estimated durations."""
    g = build_graph(units, done_before)
    dur = {u: float(durations[u]) if durations and u in durations else g.weight(u) for u in g.units}
    g._compute_bottom(dur)
    blocked = {u: list(m) for u, m in g.missing.items()}
    dead = g.unreachable()
    live = [u for u in g.topo if u not in dead]
    remaining = {u: len(g.deps[u]) for u in live}
    ready = [g.ready_key(u) for u in live if remaining[u] == 0]
    heapq.heapify(ready)
    running: list[tuple[float, str, int]] = []
    free = list(range(max(1, max_workers)))
    locks = FileLocks()
    now, order, slots = 0.0, [], []
    while ready or running:
        held = []
        while ready and free:
            key = heapq.heappop(ready)
            u = key[-1]
            if exclusive_files and locks.conflicts(g.files[u]):
                held.append(key)
                continue
            w = free.pop(0)
            locks.acquire(g.files[u])
            order.append(u)
            slots.append(PreviewSlot(u, w, now, now + dur[u]))
            heapq.heappush(running, (now + dur[u], u, w))
        for k in held:
            heapq.heappush(ready, k)
        if not running:
            break
        now, u, w = heapq.heappop(running)
        free.append(w)
        free.sort()
        locks.release(g.files[u])
        for v in g.dependents.get(u, ()):
            if v in remaining:
                remaining[v] -= 1
                if remaining[v] == 0:
                    heapq.heappush(ready, g.ready_key(v))
    cp = g.critical_path(live)
    cp_len = sum(dur[u] for u in cp)
    total = sum(dur[u] for u in live)
    return Preview(order, slots, cp, now if slots else 0.0, max(cp_len, total / max(1, max_workers)), blocked)
