"""Chain segments: the links below a task just leased go to the same runner at once (issue 12).

In a chain every hop used to be a round trip: the runner reports the parent's result, the server
releases the child and hands it back in the answer, and only then does the child start. Here, when a
results call leases a task whose only child waits for it alone (and so on down the chain, up to the
`segment_max` the runner asked for), those children are leased to the same runner in the same
statement, still `pending` on their parent: each payload names its parent's lease under `after` and
which of its inputs the parent's outputs fill. The runner starts a child as soon as its parent has
succeeded locally, and reports both together. So a hop costs no round trip and no commit.

The rules that keep this safe:

* a child is leased only while its one unfinished parent is the task above it in the segment
  (`pending_parents = 1`), and only if it fits the runner as a claim would (executor, tags, not
  cancelled, not waiting for a retry backoff);
* a child that might reuse an earlier result is not taken: reuse decides on its parent's outputs,
  which only the result brings (a node that never succeeded in an earlier run of its workflow has
  nothing to reuse, so a first run still goes in segments);
* its result is accepted only together with, or after, its parent's success (`chained_children`
  below, under the parent row's lock), never before;
* when the parent does not succeed (failed, retried, lost, cancelled), `segment_unlease` takes the
  children's leases back first, so they wait `pending` again or end `upstream_failed` like any child.
"""

import uuid

from django.db import connection
from django.db.models import Q

from nodeworks_server import hot_sql
from workflows.lifecycle import fit
from workflows.lifecycle.claim import ClaimedTask
from workflows.models import HELD_TASK_STATES, Run, RunState, Task, TaskDependency, TaskState

_TASKS, _LINKS, _RUNS = Task._meta.db_table, TaskDependency._meta.db_table, Run._meta.db_table

# Reuse (reuse.py) needs the parent's outputs to decide; a node with no earlier success in its
# workflow has nothing to reuse whatever they are.
_PG_CANNOT_REUSE = f"""(
    NOT c.may_reuse OR NOT r.reuse OR NOT EXISTS (
        SELECT 1 FROM {_TASKS} AS earlier JOIN {_RUNS} AS er ON er.id = earlier.run_id
        WHERE er.workflow_id = r.workflow_id AND earlier.node = c.node AND earlier.state = '{TaskState.SUCCEEDED}'
          AND earlier.run_id <> c.run_id
    )
)"""  # noqa: S608 (table names from the models)

# One statement: the walk down from the heads (each link the only child of the one above, waiting
# for it alone) and the lease of what it found. The UPDATE stays conditional on pending and one
# unfinished parent, so a child released, cancelled or taken meanwhile is left alone.
_PG_SEGMENTS = f"""
WITH RECURSIVE seg(id, parent_id, depth, child_count) AS (
    SELECT t.id, NULL::bigint, 0, t.child_count FROM {_TASKS} AS t
    WHERE t.id = ANY(%(heads)s::bigint[]) AND t.child_count = 1
  UNION ALL
    SELECT c.id, seg.id, seg.depth + 1, c.child_count
    FROM seg
    JOIN {_LINKS} AS d ON d.parent_id = seg.id
    JOIN {_TASKS} AS c ON c.id = d.child_id
    JOIN {_RUNS} AS r ON r.id = c.run_id
    WHERE seg.child_count = 1 AND seg.depth < %(limit)s
      AND c.state = '{TaskState.PENDING}' AND c.pending_parents = 1 AND NOT c.cancel_requested
      AND (c.not_before IS NULL OR c.not_before <= %(now)s)
      AND c.executor = ANY(%(executors)s::text[]) AND c.tagset_id IN ({fit.PG_FITTING_TAGSETS})
      AND r.state = '{RunState.RUNNING}' AND {_PG_CANNOT_REUSE}
)
UPDATE {_TASKS} AS t
SET state = '{TaskState.LEASED}', lease_id = gen_random_uuid(), runner_id = %(runner)s, leased_at = %(now)s,
    expires_at = %(expires)s, started = NULL
FROM seg, {_RUNS} AS r
WHERE t.id = seg.id AND seg.depth > 0 AND t.state = '{TaskState.PENDING}' AND t.pending_parents = 1
  AND r.id = t.run_id
RETURNING t.id, t.priority, t.lease_id, t.attempt, t.node, t.node_data, t.input_sources, t.requirements,
          t.expires_at, r.id, r.workflow_id, r.revision, r.created, r.started, seg.parent_id, seg.depth
"""  # noqa: S608 (table names from the models; every value is a parameter)


def segments_lease(
    *, runner_id: int, tags, heads: list[Task], executors: list[str], limit: int, now, expires
) -> list[Task]:
    """Leases the chain links below `heads` (tasks this runner was just given) to the same runner.

    Each returned task has `segment_parent`: the task above it (a head or another link)."""
    if limit < 1 or not heads or not executors:
        return []
    if connection.vendor == "postgresql":
        children = _lease_on_postgresql(runner_id, tags, heads, executors, limit, now, expires)
    else:
        children = _lease_with_orm(runner_id, tags, heads, executors, limit, now, expires)
    above = {task.pk: task for task in heads}
    for child in children:  # in depth order: a link's parent is a head or an earlier link
        above[child.pk] = child
    for child in children:
        child.segment_parent = above[child.segment_parent_id]
    return children


def _lease_on_postgresql(runner_id, tags, heads, executors, limit, now, expires) -> list[ClaimedTask]:
    params = {
        "heads": [task.pk for task in heads], "limit": limit, "now": now, "expires": expires, "runner": runner_id,
        "executors": executors, "tags": fit.pg_tags_param(tags),
    }
    children = []
    for row in sorted(hot_sql.fetch(_PG_SEGMENTS, params), key=lambda row: row[-1]):  # by depth
        task = ClaimedTask.from_row(row, runner_id)
        task.segment_parent_id = row[14]
        children.append(task)
    return children


def _lease_with_orm(runner_id, tags, heads, executors, limit, now, expires) -> list[Task]:
    """SQLite: a level at a time (its write transaction holds the database, so nothing moves between)."""
    from django.db import transaction

    children: list[Task] = []
    level = [task.pk for task in heads]
    with transaction.atomic():
        for _depth in range(limit):
            links = dict(
                TaskDependency.objects.filter(parent_id__in=level, parent__child_count=1)
                .filter(child__state=TaskState.PENDING, child__pending_parents=1, child__cancel_requested=False)
                .filter(Q(child__not_before__isnull=True) | Q(child__not_before__lte=now))
                .filter(child__executor__in=executors, child__tagset_id__in=fit.sqlite_fitting_tagsets(tags))
                .filter(child__run__state=RunState.RUNNING)
                .values_list("child_id", "parent_id")
            )
            ready = [pk for pk in links if _cannot_reuse(pk)]
            if not ready:
                break
            leases = {pk: uuid.uuid4() for pk in ready}
            for pk, lease in leases.items():
                Task.objects.filter(pk=pk, state=TaskState.PENDING, pending_parents=1).update(
                    state=TaskState.LEASED, lease_id=lease, runner_id=runner_id, leased_at=now, expires_at=expires,
                    started=None,
                )
            taken = list(Task.objects.filter(lease_id__in=leases.values()).select_related("run"))
            for task in taken:
                task.segment_parent_id = links[task.pk]
            children += taken
            level = [task.pk for task in taken]
    return children


def _cannot_reuse(task_id: int) -> bool:
    task = Task.objects.select_related("run").only("node", "may_reuse", "run__reuse", "run__workflow_id").get(pk=task_id)
    if not task.may_reuse or not task.run.reuse:
        return True
    return not (
        Task.objects.filter(run__workflow_id=task.run.workflow_id, node=task.node, state=TaskState.SUCCEEDED)
        .exclude(run_id=task.run_id)
        .exists()
    )


def segment_payload(payload: dict, task: Task) -> dict:
    """A link's payload names its parent's lease, and where the parent's outputs go in its inputs:
    `fill` is [input terminal, position in a multiinput's list or null, the parent's output terminal]."""
    parent = task.segment_parent
    fill = []
    terminals = (task.node_data or {}).get("terminals") or {}
    for terminal, sources in (task.input_sources or {}).items():
        multi = bool(((terminals.get(terminal) or {}).get("opts") or {}).get("multiinput", False))
        for position, (source_node, source_terminal, feedback) in enumerate(sources):
            if source_node == parent.node and not feedback:
                fill.append([terminal, position if multi else None, source_terminal])
    return {**payload, "after": {"lease_id": str(parent.lease_id), "task_id": parent.pk, "fill": fill}}


def chained_children(*, runner_id: int, results: list[dict]) -> list[int]:
    """The links of this batch whose parent succeeds in this same batch (or just above such a link).

    Read inside the batch's transaction with the parents' rows locked, so a parent found held here
    is still held when the batch's UPDATE fences it, and its link is applied only with it."""
    leases = [result["lease_id"] for result in results if result.get("after")]
    if not leases:
        return []
    links = list(
        TaskDependency.objects.filter(
            child__lease_id__in=leases, child__runner_id=runner_id, child__state__in=HELD_TASK_STATES,
            child__pending_parents=1,
        )
        .exclude(parent__state=TaskState.SUCCEEDED)
        .values_list("child_id", "child__lease_id", "parent_id")
    )
    parents = Task.objects.filter(pk__in={parent_id for _, _, parent_id in links})
    if connection.features.has_select_for_update:
        parents = parents.select_for_update()
    held = {
        pk: lease for pk, lease, runner, state in parents.values_list("pk", "lease_id", "runner_id", "state")
        if runner == runner_id and state in HELD_TASK_STATES
    }
    in_batch = {result["lease_id"] for result in results}
    waiting = {}  # a link's lease -> (its id, its parent's lease), when that parent is held by this runner
    for child_id, child_lease, parent_id in links:
        if held.get(parent_id) in in_batch:
            waiting[child_lease] = (child_id, held[parent_id])
    chained = []
    for lease, (child_id, parent_lease) in waiting.items():
        seen = {lease}
        while parent_lease in waiting and parent_lease not in seen:  # the parent is a link itself
            seen.add(parent_lease)
            parent_lease = waiting[parent_lease][1]
        if parent_lease not in waiting:  # the top of the walk is an ordinary task of this batch
            chained.append(child_id)
    return chained


_UNLEASE = """
WITH RECURSIVE down(id) AS (
    SELECT link.child_id FROM {links} AS link JOIN {tasks} AS c ON c.id = link.child_id
    WHERE link.parent_id = %s AND c.state IN ('{leased}', '{running}') AND c.pending_parents > 0
  UNION
    SELECT link.child_id FROM {links} AS link JOIN down ON link.parent_id = down.id
    JOIN {tasks} AS c ON c.id = link.child_id
    WHERE c.state IN ('{leased}', '{running}') AND c.pending_parents > 0
)
UPDATE {tasks} SET state = '{pending}', lease_id = NULL, runner_id = NULL, expires_at = NULL, leased_at = NULL
WHERE id IN (SELECT id FROM down) AND state IN ('{leased}', '{running}') AND pending_parents > 0
"""


def segment_unlease(task_id: int) -> int:
    """The leased links below a task that will not succeed now go back to `pending` (their runner is
    told at its next heartbeat that their leases are gone). Returns how many."""
    sql = _UNLEASE.format(
        links=_LINKS, tasks=_TASKS, leased=TaskState.LEASED, running=TaskState.RUNNING, pending=TaskState.PENDING
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [task_id])
        return cursor.rowcount
