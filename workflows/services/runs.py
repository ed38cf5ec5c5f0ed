import copy
import json
from dataclasses import dataclass

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
    for name, node in graph.nodes.items():
        requirements = _merged_requirements(defaults, node)
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
    prepared = run_prepare(workflow=workflow, revision=revision, inputs=inputs, reuse=reuse, rerun_from=rerun_from)
    return run_insert(
        user=user, workflow=workflow, prepared=prepared, inputs=inputs or {}, reuse=reuse, rerun_from=rerun_from or [],
    )


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
    rows = [{**task, "tagset_id": tagset_ids[task["tags"]]} for task in prepared.tasks]
    if connection.vendor == "sqlite":
        # The JSON columns as the JSONField writes them (json.dumps's text): json_extract would store
        # its own minified text, and SQLite compares JSON columns as text.
        rows = [{**row, **{column: json.dumps(row[column]) for column in _JSON_COLUMNS}} for row in rows]
    queued_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        # One statement each, the rows handed over as one JSON document: no model instance, field
        # preparation or parameter per task (bulk_create of 20,000 tasks took 6.5-7.3 s here).
        cursor.execute(
            _INSERT_TASKS[connection.vendor],
            {"run": run.pk, "owner": workflow.owner_id, "queued_at": queued_at, "rows": _json(rows)},
        )
        if connection.vendor == "postgresql":
            # The new ids come back with their nodes; joining the edges to the task table instead was
            # planned as a nested loop over a jsonb function's 100-row guess (66 s for 15,000 edges).
            task_ids = dict(cursor.fetchall())
            edges = [[task_ids[parent], task_ids[child]] for parent, child in prepared.edges]
        else:
            edges = prepared.edges
        if edges:
            cursor.execute(_INSERT_DEPENDENCIES[connection.vendor], {"run": run.pk, "edges": _json(edges)})
    if (
        reuse and any(task["may_reuse"] and task["state"] == TaskState.QUEUED for task in prepared.tasks)
        # Nothing to reuse from before this workflow's first success: no need to look for each root's
        # digest among earlier tasks (0.5 s for 20,000 roots).
        and Task.objects.filter(run__workflow=workflow, state=TaskState.SUCCEEDED).exists()
    ):
        reuse_step.run_created(run=run)  # NW-REUSE
    run_queued(run_id=run.pk, task_count=len(rows))
    return run


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_TASK_COLUMNS = (
    "run_id, owner_id, node, path, node_data, input_sources, requirements, executor, tagset_id, priority, state, "
    "pending_parents, child_count, attempt, failures, lost_leases, max_retries, cancel_requested, queued_at, error, "
    "input_digest, may_reuse"
)

_JSON_COLUMNS = ("path", "node_data", "input_sources", "requirements")

_INSERT_TASKS = {
    "postgresql": f"""
        INSERT INTO workflows_task ({_TASK_COLUMNS})
        SELECT %(run)s, %(owner)s, r.node, r.path, r.node_data, r.input_sources, r.requirements, r.executor,
               r.tagset_id, r.priority, r.state, r.pending_parents, r.child_count, 1, 0, 0, r.max_retries, false,
               CASE WHEN r.state = 'queued' THEN %(queued_at)s::timestamptz END, '', r.input_digest, r.may_reuse
        FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
            node text, path jsonb, node_data jsonb, input_sources jsonb, requirements jsonb, executor text,
            tagset_id bigint, priority double precision, state text, pending_parents integer, child_count integer,
            max_retries integer, input_digest text, may_reuse boolean)
        RETURNING node, id
    """,  # noqa: S608 - a constant column list
    # json_extract, not ->>: SQLite before 3.38 has no JSON operators.
    "sqlite": f"""
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
    """,  # noqa: S608 - a constant column list
}

_INSERT_DEPENDENCIES = {
    "postgresql": """
        INSERT INTO workflows_taskdependency (run_id, parent_id, child_id)
        SELECT %(run)s, (edge ->> 0)::bigint, (edge ->> 1)::bigint FROM jsonb_array_elements(%(edges)s::jsonb) AS edge
    """,
    # SQLite's RETURNING needs 3.35; the (run, node) unique index finds the ids instead.
    "sqlite": """
        INSERT INTO workflows_taskdependency (run_id, parent_id, child_id)
        SELECT %(run)s, parent.id, child.id
        FROM json_each(%(edges)s) AS edge
        CROSS JOIN workflows_task parent  -- CROSS: SQLite keeps the edges as the outer loop, else it scans per task
        CROSS JOIN workflows_task child
        WHERE parent.run_id = %(run)s AND parent.node = json_extract(edge.value, '$[0]')
          AND child.run_id = %(run)s AND child.node = json_extract(edge.value, '$[1]')
    """,
}
