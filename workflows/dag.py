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
    count = len(names)
    index = dict(zip(names, range(count), strict=True))
    if len(index) != count:
        raise ValueError("duplicate node names")

    # Integer indices are faster than string keys and give the input-order tie-break; a pair of
    # indices is one integer (source * count + destination), cheaper to hash than a tuple.
    succ: list[list[int]] = [[] for _ in names]
    indegree = [0] * count
    seen: set[int] = set()
    for source, destination in edges:
        try:
            u, v = index[source], index[destination]
        except KeyError as exc:
            raise KeyError(
                f"edge {source!r} -> {destination!r} names an unknown node"
            ) from exc
        # Two connections between the same nodes are one dependency.
        pair = u * count + v
        if pair in seen:
            continue
        seen.add(pair)
        succ[u].append(v)
        indegree[v] += 1

    # Kahn's algorithm with a min-heap: among ready nodes the earliest given goes first.
    ready = [i for i, d in enumerate(indegree) if d == 0]
    heapq.heapify(ready)
    pop, push = heapq.heappop, heapq.heappush
    level = [0] * count
    order: list[int] = []
    while ready:
        u = pop(ready)
        order.append(u)
        below = level[u] + 1
        for v in succ[u]:
            if level[v] < below:
                level[v] = below
            indegree[v] -= 1
            if indegree[v] == 0:
                push(ready, v)

    if len(order) != count:
        raise CycleError(_find_cycle(names, succ, indegree, {divmod(pair, count) for pair in seen}))

    levels: list[list[str]] = [[] for _ in range(max(level, default=-1) + 1)]
    for name, depth in zip(names, level, strict=True):
        levels[depth].append(name)

    weight = [1.0] * count
    if weights:
        for name, w in weights.items():
            if name in index:
                weight[index[name]] = float(w)
    # Sinks first: each node's successors are final before the node itself.
    longest = [0.0] * count
    at = longest.__getitem__
    for u in reversed(order):
        below = succ[u]
        longest[u] = weight[u] + max(map(at, below)) if below else weight[u]

    return Plan(
        order=[names[i] for i in order],
        levels=levels,
        critical_path=dict(zip(names, longest, strict=True)),
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
