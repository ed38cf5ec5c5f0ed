"""Duration estimates and the forward pass over a workflow's DAG (pure; nothing from Django).

`duration(levels, default)` turns recent durations into a median and a p90 from the most specific
level that has samples. `simulate(...)` places every node on the slots of the runners that fit it:
tasks already running hold their slot for what remains of them, tasks queued ahead (other runs)
take slots first, and then the workflow's nodes go in the order they become ready, the one with
the longest remaining critical path first among those ready at once, each on the slot that frees
first. This is the list scheduling the queue itself does (SPEC.md "Priority"), so the estimated start
and finish of each node, and the workflow's finish, follow the same rule as the real run.

Everything is iterative, O((V + E) log V + V·R) for R fitting runners.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["Duration", "Node", "Runner", "Schedule", "duration", "quantile", "remaining", "simulate"]

TODO, RUNNING, DONE, NEVER = "todo", "running", "done", "never"


@dataclass(frozen=True)
class Duration:
    median: float
    p90: float
    samples: int
    basis: str  # the level the samples come from: "exact", "path", "group", or "default"


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def duration(levels: Iterable[tuple[str, Sequence[float]]], default: float) -> Duration:
    """The first level (most specific first) with samples gives the median and p90; else the default."""
    for basis, values in levels:
        if values:
            ordered = sorted(values)
            return Duration(quantile(ordered, 0.5), quantile(ordered, 0.9), len(ordered), basis)
    return Duration(default, default, 0, "default")


def remaining(estimate: float, elapsed: float, floor: float) -> float:
    """What is left of a running task: its estimate less what it has run, never less than `floor`
    (a task past its estimate is about to end, not already over)."""
    return max(estimate - elapsed, floor)


@dataclass(frozen=True)
class Runner:
    key: Hashable
    tags: tuple[str, ...]
    executors: tuple[str, ...]
    slots: int


@dataclass(frozen=True)
class Node:
    name: Hashable
    duration: float  # from its start; for a running node, what remains of it
    kind: Hashable  # what decides which runners fit it, e.g. (tags, executor)
    state: str = TODO  # todo | running (holds a slot now) | done (finished) | never (will not run)
    priority: float | None = None  # the queue's (remaining critical path); None: computed here, as run_create does
    runner: Hashable | None = None  # the runner holding a running node


@dataclass
class Schedule:
    start: dict = field(default_factory=dict)  # node → offset in seconds from now (None: cannot be placed)
    finish: dict = field(default_factory=dict)
    end: float | None = 0.0  # the workflow's finish; None when some node can never be placed
    critical_path: list = field(default_factory=list)  # the chain of nodes that ends last
    unplaced: int = 0  # nodes no runner online fits (or downstream of one)


class _Slots:
    """Each runner's slots as a heap of the times they free up."""

    def __init__(self, runners: Sequence[Runner]):
        self.runners = list(runners)
        self.free = [[0.0] * max(1, runner.slots) for runner in self.runners]
        self.index = {runner.key: i for i, runner in enumerate(self.runners)}
        self._fitting: dict = {}

    def fitting(self, kind, fits: Callable[[Hashable, Runner], bool]) -> list[int]:
        found = self._fitting.get(kind)
        if found is None:
            found = self._fitting[kind] = [i for i, runner in enumerate(self.runners) if fits(kind, runner)]
        return found

    def take(self, candidates: list[int], ready: float, length: float) -> tuple[float, float]:
        """The slot that frees first among the candidates' (the earliest start); returns (start, finish)."""
        best = min(candidates, key=lambda i: self.free[i][0])
        start = max(ready, self.free[best][0])
        heapq.heapreplace(self.free[best], start + length)
        return start, start + length

    def hold(self, key, length: float) -> bool:
        i = self.index.get(key)
        if i is None:
            return False
        heapq.heapreplace(self.free[i], max(self.free[i][0], 0.0) + length)
        return True


def simulate(
    nodes: Sequence[Node],
    edges: Iterable[tuple[Hashable, Hashable]],
    runners: Sequence[Runner],
    fits: Callable[[Hashable, Runner], bool],
    ahead: Sequence[Node] = (),
) -> Schedule:
    """Offsets from now. `ahead`: other runs' tasks, running (on their runner) or queued, served first."""
    slots = _Slots(runners)
    schedule = Schedule()

    # What holds a slot now: running tasks, ours and others', for what remains of them.
    for node in [*ahead, *nodes]:
        if node.state == RUNNING and not slots.hold(node.runner, node.duration):
            candidates = slots.fitting(node.kind, fits)
            if candidates:
                slots.take(candidates, 0.0, node.duration)
    # Then the queue ahead, highest priority first, as leases take it.
    for node in sorted((n for n in ahead if n.state == TODO), key=lambda n: -(n.priority or 0.0)):
        candidates = slots.fitting(node.kind, fits)
        if candidates:
            slots.take(candidates, 0.0, node.duration)

    index = {node.name: i for i, node in enumerate(nodes)}
    children: list[list[int]] = [[] for _ in nodes]
    parents: list[list[int]] = [[] for _ in nodes]
    waiting = [0] * len(nodes)
    seen = set()
    for parent, child in edges:
        pair = (index[parent], index[child])
        if pair in seen:
            continue
        seen.add(pair)
        children[pair[0]].append(pair[1])
        parents[pair[1]].append(pair[0])
        waiting[pair[1]] += 1

    priority = [node.priority for node in nodes]
    if any(p is None for p in priority):
        _critical_path_counts(priority, children, waiting)

    start: list[float | None] = [None] * len(nodes)
    finish: list[float | None] = [None] * len(nodes)
    ready_at = [0.0] * len(nodes)
    blocked = [False] * len(nodes)  # downstream of a node that will never finish
    heap = [(0.0, -priority[i], i) for i in range(len(nodes)) if waiting[i] == 0]
    heapq.heapify(heap)
    while heap:
        ready, _, i = heapq.heappop(heap)
        node = nodes[i]
        if blocked[i] or node.state == NEVER:
            blocked[i] = True
        elif node.state == DONE:
            start[i], finish[i] = 0.0, 0.0
        elif node.state == RUNNING:
            start[i], finish[i] = 0.0, node.duration
        else:
            candidates = slots.fitting(node.kind, fits)
            if candidates:
                start[i], finish[i] = slots.take(candidates, ready, node.duration)
            else:
                blocked[i] = True
        for child in children[i]:
            if blocked[i]:
                blocked[child] = True
            else:
                ready_at[child] = max(ready_at[child], finish[i])
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(heap, (ready_at[child], -priority[child], child))

    for i, node in enumerate(nodes):
        schedule.start[node.name] = start[i]
        schedule.finish[node.name] = finish[i]
    schedule.unplaced = sum(1 for i, node in enumerate(nodes) if blocked[i] and node.state != NEVER)
    if schedule.unplaced:
        schedule.end = None
    elif nodes:
        last = max((i for i in range(len(nodes)) if finish[i] is not None), key=lambda i: finish[i], default=None)
        schedule.end = finish[last] if last is not None else 0.0
        path = []
        while last is not None:
            path.append(nodes[last].name)
            placed = [p for p in parents[last] if finish[p] is not None]
            last = max(placed, key=lambda p: finish[p]) if placed else None
        schedule.critical_path = path[::-1]
    return schedule


def _critical_path_counts(priority: list, children: list[list[int]], waiting: list[int]) -> None:
    """Fills the missing priorities with the number of nodes on the longest path from each node to a
    sink (workflows/dag.py's critical path with unit weights, the priority run_create gives tasks)."""
    indegree = list(waiting)
    order = [i for i, d in enumerate(indegree) if d == 0]
    for i in order:  # grows while it is walked: Kahn's algorithm
        for child in children[i]:
            indegree[child] -= 1
            if indegree[child] == 0:
                order.append(child)
    longest = [0.0] * len(priority)
    for i in reversed(order):
        longest[i] = 1.0 + max((longest[c] for c in children[i]), default=0.0)
        if priority[i] is None:
            priority[i] = longest[i]
