"""Reads for duration estimates: history, the runners that fit, the queue ahead; the model does the rest.

SPEC.md "Estimates". A node's duration comes from the recent successful tasks of the same owner
(capped at ESTIMATE_SAMPLES per level): the same node of the same workflow with the same path and
executor, in its latest ESTIMATE_NODE_RUNS runs (two Command nodes share a path but not a duration),
else the same path, executor and requirements, else the same path, else the same node group (the path's first element),
else ESTIMATE_DEFAULT_S. A sample is the
time a task held its runner's slot: from the runner's start to its finish (its lease when the runner
sent no start). Not from the lease: a runner with `--prefetch` leases tasks ahead of its free slots,
and a prefetched task waits in the runner, holding no slot, for as long as the task before it runs.
Reused tasks did not run and are no sample.

The server does not know a runner's `--concurrency`: a runner's slots are the most tasks it was seen
running at once among its recent tasks (started to finished, for the same reason), else
ESTIMATE_RUNNER_SLOTS (the runner's own default).

Queries: a fixed number whatever the size of the workflow (history in one windowed query for every
path at once, the workflow's own nodes in one, runners' recent tasks in one, the queue ahead in one).
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import DurationField, ExpressionWrapper, F, TextField, Window
from django.db.models.functions import Cast, Coalesce, RowNumber
from django.utils import timezone

from workflows import estimate_model, runner_facts, selectors
from workflows.lifecycle import tags_fit
from workflows.models import HELD_TASK_STATES, Run, Task, TaskDependency, TaskState, Workflow

# One rule for "workflow defaults overridden by the node's own", the one run_create applies.
from workflows.services.runs import _merged_requirements as merged_requirements

_NEVER = (TaskState.FAILED, TaskState.CANCELLED, TaskState.UPSTREAM_FAILED)


def _requirements_key(requirements: dict) -> str:
    # Retries do not change how long one attempt takes.
    return json.dumps({k: v for k, v in (requirements or {}).items() if k != "retries"}, sort_keys=True)


def _key(path, executor: str, requirements: dict) -> tuple:
    return (tuple(path or ()), executor, _requirements_key(requirements))


def _sample(leased_at, started, finished) -> float | None:
    begun = started or leased_at
    if begun is None or finished is None:
        return None
    return max((finished - begun).total_seconds(), 0.0)


@functools.lru_cache(maxsize=4096)
def _path_text(path: tuple) -> str:
    # As both databases print a JSON list of strings (SQLite keeps json.dumps's text, jsonb prints the same).
    # Cached: asked twice per node, and thousands of nodes share a handful of paths (json.dumps was a
    # tenth of a 5,000-node estimate).
    return json.dumps(list(path))


def _recent(samples: list[tuple], cap: int) -> list[float]:
    """The latest `cap` of (when, seconds) samples, newest first (tuples sort without a key function)."""
    samples.sort(reverse=True)
    return [seconds for _, seconds in samples[:cap]]


class History:
    """Recent samples by level; `duration(key, node)` picks the most specific level that has some."""

    def __init__(self, *, by_node: dict, by_key: dict, by_path: dict, by_group: dict):
        cap = settings.ESTIMATE_SAMPLES
        # Sorted once per level and key: thousands of nodes share a handful of paths. by_node comes
        # sorted (_node_samples), and may be shared between estimates: read only.
        self.by_node = by_node
        self.by_key = {key: _recent(samples, cap) for key, samples in by_key.items()}
        self.by_path = {key: _recent(samples, cap) for key, samples in by_path.items()}
        self.by_group = {key: _recent(samples, cap) for key, samples in by_group.items()}
        self._shared: dict[tuple, estimate_model.Duration] = {}

    def duration(self, key: tuple, node: str | None = None) -> estimate_model.Duration:
        own = self.by_node.get((node, _path_text(key[0]), key[1])) if node is not None else None
        if own:
            # Nodes run as often as their workflow: many share the same few samples.
            memo = self._shared.get(("node", *own))
            if memo is None:
                memo = self._shared[("node", *own)] = estimate_model.duration([("node", own)], settings.ESTIMATE_DEFAULT_S)
            return memo
        found = self._shared.get(key)
        if found is None:
            levels = [
                ("exact", self.by_key.get(key, [])),
                ("path", self.by_path.get(key[0], [])),
                ("group", self.by_group.get(key[0][0] if key[0] else "", [])),
            ]
            found = self._shared[key] = estimate_model.duration(levels, settings.ESTIMATE_DEFAULT_S)
        return found


def _samples_of(owner_id: int):
    """The owner's tasks that are duration samples: succeeded, run (not reused), with a finish."""
    return Task.objects.filter(
        owner_id=owner_id, state=TaskState.SUCCEEDED, reused_from__isnull=True, finished__isnull=False
    ).order_by()


# workflow → (its latest runs as (id, state, finished), samples per node): kept while those runs are
# all final. A final run's tasks do not change (a requeue makes the run running again, which changes
# the key), so only a new run or a run that ends costs the 25,000-row read again for 5,000 nodes, the
# largest part of an estimate.
_NODE_SAMPLES: OrderedDict[int, tuple] = OrderedDict()
_NODE_SAMPLES_KEPT = 64
_node_samples_lock = threading.Lock()


def _node_samples(*, owner_id: int, workflow_id: int) -> dict[tuple, list[float]]:
    """The workflow's own samples per (node, path text, executor), newest first, from its latest
    ESTIMATE_NODE_RUNS runs (read only: possibly shared)."""
    latest = tuple(
        Run.objects.filter(workflow_id=workflow_id).order_by("-created", "-id")
        .values_list("id", "state", "finished")[: settings.ESTIMATE_NODE_RUNS]
    )
    if not latest:
        return {}
    with _node_samples_lock:
        kept = _NODE_SAMPLES.get(workflow_id)
        if kept is not None and kept[0] == latest:
            _NODE_SAMPLES.move_to_end(workflow_id)
            return kept[1]
    # One row per node and run, thousands of them: the database subtracts the times and the path
    # comes as text (parsing three datetimes and a JSON list per row cost more than the query).
    rows = (
        _samples_of(owner_id)
        .filter(run_id__in=[run_id for run_id, _, _ in latest])
        .annotate(
            held=ExpressionWrapper(F("finished") - Coalesce("started", "leased_at"), output_field=DurationField()),
            path_text=Cast("path", TextField()),
        )
        .filter(held__isnull=False)
        .values_list("node", "path_text", "executor", "run_id", "held")
    )
    samples: dict[tuple, list[tuple]] = defaultdict(list)
    for node, path_text, executor, run_id, held in rows:
        samples[(node, path_text, executor)].append((run_id, max(held.total_seconds(), 0.0)))
    cap = settings.ESTIMATE_SAMPLES
    found = {key: _recent(values, cap) for key, values in samples.items()}
    if all(state in Run.FINAL_STATES for _, state, _ in latest):
        with _node_samples_lock:
            _NODE_SAMPLES[workflow_id] = (latest, found)
            _NODE_SAMPLES.move_to_end(workflow_id)
            while len(_NODE_SAMPLES) > _NODE_SAMPLES_KEPT:
                _NODE_SAMPLES.popitem(last=False)
    return found


def history(*, owner_id: int, keys: set[tuple], workflow_id: int | None = None,
            nodes: list[tuple[str, tuple]] = ()) -> History:
    """With `workflow_id`, this workflow's own samples per node, from its latest ESTIMATE_NODE_RUNS runs
    (one query); then the owner's recent successes for every path of the groups that still need them
    (one windowed query, capped per path): those of `keys` (tasks of other runs), and those of the
    workflow's `nodes` (name, key) that have no sample of their own.

    In that order because the second query is the costly one (it ranks every success of the owner in
    those groups) and a workflow that has run before needs it only for what is new or ahead of it."""
    cap = settings.ESTIMATE_SAMPLES
    by_node: dict[tuple, list[float]] = {}
    by_key: dict[tuple, list[tuple]] = defaultdict(list)
    by_path: dict[tuple, list[tuple]] = defaultdict(list)
    by_group: dict[str, list[tuple]] = defaultdict(list)
    if workflow_id is not None:
        by_node = _node_samples(owner_id=owner_id, workflow_id=workflow_id)
    wanted = set(keys)
    wanted.update(key for name, key in nodes if (name, _path_text(key[0]), key[1]) not in by_node)
    groups = {key[0][0] for key in wanted if key[0]}
    if groups:
        rows = (
            _samples_of(owner_id).filter(path__0__in=sorted(groups))
            .annotate(rank=Window(RowNumber(), partition_by=[F("path")], order_by=[F("finished").desc(), F("id").desc()]))
            .filter(rank__lte=cap)
            .values_list("path", "executor", "requirements", "leased_at", "started", "finished")
        )
        for path, executor, requirements, leased_at, started, finished in rows:
            seconds = _sample(leased_at, started, finished)
            if seconds is None:
                continue
            key = _key(path, executor, requirements)
            by_key[key].append((finished, seconds))
            by_path[key[0]].append((finished, seconds))
            by_group[key[0][0] if key[0] else ""].append((finished, seconds))
    return History(by_node=by_node, by_key=by_key, by_path=by_path, by_group=by_group)


def runner_slots(*, names: list[str]) -> dict[str, int]:
    """Each runner's most tasks running at once among its recent finished tasks (one query); a runner
    with none finished yet: the tasks it holds now; absent: no history."""
    if not names:
        return {}
    rows = (
        Task.objects.filter(runner__name__in=names, leased_at__isnull=False)
        .order_by("-leased_at")
        .values_list("runner__name", "leased_at", "started", "finished", "state")[: settings.ESTIMATE_SAMPLES * 20]
    )
    events: dict[str, list[tuple]] = defaultdict(list)
    holding: dict[str, int] = defaultdict(int)
    for name, leased_at, started, finished, state in rows:
        if finished is None:
            # Whether a held task runs or waits prefetched in the runner, the server learns only
            # from its result: counted only for a runner that has nothing finished to go by.
            holding[name] += state in HELD_TASK_STATES
            continue
        begun = started or leased_at
        if finished < begun:
            continue
        events[name].append((begun, 1))
        events[name].append((finished, -1))
    peaks = {name: max(count, 1) for name, count in holding.items() if count}
    for name, points in events.items():
        running = peak = 0
        for _, step in sorted(points, key=lambda p: (p[0], p[1])):  # an end before a start at the same time
            running += step
            peak = max(peak, running)
        peaks[name] = max(peak, 1)
    return peaks


def _runners(owner_id: int, facts: list[runner_facts.RunnerFacts] | None) -> list[estimate_model.Runner]:
    facts = runner_facts.runners_serving(owner_id) if facts is None else facts
    # An idle runner waits in a long-poll of up to LEASE_MAX_WAIT_S between calls, so it may look
    # offline (the online window is two heartbeats) while it is about to take work: counted here.
    since = timezone.now() - timedelta(seconds=settings.LEASE_MAX_WAIT_S + 2 * settings.RUNNER_HEARTBEAT_INTERVAL_S)
    usable = [
        runner for runner in facts
        if runner.accepting and (runner.online or (runner.last_seen is not None and runner.last_seen >= since))
    ]
    slots = runner_slots(names=[runner.name for runner in usable])
    return [
        estimate_model.Runner(
            key=runner.name, tags=tuple(runner.tags), executors=tuple(runner.executors),
            slots=slots.get(runner.name, settings.ESTIMATE_RUNNER_SLOTS),
        )
        for runner in usable
    ]


def _fits(kind: tuple, runner: estimate_model.Runner) -> bool:
    tags, executor = kind
    return executor in runner.executors and tags_fit(list(tags), runner.tags)


def _ahead(*, owner_id: int, exclude_run: int | None) -> list[dict]:
    """Other runs' queued and held tasks of this owner: they take the slots first."""
    tasks = Task.objects.filter(owner_id=owner_id, state__in=[TaskState.QUEUED, *HELD_TASK_STATES])
    if exclude_run is not None:
        tasks = tasks.exclude(run_id=exclude_run)
    rows = list(
        tasks.order_by("-priority", "id").values(
            "path", "executor", "requirements", "state", "priority", "runner__name", "leased_at", "tagset__tags",
            "pending_parents",
        )[: settings.ESTIMATE_MAX_AHEAD]
    )
    for row in rows:
        row["state"] = _waiting_or(row["state"], row.pop("pending_parents"))
    return rows


def _waiting_or(state: str, pending_parents: int) -> str:
    """A chain link leased with its parent (lifecycle/segments.py) waits for it, as a pending task would."""
    return TaskState.PENDING if state in HELD_TASK_STATES and pending_parents else state


@dataclass(frozen=True)
class NodeEstimate:
    start: datetime | None
    finish: datetime | None
    start_s: float | None
    finish_s: float | None
    duration: estimate_model.Duration


@dataclass(frozen=True)
class Estimate:
    now: datetime
    finish: datetime | None
    finish_s: float | None
    nodes: dict[str, NodeEstimate]
    critical_path: list[str]
    runners: int
    slots: int
    ahead: int
    unplaced: int


def _at(now: datetime, offset: float | None) -> datetime | None:
    return None if offset is None else now + timedelta(seconds=offset)


def _round(offset: float | None) -> float | None:
    return None if offset is None else round(offset, 3)


def _estimate(
    *, owner_id: int, workflow_id: int, own: list[dict], edges: list[tuple[str, str]], now: datetime,
    exclude_run: int | None, facts: list[runner_facts.RunnerFacts] | None = None,
) -> Estimate:
    """`own`: the workflow's nodes as {name, path, executor, requirements, tags, state, priority, elapsed, runner}."""
    ahead = _ahead(owner_id=owner_id, exclude_run=exclude_run)
    for item in (*own, *ahead):
        if "key" not in item:
            item["key"] = _key(item["path"], item["executor"], item["requirements"])
    past = history(
        owner_id=owner_id, keys={item["key"] for item in ahead}, workflow_id=workflow_id,
        nodes=[(item["name"], item["key"]) for item in own],
    )
    known = {n["name"]: past.duration(n["key"], n["name"]) for n in own}
    runners = _runners(owner_id, facts)
    floor = settings.ESTIMATE_MIN_REMAINING_S

    def model_node(name, item, elapsed_since) -> estimate_model.Node:
        estimate = known[name] if name in known else past.duration(item["key"])
        state, length = item["state"], estimate.median
        if state in HELD_TASK_STATES:
            elapsed = (now - elapsed_since).total_seconds() if elapsed_since else 0.0
            state, length = estimate_model.RUNNING, estimate_model.remaining(estimate.median, elapsed, floor)
        elif state == TaskState.SUCCEEDED:
            state = estimate_model.DONE
        elif state in _NEVER:
            state = estimate_model.NEVER
        else:
            state = estimate_model.TODO
        return estimate_model.Node(
            name=name, duration=length, kind=(tuple(item["tags"]), item["executor"]), state=state,
            priority=item["priority"], runner=item.get("runner"),
        )

    nodes = [model_node(n["name"], n, n.get("elapsed_since")) for n in own]
    others = [
        model_node(("ahead", i), {**t, "tags": t["tagset__tags"] or [], "runner": t["runner__name"]}, t["leased_at"])
        for i, t in enumerate(ahead)
    ]
    schedule = estimate_model.simulate(nodes, edges, runners, _fits, ahead=others)
    per_node = {
        n["name"]: NodeEstimate(
            start=_at(now, schedule.start[n["name"]]), finish=_at(now, schedule.finish[n["name"]]),
            start_s=_round(schedule.start[n["name"]]), finish_s=_round(schedule.finish[n["name"]]),
            duration=known[n["name"]],
        )
        for n in own
    }
    return Estimate(
        now=now, finish=_at(now, schedule.end), finish_s=_round(schedule.end), nodes=per_node,
        critical_path=schedule.critical_path, runners=len(runners), slots=sum(r.slots for r in runners),
        ahead=len(ahead), unplaced=schedule.unplaced,
    )


_SHAPES: OrderedDict[tuple, tuple] = OrderedDict()  # (repo, sha) → (nodes, edges); a revision never changes
_SHAPES_KEPT = 16
_shapes_lock = threading.Lock()


def _revision_shape(*, workflow: Workflow, sha: str) -> tuple[list[dict], list[tuple[str, str]]]:
    """A revision's nodes (path, executor, requirements) and ordering edges. The stored file was
    validated when it was published: read, not parsed again (validation and planning cost more than
    the whole estimate of a large workflow; the model computes the priorities), and kept for the
    next estimate of the same revision (the web app asks again and again)."""
    key = (str(workflow.repo_key), sha)
    with _shapes_lock:
        if key in _SHAPES:
            _SHAPES.move_to_end(key)
            return _SHAPES[key]
    document = json.loads(selectors.workflow_file(workflow=workflow, sha=sha))
    defaults = selectors.workflow_requirements(workflow=workflow, sha=sha)
    nodes, edges = [], []
    for name, obj in document.items():
        if obj.get("type") == "Node":
            requirements = merged_requirements(defaults, obj)
            nodes.append({
                "name": name, "path": obj["path"], "executor": requirements["executor"], "requirements": requirements,
                "tags": requirements["tags"], "key": _key(obj["path"], requirements["executor"], requirements),
            })
        elif obj.get("type") == "Connection" and not obj.get("feedback", False):
            edges.append((obj["input"][0], obj["output"][0]))
    with _shapes_lock:
        _SHAPES[key] = (nodes, edges)
        while len(_SHAPES) > _SHAPES_KEPT:
            _SHAPES.popitem(last=False)
    return nodes, edges


def workflow_estimate(*, workflow: Workflow, revision: str | None = None) -> tuple[str, Estimate]:
    """Before execution: every node of the revision (latest when None) still to run."""
    sha = selectors.revision_resolve(workflow=workflow, revision=revision)
    nodes, edges = _revision_shape(workflow=workflow, sha=sha)
    own = [{**node, "state": TaskState.QUEUED, "priority": None} for node in nodes]
    estimate = _estimate(
        owner_id=workflow.owner_id, workflow_id=workflow.pk, own=own, edges=edges, now=timezone.now(), exclude_run=None,
    )
    return sha, estimate


def run_estimate(*, run: Run, tasks: list[Task], runners: list | None, now: datetime) -> Estimate | None:
    """Live, for the status payload of a running run (None otherwise, or past ESTIMATE_MAX_NODES)."""
    if run.state != "running" or not tasks or len(tasks) > settings.ESTIMATE_MAX_NODES:
        return None
    own = [
        {
            "name": task.node, "path": task.path, "executor": task.executor, "requirements": task.requirements,
            "tags": task.tagset.tags, "state": _waiting_or(task.state, task.pending_parents),
            "priority": task.priority, "runner": task.runner.name if task.runner_id else None,
            "elapsed_since": task.leased_at or task.started,
        }
        for task in tasks
    ]
    by_id = {task.pk: task.node for task in tasks}
    edges = [
        (by_id[parent], by_id[child])
        for parent, child in TaskDependency.objects.filter(run=run).values_list("parent_id", "child_id")
    ]
    return _estimate(
        owner_id=tasks[0].owner_id, workflow_id=run.workflow_id, own=own, edges=edges, now=now, exclude_run=run.pk,
        facts=runners,
    )


__all__ = ["Estimate", "History", "NodeEstimate", "history", "run_estimate", "runner_slots", "workflow_estimate"]
