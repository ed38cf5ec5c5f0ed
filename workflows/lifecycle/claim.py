"""The claim: queued tasks that fit a runner become leased to it (queued → leased).

What the runner may take comes in as a RunnerScope, plain values that the runners app computes
from its runner row (whose tasks, which tags and executors): this app does not read runners.
"""

import contextlib
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Q, UUIDField, Value, When
from django.utils import timezone

from nodeworks_server import hot_sql
from workflows.lifecycle import fit
from workflows.models import Run, RunState, Task, TaskState


class ClaimedRun:
    """The run columns a claimed task's payload needs (payloads.py)."""

    __slots__ = ("created", "id", "revision", "started", "workflow_id")

    def __init__(self, id, workflow_id, revision, created, started):
        self.id, self.workflow_id, self.revision, self.created, self.started = id, workflow_id, revision, created, started

    @property
    def pk(self):
        return self.id


class ClaimedTask:
    """A task as the claim's RETURNING gives it back: what its payload and the callers read, no more.

    Not a model instance: building 500 Task instances per claim (Model.__init__ per row) cost more
    than the claim statement itself (118 us a task, of ~440 for a whole results call, issue 12)."""

    __slots__ = (
        "attempt",
        "child_count",
        "expires_at",
        "id",
        "input_sources",
        "lease_id",
        "node",
        "node_data",
        "priority",
        "requirements",
        "run",
        "runner_id",
        "segment_parent",
        "segment_parent_id",
        "state",
    )

    def __init__(self, *, id, priority, lease_id, attempt, node, node_data, input_sources, requirements,
                 expires_at, runner_id, run: ClaimedRun):
        self.id, self.priority, self.lease_id, self.attempt, self.node = id, priority, lease_id, attempt, node
        self.node_data, self.input_sources, self.requirements = node_data, input_sources, requirements
        self.expires_at, self.runner_id, self.state, self.run = expires_at, runner_id, TaskState.LEASED, run
        self.segment_parent = self.segment_parent_id = self.child_count = None

    @property
    def pk(self):
        return self.id

    @property
    def run_id(self):
        return self.run.id

    @classmethod
    def from_row(cls, row, runner_id: int) -> "ClaimedTask":
        """(id, priority, lease_id, attempt, node, node_data, input_sources, requirements, expires_at,
        run id, workflow_id, revision, created, started), the claim's RETURNING columns."""
        (pk, priority, lease_id, attempt, node, node_data, input_sources, requirements, expires_at,
         run_id, workflow_id, revision, created, started) = row[:14]
        return cls(
            id=pk, priority=priority, lease_id=lease_id, attempt=attempt, node=node,
            node_data=_json_value(node_data), input_sources=_json_value(input_sources),
            requirements=_json_value(requirements), expires_at=expires_at, runner_id=runner_id,
            run=ClaimedRun(run_id, workflow_id, revision, created, started),
        )


def _json_value(value):
    return orjson.loads(value) if isinstance(value, str) else value  # 3-5x json.loads on 500 rows a call


@dataclass(frozen=True)
class RunnerScope:
    """What one runner may take, as the runners app decides it (runners/scope.py)."""

    id: int
    owner_ids: tuple[int, ...] | None  # whose tasks (None: anyone's, an admin's runner shared with all)
    tags: tuple[str, ...]
    executors: tuple[str, ...]  # registered
    offered_executors: tuple[str, ...]  # offered in its last lease call (falls back to the registered ones)
    accepting: bool = True  # False while paused or draining: nothing new


# SQLite has one writer at a time and no queue for its lock: a transaction that finds it taken
# sleeps 1, 2, 5 ... up to 100 ms between retries (the busy handler), so 50 threads claiming at once
# spent most of a second asleep. Claims from threads of this process queue here instead and each
# starts the moment the previous one commits. Not taken inside an outer transaction, which may
# already hold the database lock that the holder of this one waits for.
_sqlite_claim_lock = threading.Lock()


def _sqlite_claims_queue():
    return contextlib.nullcontext() if connection.in_atomic_block else _sqlite_claim_lock


def tasks_claim(
    scope: RunnerScope, *, max_tasks: int, executors: list[str], only: tuple[int, ...] | None = None
) -> list[Task]:
    """Leases up to `max_tasks` queued tasks that fit the runner, highest priority first.

    PostgreSQL: one `UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`, so concurrent
    leases pass each other instead of queueing on the same rows. SQLite: the IMMEDIATE transaction
    holds the database's write lock from the SELECT on, and the UPDATE is conditional on
    `state = queued`; only the rows that came back with our lease ids are ours.
    """
    # Each once: the claim walks the queue once per offered executor.
    offered = list(dict.fromkeys(executor for executor in executors if executor in scope.executors))
    if not offered or max_tasks < 1:
        return []
    if connection.vendor == "postgresql":
        # One statement, atomic on its own: no BEGIN/COMMIT round trips on the hottest path.
        now = timezone.now()
        tasks = _claim_on_postgresql(scope, offered, max_tasks, only, now, now + timedelta(seconds=settings.LEASE_TTL_S))
    else:
        with _sqlite_claims_queue(), transaction.atomic():
            # Read the clock inside: entering may wait for SQLite's write lock, and a lease stamped
            # before that wait could predate the parent's finish that released its task.
            now = timezone.now()
            ids = _claim_ids_sqlite(scope, offered, max_tasks, only, now, now + timedelta(seconds=settings.LEASE_TTL_S))
        tasks = list(Task.objects.filter(pk__in=ids).select_related("run").order_by("-priority", "id")) if ids else []
    unstarted = {task.run_id for task in tasks if task.run.started is None}
    if unstarted:
        Run.objects.filter(pk__in=unstarted, started__isnull=True).update(started=now)
    return tasks


_ENDED_RUN = ", ".join(f"'{state}'" for state in Run.FINAL_STATES)


# Hand-written rather than built by the ORM: building this query took more CPU than PostgreSQL
# spends running it, on the call every task goes through. The picked rows come back with what a
# task payload needs (run columns included), so no second SELECT follows the claim.
#
# {candidates} is one of the two forms below, both yielding (id, priority) of queued tasks that fit,
# each row locked FOR UPDATE SKIP LOCKED, at most %(limit)s per ordered walk.
_PG_CLAIM = f"""
WITH picked AS MATERIALIZED (
    SELECT c.id FROM ({{candidates}}) AS c
    ORDER BY c.priority DESC, c.id
    LIMIT %(limit)s
)
UPDATE {Task._meta.db_table} AS t
SET state = '{TaskState.LEASED}', lease_id = gen_random_uuid(), runner_id = %(runner)s, leased_at = %(now)s,
    expires_at = %(expires)s, started = NULL
FROM picked, {Run._meta.db_table} AS r
WHERE t.id = picked.id AND t.state = '{TaskState.QUEUED}' AND r.id = t.run_id
RETURNING t.id, t.priority, t.lease_id, t.attempt, t.node, t.node_data, t.input_sources, t.requirements,
          t.expires_at, r.id, r.workflow_id, r.revision, r.created, r.started, t.child_count
"""  # noqa: S608 (table names from the models; every value is a parameter)

# What a queued task must also pass, whichever way it was found. {filters}: the runner's owners.
_PG_CLAIMABLE = f"""
      q.state = '{TaskState.QUEUED}'
      AND (q.not_before IS NULL OR q.not_before <= %(now)s)
      AND NOT q.cancel_requested
      AND (SELECT live.state FROM {Run._meta.db_table} AS live WHERE live.id = q.run_id) NOT IN ({_ENDED_RUN})
      {{filters}}
"""  # noqa: S608

# The queue: one walk of task_fit_queue_idx per fitting (tag set, executor), each in priority order,
# stopped after %(limit)s lockable rows; the outer query merges them and keeps the best %(limit)s.
# Queued tasks of other tag sets or executors are never read, however many (issue 12: 100,000 of them
# made every claim step over them, ~100 ms). The price: each walk locks up to %(limit)s rows, and
# those the merge drops stay locked until the statement ends (a concurrent claim skips them for those
# milliseconds); a runner fits few tag sets that have queued tasks, and a walk over none locks nothing.
_PG_CANDIDATES_QUEUE = f"""
    SELECT w.id, w.priority
    FROM ({fit.PG_FITTING_TAGSETS}) AS ts
    CROSS JOIN unnest(%(executors)s::text[]) AS e(executor)
    CROSS JOIN LATERAL (
        SELECT q.id, q.priority FROM {Task._meta.db_table} AS q
        WHERE q.tagset_id = ts.id AND q.executor = e.executor AND {_PG_CLAIMABLE}
        ORDER BY q.priority DESC, q.id
        LIMIT %(limit)s
        FOR UPDATE OF q SKIP LOCKED
    ) AS w
"""  # noqa: S608

# Chain affinity (`only`): a handful of named tasks, looked up by primary key and sorted.
_PG_CANDIDATES_ONLY = f"""
    SELECT q.id, q.priority FROM {Task._meta.db_table} AS q
    WHERE q.id = ANY(%(only)s::bigint[]) AND q.executor = ANY(%(executors)s::text[])
      AND q.tagset_id IN ({fit.PG_FITTING_TAGSETS}) AND {_PG_CLAIMABLE}
    ORDER BY q.priority DESC, q.id
    LIMIT %(limit)s
    FOR UPDATE OF q SKIP LOCKED
"""  # noqa: S608

# Never a task of a run that is cancelled or being cancelled (cancel_requested): such a task would be
# started (a SLURM job submitted) only to be cancelled at its first heartbeat. The run's state is a
# scalar subquery on purpose: a filter (SubPlan) that looks the run up by its primary key for each
# row the queue index yields, so the walk in priority order stays. Written as EXISTS, the planner
# flattened it into a join and sorted every queued row of the owner; written "= 'running'", it took
# the default 0.5% selectivity of an equality on an unknown value, expected 25 matches in 5,000 and
# sorted them all (tests/engine/test_hot_sql.py). "Not ended" is the same test (a run ends only when
# its last task is final, so a queued task's run is running or cancelled) and is estimated as
# passing nearly every row, which it does.
# SKIP LOCKED inside each walk, under its LIMIT: concurrent claims step over each other's rows and
# each still gets up to %(limit)s tasks (locking after the merge would hand every claim the same top
# rows, all but one claim finding them taken).
# MATERIALIZED: the picked rows are chosen once. Inlined, the planner may re-run a LIMIT ... SKIP
# LOCKED subquery per scanned row and lease more tasks than asked for. The UPDATE stays conditional
# on state = queued.


def _pg_claim_sql(*, owners: bool, only: bool) -> str:
    candidates = _PG_CANDIDATES_ONLY if only else _PG_CANDIDATES_QUEUE
    filters = "AND q.owner_id = ANY(%(owners)s::bigint[])" if owners else ""
    return _PG_CLAIM.replace("{candidates}", candidates).replace("{filters}", filters)


def _claim_on_postgresql(
    scope: RunnerScope, offered: list[str], max_tasks: int, only, now, expires
) -> list[ClaimedTask]:
    owners = list(scope.owner_ids) if scope.owner_ids is not None else None
    params = {
        "executors": offered, "tags": fit.pg_tags_param(scope.tags), "now": now, "limit": max_tasks,
        "runner": scope.id, "expires": expires, "owners": owners, "only": list(only or ()),
    }
    sql = _pg_claim_sql(owners=owners is not None, only=only is not None)
    rows = hot_sql.fetch(sql, params, per_call_plan=True)
    tasks = []
    for row in sorted(rows, key=lambda row: (-row[1], row[0])):
        task = ClaimedTask.from_row(row, scope.id)
        task.child_count = row[14]
        tasks.append(task)
    return tasks


def _claim_ids_sqlite(scope: RunnerScope, offered: list[str], max_tasks: int, only, now, expires) -> list[int]:
    owners = Q() if scope.owner_ids is None else Q(owner_id__in=scope.owner_ids)
    candidates = (
        Task.objects.filter(owners, state=TaskState.QUEUED, executor__in=offered)
        .filter(cancel_requested=False, run__state=RunState.RUNNING)  # as in _PG_CLAIM
        .filter(tagset_id__in=fit.sqlite_fitting_tagsets(scope.tags))
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("-priority", "id")
    )
    if only is not None:
        candidates = candidates.filter(pk__in=only)
    ids = list(candidates.values_list("pk", flat=True)[:max_tasks])
    if not ids:
        return []
    leases = {pk: uuid.uuid4() for pk in ids}
    Task.objects.filter(pk__in=ids, state=TaskState.QUEUED).update(
        state=TaskState.LEASED,
        lease_id=Case(*(When(pk=pk, then=Value(lease)) for pk, lease in leases.items()), output_field=UUIDField()),
        runner_id=scope.id,
        leased_at=now,
        expires_at=expires,
        started=None,
    )
    return list(Task.objects.filter(lease_id__in=leases.values()).values_list("pk", flat=True))




def successors_queued(*, parent_ids: list[int], limit: int) -> tuple[int, ...]:
    """Queued children of these tasks, for chain affinity: a runner takes the successors of what it just finished first."""
    return tuple(
        Task.objects.filter(parent_links__parent_id__in=parent_ids, state=TaskState.QUEUED).values_list("pk", flat=True)[
            :limit
        ]
    )
