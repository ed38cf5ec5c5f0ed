import copy

from django.db import transaction
from django.utils import timezone

from nodeworks_server.errors import InvalidInput
from nodeworks_server.storable_text import unstorable_text
from workflows import selectors
from workflows.lifecycle import reuse as reuse_step
from workflows.lifecycle import run_queued
from workflows.models import Run, TagSet, Task, TaskDependency, TaskState
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


@transaction.atomic
def run_create(
    *, user, workflow, revision: str | None = None, inputs: dict | None = None, reuse: bool = True,
    rerun_from: list[str] | None = None,
) -> Run:
    """A run pinned to one revision, one task per node: tasks without parents are created queued, the
    others pending (the lifecycle queues them as their parents succeed). With `reuse`, a node whose
    inputs match an earlier success takes its outputs (lifecycle/reuse.py), except `forcerun` nodes
    and the `rerun_from` nodes with their descendants."""
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
    children: dict[str, set[str]] = {name: set() for name in graph.nodes}
    for link in graph.connections:
        src_node, src_terminal = link.source
        dst_node, dst_terminal = link.destination
        sources[dst_node].setdefault(dst_terminal, []).append([src_node, src_terminal, link.feedback])
        if not link.feedback:
            parents[dst_node].add(src_node)
            children[src_node].add(dst_node)

    requirements = {name: _merged_requirements(defaults, node) for name, node in graph.nodes.items()}
    tagset_ids = _tagsets({",".join(req["tags"]) for req in requirements.values()})
    now = timezone.now()
    run = Run.objects.create(
        workflow=workflow, revision=sha, created_by=user, input_overrides=inputs or {}, reuse=reuse,
        rerun_from=list(rerun_from or []),
    )
    # NW-REUSE: which nodes may reuse, and the digests of the roots (queued at once)
    forced = reuse_step.forced_nodes(nodes=graph.nodes, edges=graph.edges(), rerun_from=rerun_from or [])
    feedback = reuse_step.feedback_outputs(
        workflow_id=workflow.pk, before=run.created,
        nodes={src for name in graph.nodes if not parents[name] for terminal in sources[name].values()
               for src, _, is_feedback in terminal if is_feedback},
    )
    digests = {
        name: reuse_step.root_digest(
            node=overridden.get(name, node), requirements=requirements[name], sources=sources[name],
            feedback=feedback, saved={**graph.nodes, **overridden},
        )
        for name, node in graph.nodes.items()
        if not parents[name]
    }
    tasks = Task.objects.bulk_create(
        Task(
            run=run,
            owner_id=workflow.owner_id,
            node=name,
            path=node["path"],
            node_data=overridden.get(name, node),
            input_sources=sources[name],
            requirements=requirements[name],
            executor=requirements[name]["executor"],
            tagset_id=tagset_ids[",".join(requirements[name]["tags"])],
            max_retries=requirements[name]["retries"],
            priority=plan.critical_path[name],
            pending_parents=len(parents[name]),
            child_count=len(children[name]),
            state=TaskState.PENDING if parents[name] else TaskState.QUEUED,
            queued_at=None if parents[name] else now,
            input_digest=digests.get(name, ""),
            may_reuse=reuse and name not in forced,
        )
        for name, node in graph.nodes.items()
    )
    task_ids = {task.node: task.pk for task in tasks}
    TaskDependency.objects.bulk_create(
        TaskDependency(run=run, parent_id=task_ids[parent], child_id=task_ids[child])
        for child, names in parents.items()
        for parent in names
    )
    reuse_step.run_created(run=run, queued_ids=[task.pk for task in tasks if task.state == TaskState.QUEUED])  # NW-REUSE
    run_queued(run_id=run.pk, task_count=len(tasks))
    return run
