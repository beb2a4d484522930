"""The dependency graph of one tag: validate, fix, next (task-master's getNextTask), ready set, critical path.

Units are top-level tasks ("N") and subtasks ("P.S"). networkx is imported only by the methods that need it,
so `task-master next`/`list` stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import DependencyError, NotFoundError
from .ids import id_key
from .model import PRIORITY_RANK, Subtask, TagData, Task

if TYPE_CHECKING:
    import networkx as nx

NEXT_STATUSES = ("pending", "in-progress", "done")


def dep_key(dep: int | str) -> str:
    return str(dep)


class TaskGraph:
    def __init__(self, tag_data: TagData) -> None:
        self.tag = tag_data
        self.units: dict[str, Task | Subtask] = {}
        for t in tag_data.tasks:
            self.units[t.uid] = t
            for s in t.subtasks:
                self.units[s.uid] = s

    # ------------------------------------------------------------ problems
    def _dep_problems(self) -> list[tuple[str, str, str]]:
        """(unit, dep, kind) for each unknown, self or duplicate dependency."""
        out: list[tuple[str, str, str]] = []
        for uid, unit in self.units.items():
            seen: set[str] = set()
            for d in unit.dependencies:
                key = dep_key(d)
                if key == uid:
                    out.append((uid, key, "self"))
                elif key in seen:
                    out.append((uid, key, "duplicate"))
                elif key not in self.units:
                    out.append((uid, key, "missing"))
                elif isinstance(unit, Subtask) and key == str(unit.parent_id):
                    out.append((uid, key, "parent"))
                seen.add(key)
        return out

    def dependency_digraph(self) -> nx.DiGraph:
        """Edges dep -> dependent for every known, non-self dependency."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(self.units)
        for uid, unit in self.units.items():
            for d in unit.dependencies:
                key = dep_key(d)
                if key != uid and key in self.units:
                    g.add_edge(key, uid)
        return g

    def cycles(self) -> list[list[str]]:
        """One cycle (as unit ids, closed) per strongly connected component that has one. Structure counts:
        a parent waits for its subtasks, and a subtask for its parent's dependencies."""
        import networkx as nx

        g = self.schedule_digraph()
        found: list[list[str]] = []
        for comp in nx.strongly_connected_components(g):
            if len(comp) < 2:
                continue
            start = min(comp, key=id_key)
            edges = nx.find_cycle(g.subgraph(comp), source=start)
            ids = [e[0] for e in edges]
            found.append([*ids, ids[0]])
        return sorted(found, key=lambda c: id_key(c[0]))

    def problems(self) -> list[str]:
        msgs = {
            "self": "{u} depends on itself",
            "duplicate": "{u} lists dependency {d} more than once",
            "missing": "{u} depends on missing task {d}",
            "parent": "subtask {u} depends on its own parent task {d}",
        }
        out = [msgs[kind].format(u=u, d=d) for u, d, kind in self._dep_problems()]
        out += ["cycle: " + " -> ".join(c) for c in self.cycles()]
        return out

    def check(self) -> None:
        problems = self.problems()
        if problems:
            cyc = self.cycles()
            raise DependencyError(
                f"{len(problems)} dependency problem(s) in tag '{self.tag.name}': " + "; ".join(problems),
                problems=problems,
                cycle=cyc[0] if cyc else (),
            )

    def fix(self) -> list[str]:
        """Remove missing, self, duplicate and parent dependencies, then break each cycle at its closing
        edge (what fix-dependencies does). Mutates the tag; returns what changed."""
        changes: list[str] = []
        for uid, key, kind in self._dep_problems():
            unit = self.units[uid]
            idx = next(i for i, d in enumerate(unit.dependencies) if dep_key(d) == key)
            if kind == "duplicate":
                idx = max(i for i, d in enumerate(unit.dependencies) if dep_key(d) == key)
            del unit.dependencies[idx]
            changes.append(f"removed {kind} dependency {key} from {uid}")
        while True:
            cycles = self.cycles()
            if not cycles:
                break
            for cyc in cycles:
                changes.append(self._break(cyc))
        return changes

    def _break(self, cyc: list[str]) -> str:
        """Remove the dependency closest to the cycle's end that makes it (a subtask's inherited one is
        removed from its parent)."""
        for i in range(len(cyc) - 2, -1, -1):
            dep, uid = cyc[i], cyc[i + 1]
            unit = self.units[uid]
            owner: Task | Subtask | None = unit if any(dep_key(d) == dep for d in unit.dependencies) else None
            if owner is None and isinstance(unit, Subtask):
                parent = self.tag.task(unit.parent_id)
                if parent is not None and any(dep_key(d) == dep for d in parent.dependencies):
                    owner = parent
            if owner is not None:
                owner.dependencies = [d for d in owner.dependencies if dep_key(d) != dep]
                return f"removed circular dependency {dep} from {owner.uid} (cycle: {' -> '.join(cyc)})"
        raise DependencyError(f"cannot break cycle {' -> '.join(cyc)}", cycle=cyc)

    # ------------------------------------------------------------ next (task-master's getNextTask)
    def next_task(self) -> Task | Subtask | None:
        tasks = [t for t in self.tag.tasks if t.status in NEXT_STATUSES]
        completed = {t.uid for t in tasks if t.status == "done"}
        completed |= {s.uid for t in tasks for s in t.subtasks if s.status == "done"}

        best: tuple[Any, ...] | None = None
        pick: Task | Subtask | None = None
        for t in tasks:
            if t.status != "in-progress" or not t.subtasks:
                continue
            for s in t.subtasks:
                if s.status not in ("pending", "in-progress"):
                    continue
                if all(dep_key(d) in completed for d in s.dependencies):
                    prio = PRIORITY_RANK.get(s.priority or t.priority or "medium", 2)
                    key = (-prio, len(s.dependencies), t.id, s.id)
                    if best is None or key < best:
                        best, pick = key, s
        if pick is not None:
            return pick
        for t in tasks:
            if t.status in ("pending", "in-progress") and all(
                dep_key(d) in completed for d in t.dependencies
            ):
                key = (-PRIORITY_RANK.get(t.priority, 2), len(t.dependencies), t.id, 0)
                if best is None or key < best:
                    best, pick = key, t
        return pick

    # ------------------------------------------------------------ scheduling helpers
    def _satisfied(self, unit: Task | Subtask, done: set[str]) -> bool:
        deps = [dep_key(d) for d in unit.dependencies]
        if isinstance(unit, Subtask):
            parent = self.tag.task(unit.parent_id)
            deps += [dep_key(d) for d in (parent.dependencies if parent else [])]
        return all(d in done for d in deps)

    def done_units(self, statuses: tuple[str, ...] = ("done",)) -> set[str]:
        done = {uid for uid, u in self.units.items() if u.status in statuses}
        # a task whose subtasks are all done counts as done for its dependents
        for t in self.tag.tasks:
            if t.subtasks and all(s.uid in done for s in t.subtasks):
                done.add(t.uid)
        return done

    def ready_units(self, done: set[str] | None = None) -> list[str]:
        """Pending leaf units (tasks without subtasks, and subtasks) whose dependencies — and, for a subtask,
        its parent's dependencies — are done. ``done`` adds ids finished in this run to those already done."""
        finished = self.done_units() | set(done or ())
        out: list[str] = []
        for t in self.tag.tasks:
            leaves: list[Task | Subtask] = list(t.subtasks) if t.subtasks else [t]
            for u in leaves:
                if u.status == "pending" and u.uid not in finished and self._satisfied(u, finished):
                    out.append(u.uid)
        return out

    def schedule_digraph(self) -> nx.DiGraph:
        """Dependencies plus structure: a parent waits for its subtasks, subtasks wait for the parent's deps."""
        g = self.dependency_digraph()
        for t in self.tag.tasks:
            for s in t.subtasks:
                if g.has_edge(s.uid, t.uid) or g.has_edge(t.uid, s.uid):
                    g.remove_edges_from([(t.uid, s.uid), (s.uid, t.uid)])
                g.add_edge(s.uid, t.uid)
                for d in t.dependencies:
                    if dep_key(d) in self.units and dep_key(d) != s.uid:
                        g.add_edge(dep_key(d), s.uid)
        return g

    def _weights(self, weights: dict[str, float] | None, remaining: bool) -> dict[str, float]:
        done = self.done_units() if remaining else set()
        w: dict[str, float] = {}
        for uid, u in self.units.items():
            has_subs = isinstance(u, Task) and bool(u.subtasks)
            base = 0.0 if has_subs else 1.0
            w[uid] = 0.0 if uid in done else float((weights or {}).get(uid, base))
        return w

    def _acyclic(self) -> nx.DiGraph:
        import networkx as nx

        g = self.schedule_digraph()
        if not nx.is_directed_acyclic_graph(g):
            self.check()
            raise DependencyError(f"tag '{self.tag.name}': subtasks and parents form a cycle")
        return g

    def critical_path_length(self, weights: dict[str, float] | None = None, remaining: bool = False) -> float:
        """Longest weighted chain (default weight 1 per leaf unit). ``remaining`` counts unfinished units only."""
        import networkx as nx

        g = self._acyclic()
        w = self._weights(weights, remaining)
        best: dict[str, float] = {}
        for n in nx.topological_sort(g):
            best[n] = w[n] + max((best[p] for p in g.predecessors(n)), default=0.0)
        return max(best.values(), default=0.0)

    def remaining_chain_length(self, unit_id: str, weights: dict[str, float] | None = None) -> float:
        """Longest chain of unfinished work from ``unit_id`` (inclusive) through everything that waits on it."""
        import networkx as nx

        if unit_id not in self.units:
            raise NotFoundError(f"task {unit_id} not found in tag '{self.tag.name}'")
        g = self._acyclic()
        w = self._weights(weights, remaining=True)
        sub = g.subgraph(nx.descendants(g, unit_id) | {unit_id})
        best: dict[str, float] = {}
        for n in reversed(list(nx.topological_sort(sub))):
            best[n] = w[n] + max((best[c] for c in sub.successors(n)), default=0.0)
        return best[unit_id]

    def topological_order(self) -> list[str]:
        import networkx as nx

        g = self._acyclic()
        return list(nx.lexicographical_topological_sort(g, key=id_key))
