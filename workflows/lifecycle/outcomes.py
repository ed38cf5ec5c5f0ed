"""Task outcomes: succeed, fail (and retry), lose, the runner's cancel, and the user's cancel of one task.

Every transition is a conditional UPDATE fenced by the lease it was decided for (fence.py: `WHERE
lease_id = ... AND state IN (leased, running)`), checked for one changed row: a late result, a
second reaper or a concurrent cancel then changes nothing instead of double-counting.
"""

import functools
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from nodeworks_server import hot_sql
from workflows.lifecycle import downstream, fence, locks, reuse, segments
from workflows.lifecycle.run_end import run_finish_if_done
from workflows.models import (
    HELD_TASK_STATES,
    RunState,
    Task,
    TaskDependency,
    TaskState,
)
from workflows.queue_events import notify_queued


@dataclass(frozen=True)
class Outcome:
    applied: bool  # False: the lease was not current, nothing changed
    state: str  # the task's state after the call (the stored one for a duplicate)
    released: tuple[int, ...] = ()  # children queued by this outcome


def retry_backoff(failures: int) -> timedelta:
    seconds = min(settings.RETRY_BACKOFF_BASE_S * 2 ** (failures - 1), settings.RETRY_BACKOFF_CAP_S)
    return timedelta(seconds=seconds)


def _fenced(task: Task, *, expired_before=None, **changes) -> bool:
    """Applies `changes` if the lease read is still current; the reaper also asks that it is still expired."""
    held = Task.objects.filter(fence.lease_held(task.lease_id), pk=task.pk)
    if expired_before is not None:
        # A heartbeat that extended the lease after the reaper read it wins: the lease is not lost.
        held = held.filter(expires_at__lt=expired_before)
    return held.update(**changes) == 1


def _then_finish_run(outcome_function):
    """Runs a task outcome in its own transaction, then, once committed, looks whether its run is done."""
    atomic_outcome = transaction.atomic(outcome_function)

    @functools.wraps(outcome_function)
    def outcome_then_finish(*, task: Task, **kwargs):
        outcome = atomic_outcome(task=task, **kwargs)
        if getattr(outcome, "applied", True):
            run_finish_if_done(run_id=task.run_id)
        return outcome

    return outcome_then_finish


def _fail_downstream(task: Task) -> None:
    downstream.descendants_end([task.pk], error=f"upstream task {task.node!r} did not succeed")


def _release_children(parent_ids: list[int], *, done=frozenset()) -> tuple[int, ...]:
    """Set-based: the same three queries whether the parents have one child or a hundred. Children
    in `done` (chain links completed in the same batch) have no parent left to count down."""
    if not parent_ids:
        return ()
    links = TaskDependency.objects.filter(parent_id__in=parent_ids).exclude(child_id__in=list(done))
    finished_parents = (
        links.filter(child_id=OuterRef("pk")).order_by().values("child_id").annotate(n=Count("pk")).values("n")
    )
    children = Task.objects.filter(pk__in=links.values("child_id"))
    children.update(pending_parents=F("pending_parents") - Subquery(finished_parents))
    if not children.filter(pending_parents=0, state=TaskState.PENDING).update(
        state=TaskState.QUEUED, queued_at=timezone.now()
    ):
        return ()
    transaction.on_commit(notify_queued)
    return tuple(children.filter(state=TaskState.QUEUED).values_list("pk", flat=True))


def tasks_succeed(*, runner_id: int, results: list[dict]) -> tuple[set, tuple[int, ...], list[int]]:
    """Many successes at once: the held leases named are completed together, atomically with the
    release of their children.

    Returns the lease ids that were applied, the children they released and the ids of the runs
    touched. A result whose lease is not held (a resend, a stale lease) is left out; the caller
    answers those one by one. The caller also asks `run_finish_if_done` for each run touched, once
    this has committed (it may know better, e.g. when it just leased another task of that run).
    """
    chained = segments.chained_children(runner_id=runner_id, results=results)
    if connection.vendor == "postgresql":
        done, released = _succeed_on_postgresql(runner_id=runner_id, results=results, chained=chained, now=timezone.now())
    else:
        done, released = _succeed_with_orm(runner_id=runner_id, results=results, chained=chained, now=timezone.now())
    if chained:  # their digests (for a later run's reuse) need the parents' outputs, now stored
        reuse.tasks_digested([pk for pk, _, _ in done if pk in set(chained)])
    if released:  # NW-REUSE hook: released children that match an earlier result take it instead of running
        released = reuse.tasks_released(released)
    if released:
        transaction.on_commit(notify_queued)
    return {lease for _, _, lease in done}, released, sorted({run_id for _, run_id, _ in done})


@transaction.atomic
def _succeed_with_orm(
    *, runner_id: int, results: list[dict], chained: list[int], now
) -> tuple[list[tuple], tuple[int, ...]]:
    """SQLite has no row locks: its IMMEDIATE transaction holds the write lock from the SELECT on,
    so what it reads stays held. A chain link waiting for its parent is applied only in `chained`
    (segments.py): with its parent, which is in the same batch."""
    by_lease = {result["lease_id"]: result for result in results}
    held = Task.objects.filter(fence.leases_held_by(runner_id=runner_id, lease_ids=list(by_lease)))
    held = held.filter(Q(pending_parents=0) | Q(pk__in=chained))
    if connection.features.has_select_for_update:
        held = held.select_for_update(of=("self",))
    tasks = list(held.only("pk", "run_id", "lease_id", "started", "child_count").order_by("pk"))
    for task in tasks:
        result = by_lease[task.lease_id]
        task.state = TaskState.SUCCEEDED
        task.outputs = result["outputs"]
        task.started = result["started"] or task.started
        task.finished = result["finished"] or now
        task.error = ""
        task.finished_lease_id = task.lease_id
        task.pending_parents = 0
    Task.objects.bulk_update(
        tasks, ["state", "outputs", "started", "finished", "error", "finished_lease_id", "pending_parents"]
    )
    released = _release_children([task.pk for task in tasks if task.child_count], done={task.pk for task in tasks})
    return [(task.pk, task.run_id, task.lease_id) for task in tasks], released


# One statement, so atomic without BEGIN/COMMIT round trips: an UPDATE from parallel arrays, fenced
# by lease, runner and state, then (data-modifying CTEs) the children of the completed tasks that
# have any get their pending parents counted down and the last one queued. Results are the hottest
# write we have; bulk_update's CASE per row and column cost more to build in Python than the
# database spends on all of it. Children are other rows than the parents, so the one snapshot the
# CTEs share is no problem; a child two statements count down at once is updated by the second
# after the first commits, from the row as the first left it (READ COMMITTED re-reads it).
_PG_SUCCEED = f"""
WITH done AS (
    UPDATE {Task._meta.db_table} AS t
    SET state = '{TaskState.SUCCEEDED}', error = '', finished_lease_id = t.lease_id, outputs = v.outputs,
        started = COALESCE(v.started, t.started), finished = COALESCE(v.finished, %(now)s), pending_parents = 0
    FROM jsonb_to_recordset(%(rows)s::jsonb) AS v(lease_id uuid, outputs jsonb, started timestamptz, finished timestamptz)
    WHERE t.lease_id = v.lease_id AND t.runner_id = %(runner)s AND t.{fence.HELD_SQL}
      AND (t.pending_parents = 0 OR t.id = ANY(%(chained)s::bigint[]))
    RETURNING t.id, t.run_id, t.lease_id, t.child_count
), finished_links AS (
    -- A chain link completed in this statement is not counted down: one statement must not
    -- update a row twice (which of the two changes PostgreSQL keeps is not defined).
    SELECT link.child_id, count(*) AS n
    FROM {TaskDependency._meta.db_table} AS link JOIN done ON link.parent_id = done.id
    WHERE done.child_count > 0 AND link.child_id NOT IN (SELECT id FROM done)
    GROUP BY link.child_id
), released AS (
    UPDATE {Task._meta.db_table} AS c
    SET pending_parents = c.pending_parents - f.n,
        state = CASE WHEN c.state = '{TaskState.PENDING}' AND c.pending_parents = f.n THEN '{TaskState.QUEUED}' ELSE c.state END,
        queued_at = CASE WHEN c.state = '{TaskState.PENDING}' AND c.pending_parents = f.n THEN %(now)s ELSE c.queued_at END
    FROM finished_links AS f
    WHERE c.id = f.child_id
    RETURNING c.id, c.state
)
SELECT id, run_id, lease_id FROM done
UNION ALL
SELECT id, NULL, NULL FROM released WHERE state = '{TaskState.QUEUED}'
"""  # noqa: S608 (table names from the models; every value is a parameter)


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _succeed_on_postgresql(
    *, runner_id: int, results: list[dict], chained: list[int], now
) -> tuple[list[tuple], tuple[int, ...]]:
    # One JSON document rather than four arrays: psycopg inspected every element of each list to
    # choose its array type (a seventh of a results call's server time at 500 results).
    batch = json.dumps([
        {
            "lease_id": str(result["lease_id"]), "outputs": result["outputs"],
            "started": _iso(result["started"]), "finished": _iso(result["finished"]),
        }
        for result in results
    ])
    rows = hot_sql.fetch(_PG_SUCCEED, {"now": now, "rows": batch, "runner": runner_id, "chained": chained})
    done = [row for row in rows if row[1] is not None]
    released = tuple(pk for pk, run_id, _ in rows if run_id is None)
    return done, released


def _end_for_good(
    task: Task, *, state: str, error: str, started, finished, reported: bool, expired_before=None, **counters
) -> Outcome:
    # Only a result the runner reported is remembered for resends; a lost lease's late result stays a 409.
    if reported:
        counters["finished_lease_id"] = task.lease_id
    changes = {"state": state, "error": error, "started": started or task.started, "finished": finished, **counters}
    if not _fenced(task, expired_before=expired_before, **changes):
        return Outcome(applied=False, state=task.state)
    segments.segment_unlease(task.pk)  # its chain links leased with it end like any other child
    _fail_downstream(task)
    return Outcome(applied=True, state=state)


def _requeue(task: Task, *, error: str, reported: bool, not_before=None, expired_before=None, **counters) -> Outcome:
    now = timezone.now()
    if reported:
        counters["finished_lease_id"] = task.lease_id
    if not _fenced(
        task,
        expired_before=expired_before,
        # A chain link (segments.py) whose parent has not succeeded waits for it again, not in the queue.
        state=Case(When(pending_parents__gt=0, then=Value(TaskState.PENDING)), default=Value(TaskState.QUEUED)),
        attempt=F("attempt") + 1,
        lease_id=None,
        runner=None,
        expires_at=None,
        queued_at=now,
        not_before=not_before,
        error=error,
        **counters,
    ):
        return Outcome(applied=False, state=task.state)
    segments.segment_unlease(task.pk)  # the links below it wait for its next attempt
    transaction.on_commit(notify_queued)
    return Outcome(applied=True, state=TaskState.QUEUED)


@dataclass(frozen=True)
class _Fresh:
    """What a fail or lose decides on, read under the run row's lock (locks.py), never from the caller's copy."""

    run_state: str | None
    cancel_requested: bool
    failures: int
    lost_leases: int
    max_retries: int

    @property
    def cancelling(self) -> bool:
        return self.cancel_requested or self.run_state != RunState.RUNNING


def _fresh(task: Task) -> _Fresh:
    """The run row locked first, then the task re-read: a cancel committed since the caller read the
    task is seen, and one not committed yet waits for us (and then finds the task as we leave it)."""
    run_state = locks.run_lock(task.run_id)
    row = Task.objects.filter(pk=task.pk).values("cancel_requested", "failures", "lost_leases", "max_retries").first()
    if row is None:  # deleted with its run: the fenced update below changes nothing
        return _Fresh(run_state, True, task.failures, task.lost_leases, task.max_retries)
    return _Fresh(run_state, **row)


@_then_finish_run
def task_fail(*, task: Task, error: str, started, finished) -> Outcome:
    """A failure the runner reports: retried after a backoff while `retries` remain and nobody cancelled."""
    fresh = _fresh(task)
    failures = fresh.failures + 1
    if failures <= fresh.max_retries and not fresh.cancelling:
        return _requeue(
            task,
            error=error,
            reported=True,
            not_before=timezone.now() + retry_backoff(failures),
            failures=F("failures") + 1,
        )
    return _end_for_good(
        task, state=TaskState.FAILED, error=error, started=started, finished=finished, reported=True,
        failures=F("failures") + 1,
    )


@_then_finish_run
def task_lose(*, task: Task, reason: str, expired_before=None) -> Outcome:
    """A lease that ended without a result (expired, or the runner gave the task up).

    Counted apart from `retries`, and capped, so a node whose runner keeps dying does not loop forever.
    The reaper passes `expired_before`: the lease is lost only if it has not been extended since.
    A task whose run is cancelled (or cancelling) ends cancelled instead of going back to the queue.
    """
    return _lose(task, _fresh(task), reason=reason, expired_before=expired_before)


def _lose(task: Task, fresh: _Fresh, *, reason: str, expired_before=None) -> Outcome:
    now = timezone.now()
    if fresh.cancelling:
        return _end_for_good(
            task, state=TaskState.CANCELLED, error=reason, started=None, finished=now, reported=False,
            expired_before=expired_before,
        )
    lost = fresh.lost_leases + 1
    if lost >= settings.MAX_LOST_LEASES:
        return _end_for_good(
            task,
            state=TaskState.FAILED,
            error=f"{reason}; lease lost {lost} times (limit {settings.MAX_LOST_LEASES})",
            started=None,
            finished=now,
            reported=False,
            expired_before=expired_before,
            lost_leases=F("lost_leases") + 1,
        )
    return _requeue(
        task, error=reason, reported=False, expired_before=expired_before, lost_leases=F("lost_leases") + 1
    )


@_then_finish_run
def task_cancelled(*, task: Task, error: str, started, finished) -> Outcome:
    """The runner stopped the task. Asked for: it ends cancelled. Not asked for (the runner shut
    down hard): the task goes back to the queue like a lost lease."""
    fresh = _fresh(task)
    if not fresh.cancelling:
        return _lose(task, fresh, reason=error or "stopped by its runner")
    return _end_for_good(
        task, state=TaskState.CANCELLED, error=error or "cancelled", started=started, finished=finished, reported=True
    )


@_then_finish_run
def task_cancel(*, task: Task) -> str:
    """A user cancels one task: queued/pending ones end now, held ones are told at their next heartbeat."""
    locks.run_lock(task.run_id)  # the one lock order (locks.py): a run cancel or requeue does not interleave
    now = timezone.now()
    waiting = Task.objects.filter(pk=task.pk, state__in=[TaskState.PENDING, TaskState.QUEUED])
    if waiting.update(state=TaskState.CANCELLED, finished=now, error="cancelled"):
        _fail_downstream(task)
        return TaskState.CANCELLED
    Task.objects.filter(pk=task.pk, state__in=HELD_TASK_STATES).update(cancel_requested=True)
    return Task.objects.values_list("state", flat=True).get(pk=task.pk)
