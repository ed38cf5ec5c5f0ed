"""Reuse of unchanged results: a task that becomes ready may take an earlier task's outputs instead of running.

When a task becomes ready (created queued, or released when its last parent succeeded) its input
digest is computed (workflows/input_digest.py) and stored. If the task may reuse (its node has no
`forcerun`, it is not in a `rerun_from` closure, its run was not started with `reuse: false`) and an
earlier succeeded task of the same node of the same workflow has the same digest, it becomes succeeded at once with
that task's outputs and `reused_from` naming the task that produced them (artifacts are not copied:
their provenance keeps pointing at the producer), and its children are released and looked at in
turn. All this happens inside the transaction that made the tasks ready, before any runner can see
them queued, in a number of queries that depends on the depth of what is reused, not on its width.

Hooks (marked `NW-REUSE`): services/runs.py `run_create` (roots) and outcomes.py `tasks_succeed`
(released children).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.utils import timezone

from workflows import dag
from workflows.input_digest import forcerun, input_digest
from workflows.inputs import assemble_inputs
from workflows.models import Run, Task, TaskDependency, TaskState
from workflows.queue_events import notify_queued

# ---------------------------------------------------------------- at run creation


def forced_nodes(*, nodes: Mapping[str, dict], edges: Iterable[tuple[str, str]], rerun_from: Iterable[str]) -> set[str]:
    """Nodes that run whatever their inputs: `forcerun` nodes, and the `rerun_from` nodes with their descendants."""
    starts = list(rerun_from)
    forced = set(starts) | dag.descendants(edges, starts)
    forced.update(name for name, node in nodes.items() if forcerun(node))
    return forced


def feedback_outputs(*, workflow_id: int, before, nodes: set[str]) -> dict[str, dict]:
    """For feedback sources: each node's outputs in the latest earlier run where it succeeded (one query)."""
    if not nodes:
        return {}
    found: dict[str, dict] = {}
    rows = (
        Task.objects.filter(run__workflow_id=workflow_id, run__created__lt=before, node__in=nodes, state=TaskState.SUCCEEDED)
        .order_by("node", "-run__created", "-run_id")
        .values_list("node", "outputs")
    )
    for node, outputs in rows:
        found.setdefault(node, outputs or {})
    return found


def root_digest(*, node: dict, requirements: dict, sources: dict, feedback: Mapping[str, dict], saved: Mapping[str, dict]) -> str:
    """The digest of a task without parents: its saved values, and feedback values from the previous run
    (else the source's saved value, as the payload does)."""
    values = {}
    for terminal_sources in sources.values():
        for src, terminal, is_feedback in terminal_sources:
            if is_feedback:
                previous = feedback.get(src)
                if previous is not None and terminal in previous:
                    values[(src, terminal)] = previous[terminal]
                else:
                    values[(src, terminal)] = ((saved.get(src) or {}).get("terminals", {}).get(terminal) or {}).get("value")
    inputs = assemble_inputs(node=node, sources=sources, upstream={}, feedback=values)
    return input_digest(node=node, requirements=requirements, inputs=inputs)


def run_created(*, run: Run) -> None:
    """NW-REUSE hook of run_create, inside its transaction: the roots (created queued, digests set)
    that may reuse an earlier result do."""
    if run.reuse:
        roots = Task.objects.filter(run=run, state=TaskState.QUEUED, may_reuse=True)
        wanted = [(pk, digest, run.workflow_id, node) for pk, digest, node in roots.values_list("pk", "input_digest", "node")]
        _reuse_ready(run_ids=[run.pk], wanted=wanted)


# ---------------------------------------------------------------- released children


def tasks_released(released: tuple[int, ...]) -> tuple[int, ...]:
    """NW-REUSE hook of tasks_succeed, inside its transaction: the children just queued get their
    digest; those that may reuse an earlier result do. Returns the ids that stay queued (with the
    children queued by what was reused)."""
    if not released:
        return released
    tasks = list(
        Task.objects.filter(pk__in=released, state=TaskState.QUEUED)
        .select_related("run")
        .only("pk", "run_id", "node", "node_data", "input_sources", "requirements", "may_reuse",
              "run__workflow_id", "run__created", "run__reuse")
    )
    if not tasks:
        return released
    _store_digests(tasks)
    reusing = [task for task in tasks if task.may_reuse and task.run.reuse]
    if not reusing:
        return released
    reused = _reuse_ready(
        run_ids=sorted({task.run_id for task in reusing}),
        wanted=[(task.pk, task.input_digest, task.run.workflow_id, task.node) for task in reusing],
    )
    if not reused:
        return released
    queued = Task.objects.filter(pk__in=[*released, *reused["released"]], state=TaskState.QUEUED)
    return tuple(queued.values_list("pk", flat=True))


def tasks_digested(task_ids: list[int]) -> None:
    """NW-REUSE hook for chain links (segments.py), which ran without passing through the queue:
    their digest is stored once their parent's outputs are, so a later run may reuse them."""
    if not task_ids:
        return
    _store_digests(list(
        Task.objects.filter(pk__in=task_ids)
        .select_related("run")
        .only("pk", "run_id", "node", "node_data", "input_sources", "requirements", "may_reuse",
              "run__workflow_id", "run__created", "run__reuse")
    ))


def _store_digests(tasks: list[Task]) -> None:
    """Each task's digest from the outputs of its parents (one joined query) and its own values."""
    upstream: dict[int, dict[str, dict]] = defaultdict(dict)
    for child_id, parent_node, outputs in TaskDependency.objects.filter(child_id__in=[t.pk for t in tasks]).values_list(
        "child_id", "parent__node", "parent__outputs"
    ):
        upstream[child_id][parent_node] = outputs or {}
    for task in tasks:
        feedback = {}
        if any(is_feedback for sources in task.input_sources.values() for _, _, is_feedback in sources):
            from workflows.lifecycle.payloads import _feedback_value  # the payload's own rule, not a copy

            feedback = {
                (src, terminal): _feedback_value(task, src, terminal)
                for sources in task.input_sources.values()
                for src, terminal, is_feedback in sources
                if is_feedback
            }
        inputs = assemble_inputs(node=task.node_data, sources=task.input_sources, upstream=upstream[task.pk], feedback=feedback)
        task.input_digest = input_digest(node=task.node_data, requirements=task.requirements, inputs=inputs)
    Task.objects.bulk_update(tasks, ["input_digest"])


# ---------------------------------------------------------------- the reuse itself


def _reuse_ready(*, run_ids: list[int], wanted: list[tuple[int, str, int, str]]) -> dict:
    """Queued tasks that may reuse, as (id, digest stored, workflow id, node): those whose digest matches
    an earlier succeeded task of the same node of the same workflow become succeeded with its outputs; their children are
    released and, digested, looked at in turn. Returns {"reused": ids, "released": ids still queued}."""
    all_reused: list[int] = []
    all_released: list[int] = []
    now = timezone.now()
    while wanted:
        sources = _sources(wanted)
        if not sources:
            break
        reused = {}
        for pk, digest, workflow_id, node in wanted:
            source = sources.get((workflow_id, node, digest))
            if source is not None:
                reused[pk] = source
        if not reused:
            break
        rows = [Task(pk=pk, reused_from=source) for pk, source in reused.items()]
        Task.objects.bulk_update(rows, ["reused_from"])
        producer = Task.objects.filter(pk=OuterRef("reused_from")).values("outputs")[:1]
        Task.objects.filter(pk__in=list(reused), state=TaskState.QUEUED).update(
            state=TaskState.SUCCEEDED, outputs=Subquery(producer), started=now, finished=now, error="",
            runner=None, lease_id=None,
        )
        all_reused.extend(reused)
        released = _release_children(list(reused), now=now)
        if not released:
            break
        children = list(
            Task.objects.filter(pk__in=released, state=TaskState.QUEUED)
            .select_related("run")
            .only("pk", "run_id", "node", "node_data", "input_sources", "requirements", "may_reuse",
                  "run__workflow_id", "run__created", "run__reuse")
        )
        _store_digests(children)
        all_released.extend(released)
        wanted = [
            (task.pk, task.input_digest, task.run.workflow_id, task.node)
            for task in children if task.may_reuse and task.run.reuse
        ]
    if all_reused:
        Run.objects.filter(pk__in=run_ids, started__isnull=True).update(started=now)
        transaction.on_commit(notify_queued)
    return {"reused": all_reused, "released": all_released}


def _sources(wanted: list[tuple[int, str, int, str]]) -> dict[tuple[int, str, str], int]:
    """(workflow, node, digest) → the task that produced those outputs, from the latest earlier success of
    that node (one query).

    The same node only, never another node that happens to have the same digest: two nodes a user drew
    are two executions (a chain of `shell/Command` nodes appending to a file, ten Integer nodes of the
    same value), and the digest leaves side effects out. A node appears once in a run, so a match is
    always from an earlier run."""
    digests = {digest for _, digest, _, _ in wanted if digest}
    workflows = {workflow_id for _, _, workflow_id, _ in wanted}
    nodes = {node for _, _, _, node in wanted}
    if not digests:
        return {}
    found: dict[tuple[int, str, str], int] = {}
    rows = (
        Task.objects.filter(
            input_digest__in=digests, node__in=nodes, state=TaskState.SUCCEEDED, run__workflow_id__in=workflows
        )
        .order_by("-finished", "-pk")
        .values_list("pk", "input_digest", "run__workflow_id", "node", "reused_from")
    )
    for pk, digest, workflow_id, node, reused_from in rows:
        found.setdefault((workflow_id, node, digest), reused_from or pk)
    return found


def _release_children(parent_ids: list[int], *, now) -> list[int]:
    """The children of reused tasks count them down; those with no parent left are queued (set-based,
    as outcomes.py releases the children of tasks that ran)."""
    links = TaskDependency.objects.filter(parent_id__in=parent_ids)
    finished_parents = (
        links.filter(child_id=OuterRef("pk")).order_by().values("child_id").annotate(n=Count("pk")).values("n")
    )
    children = Task.objects.filter(pk__in=links.values("child_id"))
    children.update(pending_parents=F("pending_parents") - Subquery(finished_parents))
    ready = children.filter(pending_parents=0, state=TaskState.PENDING)
    ids = list(ready.values_list("pk", flat=True))
    if ids:
        Task.objects.filter(pk__in=ids, state=TaskState.PENDING).update(state=TaskState.QUEUED, queued_at=now)
    return ids
