"""Graph algorithms over a workflow's nodes: topological order, levels, critical path.

Everything is iterative and O(V + E) (plus a heap for deterministic ordering), because
workflows may hold 100,000 nodes in one chain and Python's recursion limit is ~1,000.
"""

from __future__ import annotations

import graphlib
import heapq
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

__all__ = ["CycleError", "Plan", "closure", "descendants", "plan"]


class CycleError(ValueError):
    """The edges hold a cycle; ``cycle`` lists one, first node repeated at the end."""

    def __init__(self, cycle: list[str]):
        self.cycle = list(cycle)
        super().__init__("cycle: " + " -> ".join(self.cycle))


@dataclass(frozen=True)
class Plan:
    order: list[str]
    levels: list[list[str]]
    critical_path: dict[str, float]

    def as_dict(self) -> dict:
        return {
            "order": list(self.order),
            "levels": [list(level) for level in self.levels],
            "critical_path": dict(self.critical_path),
        }


def plan(
    nodes: Iterable[str],
    edges: Iterable[tuple[str, str]],
    weights: Mapping[str, float] | None = None,
) -> Plan:
    names = list(nodes)
    index = {name: i for i, name in enumerate(names)}
    if len(index) != len(names):
        raise ValueError("duplicate node names")

    # Integer indices are faster than string keys and give the input-order tie-break.
    succ: list[list[int]] = [[] for _ in names]
    indegree = [0] * len(names)
    seen: set[tuple[int, int]] = set()
    for source, destination in edges:
        try:
            pair = (index[source], index[destination])
        except KeyError as exc:
            raise KeyError(
                f"edge {source!r} -> {destination!r} names an unknown node"
            ) from exc
        # Two connections between the same nodes are one dependency.
        if pair in seen:
            continue
        seen.add(pair)
        succ[pair[0]].append(pair[1])
        indegree[pair[1]] += 1

    # Kahn's algorithm with a min-heap: among ready nodes the earliest given goes first.
    ready = [i for i, d in enumerate(indegree) if d == 0]
    heapq.heapify(ready)
    level = [0] * len(names)
    order: list[int] = []
    while ready:
        u = heapq.heappop(ready)
        order.append(u)
        for v in succ[u]:
            level[v] = max(level[v], level[u] + 1)
            indegree[v] -= 1
            if indegree[v] == 0:
                heapq.heappush(ready, v)

    if len(order) != len(names):
        raise CycleError(_find_cycle(names, succ, indegree, seen))

    levels: list[list[str]] = [[] for _ in range(max(level, default=-1) + 1)]
    for i, name in enumerate(names):
        levels[level[i]].append(name)

    weight = [1.0] * len(names)
    if weights:
        for name, w in weights.items():
            if name in index:
                weight[index[name]] = float(w)
    # Sinks first: each node's successors are final before the node itself.
    longest = [0.0] * len(names)
    for u in reversed(order):
        longest[u] = weight[u] + max((longest[v] for v in succ[u]), default=0.0)

    return Plan(
        order=[names[i] for i in order],
        levels=levels,
        critical_path={names[i]: longest[i] for i in range(len(names))},
    )


def _find_cycle(
    names: list[str],
    succ: list[list[int]],
    indegree: list[int],
    edges: set[tuple[int, int]],
) -> list[str]:
    """One cycle among the nodes Kahn's algorithm could not emit.

    graphlib's cycle search is iterative, so deep graphs are safe.
    """
    sorter: graphlib.TopologicalSorter[int] = graphlib.TopologicalSorter()
    stuck = [u for u, d in enumerate(indegree) if d > 0]
    for u in stuck:
        sorter.add(u)
    for u in stuck:
        for v in succ[u]:
            sorter.add(v, u)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])
    else:  # pragma: no cover - Kahn's algorithm only stops early on a cycle
        raise AssertionError("no cycle found among stuck nodes")
    if cycle[0] != cycle[-1]:
        cycle.append(cycle[0])
    # graphlib documents the direction loosely; make the list follow the edges.
    if any((a, b) not in edges for a, b in itertools.pairwise(cycle)):
        cycle.reverse()
    return [names[i] for i in cycle]


def descendants(edges: Iterable[tuple[str, str]] | Iterable[tuple[int, int]], starts: Iterable) -> set:
    """Every node reachable from any of `starts` along the edges, in one pass; iterative. A start is
    in the answer only if it descends from another start."""
    children: dict = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)
    seen: set = set()
    stack = [child for start in starts for child in children.get(start, ())]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(children.get(node, ()))
    return seen


def closure(edges: Iterable[tuple], start: Iterable, *, up: Callable[[object], bool], down: Callable[[object], bool]) -> set:
    """`start` plus every node reachable by stepping to parents that satisfy `up` and to children that
    satisfy `down`, transitively; iterative."""
    parents: dict = {}
    children: dict = {}
    for parent, child in edges:
        parents.setdefault(child, []).append(parent)
        children.setdefault(parent, []).append(child)
    seen: set = set()
    stack = list(start)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(parent for parent in parents.get(node, ()) if up(parent))
        stack.extend(child for child in children.get(node, ()) if down(child))
    return seen
