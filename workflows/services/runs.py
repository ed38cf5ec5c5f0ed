import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import orjson
from django.db import connection, transaction
from django.utils import timezone

from nodeworks_server.errors import InvalidInput
from nodeworks_server.gc_pause import gc_paused
from nodeworks_server.storable_text import unstorable_text
from workflows import selectors
from workflows.lifecycle import reuse as reuse_step
from workflows.lifecycle import run_queued
from workflows.models import Run, TagSet, Task, TaskState
from workflows.nodeworks_format import Graph


def _split_override(graph: Graph, key: str) -> tuple[str, str]:
    """"node.terminal" where node names may hold dots themselves ("float.0.float")."""
    matches = []
    for cut in range(len(key)):
        if key[cut] == "." and key[:cut] in graph.nodes and key[cut + 1 :] in graph.nodes[key[:cut]]["terminals"]:
            matches.append((key[:cut], key[cut + 1 :]))
    if len(matches) != 1:
        reason = "is ambiguous" if matches else "names no node terminal"
        raise InvalidInput(f"input override {key!r} {reason} (expected 'node.terminal')", field="inputs")
    return matches[0]


def _apply_overrides(graph: Graph, overrides: dict) -> dict[str, dict]:
    """Copies of the node objects with overridden terminal values; the file's objects stay untouched."""
    connected = {c.destination for c in graph.connections}
    nodes = {}
    for key, value in overrides.items():
        node_name, terminal_name = _split_override(graph, key)
        problem = unstorable_text(value, "its value")
        if problem is not None:
            raise InvalidInput(f"{key!r}: {problem}", field="inputs")
        node = graph.nodes[node_name]
        opts = node["terminals"][terminal_name]["opts"]
        has_inputs = any(t["opts"].get("in", False) for t in node["terminals"].values())
        if opts.get("in", False) and (node_name, terminal_name) in connected:
            raise InvalidInput(f"{key!r} is connected; only unconnected inputs can be overridden", field="inputs")
        if not opts.get("in", False) and has_inputs:
            raise InvalidInput(f"{key!r} is an output of a node with inputs; it is computed, not set", field="inputs")
        if node_name not in nodes:
            nodes[node_name] = copy.deepcopy(node)
        nodes[node_name]["terminals"][terminal_name]["value"] = value
    return nodes


def _tagsets(keys: set[str]) -> dict[str, int]:
    existing = dict(TagSet.objects.filter(key__in=keys).values_list("key", "id"))
    missing = [TagSet(key=key, tags=key.split(",") if key else []) for key in keys - existing.keys()]
    if missing:
        TagSet.objects.bulk_create(missing, ignore_conflicts=True)
        existing = dict(TagSet.objects.filter(key__in=keys).values_list("key", "id"))
    return existing


def _merged_requirements(defaults: dict, node: dict) -> dict:
    merged = {**defaults, **(node.get("requirements") or {})}
    merged["tags"] = sorted(set(merged.get("tags") or []))
    merged.setdefault("executor", "local")
    merged.setdefault("retries", 0)
    return merged


def _requirements_of(defaults: dict) -> Callable[[dict], dict]:
    """_merged_requirements per node, with one shared result for all the nodes without requirements of
    their own (most of them; nothing changes a task's requirements once merged)."""
    plain = _merged_requirements(defaults, {})
    return lambda node: _merged_requirements(defaults, node) if node.get("requirements") else plain


@dataclass(frozen=True)
class RunPlan:
    """What a run will be, prepared outside any transaction: the pinned revision, one row per task (in
    the file's node order) and the dependencies by node name."""

    sha: str
    tasks: list[dict]
    edges: list[tuple[str, str]]  # (parent, child), one per pair


def run_prepare(
    *, workflow, revision: str | None = None, inputs: dict | None = None, reuse: bool = True,
    rerun_from: list[str] | None = None,
) -> RunPlan:
    """Git reads, parsing, overrides and planning: the slow part of a run, done before the transaction
    opens (on SQLite a write transaction holds the database's only write lock). With `reuse`, the roots'
    input digests are computed here too (lifecycle/reuse.py), and `forcerun` nodes and the
    `rerun_from` nodes with their descendants are marked as never reusing."""
    with gc_paused():  # one row dict per task, and maybe the file's objects: nothing cyclic (gc_pause.py)
        return _run_prepare(workflow=workflow, revision=revision, inputs=inputs, reuse=reuse, rerun_from=rerun_from)


def _run_prepare(*, workflow, revision: str | None, inputs: dict | None, reuse: bool, rerun_from: list[str] | None) -> RunPlan:
    sha = selectors.revision_resolve(workflow=workflow, revision=revision)
    graph = selectors.workflow_graph(workflow=workflow, sha=sha)
    defaults = selectors.workflow_requirements(workflow=workflow, sha=sha)
    overridden = _apply_overrides(graph, inputs or {})
    # NW-REUSE: rerun_from names nodes of this revision
    unknown = [name for name in (rerun_from or []) if name not in graph.nodes]
    if unknown:
        raise InvalidInput(f"rerun_from: no node named {unknown[0]!r} in revision {sha[:10]}", field="rerun_from")
    plan = graph.plan()

    sources: dict[str, dict[str, list]] = {name: {} for name in graph.nodes}
    parents: dict[str, set[str]] = {name: set() for name in graph.nodes}
    children: dict[str, int] = dict.fromkeys(graph.nodes, 0)
    edges: list[tuple[str, str]] = []
    for link in graph.connections:
        src_node, src_terminal = link.source
        dst_node, dst_terminal = link.destination
        sources[dst_node].setdefault(dst_terminal, []).append([src_node, src_terminal, link.feedback])
        if not link.feedback and src_node not in parents[dst_node]:
            parents[dst_node].add(src_node)
            children[src_node] += 1
            edges.append((src_node, dst_node))

    # NW-REUSE: which nodes may reuse, and the digests of the roots (queued at once)
    forced = reuse_step.forced_nodes(nodes=graph.nodes, edges=graph.edges(), rerun_from=rerun_from or [])
    saved = {**graph.nodes, **overridden}
    feedback = reuse_step.feedback_outputs(
        workflow_id=workflow.pk, before=timezone.now(),
        nodes={src for name in graph.nodes if not parents[name] for terminal in sources[name].values()
               for src, _, is_feedback in terminal if is_feedback},
    )

    tasks = []
    requirements_of = _requirements_of(defaults)
    for name, node in graph.nodes.items():
        requirements = requirements_of(node)
        digest = ""
        if not parents[name]:  # also without reuse: a later run may reuse this one's results
            digest = reuse_step.root_digest(
                node=overridden.get(name, node), requirements=requirements, sources=sources[name],
                feedback=feedback, saved=saved,
            )
        tasks.append(
            {
                "node": name,
                "path": node["path"],
                "node_data": overridden.get(name, node),
                "input_sources": sources[name],
                "requirements": requirements,
                "executor": requirements["executor"],
                "tags": ",".join(requirements["tags"]),
                "max_retries": requirements["retries"],
                "priority": plan.critical_path[name],
                "pending_parents": len(parents[name]),
                "child_count": children[name],
                "state": TaskState.PENDING if parents[name] else TaskState.QUEUED,
                "input_digest": digest,
                "may_reuse": reuse and name not in forced,
            }
        )
    return RunPlan(sha=sha, tasks=tasks, edges=edges)


def run_create(
    *, user, workflow, revision: str | None = None, inputs: dict | None = None, reuse: bool = True,
    rerun_from: list[str] | None = None,
) -> Run:
    """A run pinned to one revision, one task per node: tasks without parents are created queued, the
    others pending (the lifecycle queues them as their parents succeed). With `reuse`, a node whose
    inputs match an earlier success takes its outputs (lifecycle/reuse.py), except `forcerun` nodes
    and the `rerun_from` nodes with their descendants."""
    # One pause for both steps, ended once the rows are gone: the collection that follows a pause then
    # has little left to walk (it walked a million objects, 0.3 s, after each step of 100,000 nodes).
    with gc_paused():
        prepared = run_prepare(workflow=workflow, revision=revision, inputs=inputs, reuse=reuse, rerun_from=rerun_from)
        run = run_insert(
            user=user, workflow=workflow, prepared=prepared, inputs=inputs or {}, reuse=reuse, rerun_from=rerun_from or [],
        )
        del prepared
    return run


@transaction.atomic
def run_insert(
    *, user, workflow, prepared: RunPlan, inputs: dict, reuse: bool = True, rerun_from: list[str] | None = None,
) -> Run:
    """The run, its tasks and their dependencies, in a fixed number of statements whatever the size."""
    with gc_paused():
        return _run_insert(user=user, workflow=workflow, prepared=prepared, inputs=inputs, reuse=reuse, rerun_from=rerun_from)


def _run_insert(*, user, workflow, prepared: RunPlan, inputs: dict, reuse: bool, rerun_from: list[str] | None) -> Run:
    tagset_ids = _tagsets({task["tags"] for task in prepared.tasks})
    run = Run.objects.create(
        workflow=workflow, revision=prepared.sha, created_by=user, input_overrides=inputs, reuse=reuse,
        rerun_from=list(rerun_from or []),
    )
    if connection.vendor == "postgresql":
        _copy_tasks(run=run, owner_id=workflow.owner_id, prepared=prepared, tagset_ids=tagset_ids)
    else:
        _insert_tasks_sqlite(run=run, owner_id=workflow.owner_id, prepared=prepared, tagset_ids=tagset_ids)
    if (
        reuse and any(task["may_reuse"] and task["state"] == TaskState.QUEUED for task in prepared.tasks)
        # Nothing to reuse from before this workflow's first success: no need to look for each root's
        # digest among earlier tasks (0.5 s for 20,000 roots).
        and Task.objects.filter(run__workflow=workflow, state=TaskState.SUCCEEDED).exists()
    ):
        reuse_step.run_created(run=run)  # NW-REUSE
    run_queued(run_id=run.pk, task_count=len(prepared.tasks))
    return run


def _copy_tasks(*, run: Run, owner_id: int, prepared: RunPlan, tagset_ids: dict[str, int]) -> None:
    """PostgreSQL: the tasks and their dependencies by COPY, with ids taken from the sequence first, so
    the dependencies need no answer from the insert. COPY parses each row's text once, where the INSERT
    ... SELECT FROM jsonb_to_recordset before parsed one 5 MB document, took it apart and built each
    jsonb again: 20,000 tasks took 0.35 s of PostgreSQL's time instead of 1.0 s."""
    queued_at = timezone.now().isoformat()
    shared: dict[int, str] = {}

    def copy_json_shared(value) -> str:
        # Most tasks share one requirements object (run_prepare); keyed by identity while `prepared` holds them.
        text = shared.get(id(value))
        if text is None:
            text = shared[id(value)] = _copy_json(value)
        return text

    with connection.cursor() as cursor:
        cursor.execute(_TASK_IDS, [len(prepared.tasks)])
        ids = [row[0] for row in cursor.fetchall()]
        head = f"\t{run.pk}\t{owner_id}\t"
        lines = (
            # The columns of _COPY_COLUMNS in COPY's text format: JSON text holds no raw tab, newline or
            # carriage return (its strings escape them), so its backslashes are all there is to escape.
            f"{task_id}{head}{_copy_text(task['node'])}\t{_copy_json(task['path'])}\t{_copy_json(task['node_data'])}\t"
            f"{_copy_json(task['input_sources'])}\t{copy_json_shared(task['requirements'])}\t{task['executor']}\t"
            f"{tagset_ids[task['tags']]}\t{float(task['priority'])!r}\t{task['state']}\t{task['pending_parents']}\t"
            f"{task['child_count']}\t{task['max_retries']}\t{queued_at if task['state'] == TaskState.QUEUED else _NULL}\t"
            f"{task['input_digest']}\t{'t' if task['may_reuse'] else 'f'}\t1\t0\t0\tf\t\n"
            for task_id, task in zip(ids, prepared.tasks, strict=True)
        )
        _copy(cursor, f"COPY workflows_task ({_COPY_COLUMNS}) FROM STDIN", lines)
        if prepared.edges:
            task_ids = {task["node"]: task_id for task, task_id in zip(prepared.tasks, ids, strict=True)}
            edges = (f"{run.pk}\t{task_ids[parent]}\t{task_ids[child]}\n" for parent, child in prepared.edges)
            _copy(cursor, "COPY workflows_taskdependency (run_id, parent_id, child_id) FROM STDIN", edges)


def _copy(cursor, statement: str, lines: Iterable[str], batch: int = 5_000) -> None:
    """The lines sent a batch at a time, not joined into one text (100,000 tasks: 40 MB of lines and 40
    MB more for their join). psycopg's own cursor (Django's has no COPY), its errors turned into
    Django's as execute() does: a database gone mid-call is then the 503 of db_outage.py, not a 500."""
    with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
        for chunk in _batched(lines, batch):
            copy.write("".join(chunk))


def _batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_TASK_IDS = "SELECT nextval(pg_get_serial_sequence('workflows_task', 'id')) FROM generate_series(1, %s)"
_NULL = "\\N"
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _copy_text(value: str) -> str:
    if _COPY_SPECIAL.search(value) is None:
        return value
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_json(value) -> str:
    # orjson: 4 values a task, 80,000 for 20,000 tasks, 0.5 s with json's encoder. jsonb keeps values,
    # not text, so orjson's own spelling of a float (1e-5) is the same value.
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # an integer past 64 bits
        text = _ENCODE(value)
    return text.replace("\\", "\\\\")


def _insert_tasks_sqlite(*, run: Run, owner_id: int, prepared: RunPlan, tagset_ids: dict[str, int]) -> None:
    # The JSON columns as the JSONField writes them (json.dumps's text): json_extract would store its own
    # minified text, and SQLite compares JSON columns as text.
    rows = [
        {**task, "tagset_id": tagset_ids[task["tags"]], **{column: json.dumps(task[column]) for column in _JSON_COLUMNS}}
        for task in prepared.tasks
    ]
    queued_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        # One statement each, the rows handed over as one JSON document: no model instance, field
        # preparation or parameter per task (bulk_create of 20,000 tasks took 6.5-7.3 s here).
        cursor.execute(_INSERT_TASKS, {"run": run.pk, "owner": owner_id, "queued_at": queued_at, "rows": _json(rows)})
        if prepared.edges:
            cursor.execute(_INSERT_DEPENDENCIES, {"run": run.pk, "edges": _json(prepared.edges)})


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_TASK_COLUMNS = (
    "run_id, owner_id, node, path, node_data, input_sources, requirements, executor, tagset_id, priority, state, "
    "pending_parents, child_count, attempt, failures, lost_leases, max_retries, cancel_requested, queued_at, error, "
    "input_digest, may_reuse"
)

_JSON_COLUMNS = ("path", "node_data", "input_sources", "requirements")

_COPY_COLUMNS = (
    "id, run_id, owner_id, node, path, node_data, input_sources, requirements, executor, tagset_id, priority, state, "
    "pending_parents, child_count, max_retries, queued_at, input_digest, may_reuse, attempt, failures, lost_leases, "
    "cancel_requested, error"
)

# json_extract, not ->>: SQLite before 3.38 has no JSON operators.
_INSERT_TASKS = f"""
    INSERT INTO workflows_task ({_TASK_COLUMNS})
    SELECT %(run)s, %(owner)s, json_extract(value, '$.node'), json_extract(value, '$.path'),
           json_extract(value, '$.node_data'), json_extract(value, '$.input_sources'),
           json_extract(value, '$.requirements'), json_extract(value, '$.executor'),
           json_extract(value, '$.tagset_id'), json_extract(value, '$.priority'), json_extract(value, '$.state'),
           json_extract(value, '$.pending_parents'), json_extract(value, '$.child_count'), 1, 0, 0,
           json_extract(value, '$.max_retries'), 0,
           CASE WHEN json_extract(value, '$.state') = 'queued' THEN %(queued_at)s END, '',
           json_extract(value, '$.input_digest'), json_extract(value, '$.may_reuse')
    FROM json_each(%(rows)s)
    ORDER BY key
"""  # noqa: S608 - a constant column list

# SQLite's RETURNING needs 3.35; the (run, node) unique index finds the ids instead.
_INSERT_DEPENDENCIES = """
    INSERT INTO workflows_taskdependency (run_id, parent_id, child_id)
    SELECT %(run)s, parent.id, child.id
    FROM json_each(%(edges)s) AS edge
    CROSS JOIN workflows_task parent  -- CROSS: SQLite keeps the edges as the outer loop, else it scans per task
    CROSS JOIN workflows_task child
    WHERE parent.run_id = %(run)s AND parent.node = json_extract(edge.value, '$[0]')
      AND child.run_id = %(run)s AND child.node = json_extract(edge.value, '$[1]')
"""
