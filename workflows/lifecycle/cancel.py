"""Cancels from users and operators: a run, many runs, the queue (queued tasks), everything."""

from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from workflows.lifecycle import downstream, locks
from workflows.lifecycle.run_end import run_finish_if_done
from workflows.models import HELD_TASK_STATES, Run, RunState, Task, TaskState

# A batch small enough for any database's parameter limit.
_BATCH = 500


@transaction.atomic
def run_cancel(*, run: Run) -> Run:
    """Cancelled at once: queued and pending tasks end now; held leases are told at their next heartbeat.

    Lock order (locks.py): the run row first, then its task rows, as every transition deciding on a
    run's state takes them. A failure, a lost lease or a requeue of this run that locked it before
    us has committed when we read the tasks below; one that comes after sees the run cancelled.
    The claim skips the tasks of a run that is not running, and a queued task it is leasing right
    now is locked: our UPDATE waits for it and then finds it leased, and the next one flags it
    cancel_requested, so its runner hears "cancel" at its first heartbeat.
    """
    now = timezone.now()
    if locks.run_lock(run.pk) == RunState.RUNNING:
        run.tasks.filter(state__in=[TaskState.PENDING, TaskState.QUEUED]).update(
            state=TaskState.CANCELLED, finished=now, lease_id=None
        )
        run.tasks.filter(state__in=HELD_TASK_STATES).update(cancel_requested=True)
        Run.objects.filter(pk=run.pk, state=RunState.RUNNING).update(state=RunState.CANCELLED, finished=now)
    run.refresh_from_db()
    return run


def runs_cancel(*, runs) -> list[Run]:
    return [run_cancel(run=run) for run in runs.filter(state=RunState.RUNNING)]


def _fail_downstream_of(removed_by_run: dict[int, set[int]], *, now) -> None:
    """Pending descendants of removed tasks can never start: they end as task_cancel's downstream does."""
    for removed in removed_by_run.values():
        downstream.descendants_end(
            removed, error="an upstream task was removed from the queue", states=(TaskState.PENDING,), now=now
        )


def queue_clear(*, tasks) -> int:
    """Cancels the queued tasks among `tasks`; then, committed, finishes the runs left with nothing to do."""
    removed = _queue_clear(tasks=tasks)
    # After the commit, as for every task outcome (outcomes.py, run_finish_if_done).
    for run_id in removed:
        run_finish_if_done(run_id=run_id)
    return sum(len(pks) for pks in removed.values())


@transaction.atomic
def _queue_clear(*, tasks) -> dict[int, set[int]]:
    """Cancels the queued tasks among `tasks`; runs left with only final tasks finish (as cancelled).

    Leased and running tasks are not the queue: they go on. Batches keep every statement under the
    databases' parameter limits however long the queue is. The rows read are ours to change: on
    PostgreSQL they are locked (rows a runner is leasing right now are skipped, they are leaving the
    queue anyway); on SQLite the IMMEDIATE transaction holds the write lock from the first read.
    """
    now = timezone.now()
    removed: dict[int, set[int]] = defaultdict(set)
    while True:
        batch = tasks.filter(state=TaskState.QUEUED).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            batch = batch.select_for_update(skip_locked=True, of=("self",))
        rows = list(batch.values_list("pk", "run_id")[:_BATCH])
        if not rows:
            break
        Task.objects.filter(pk__in=[pk for pk, _ in rows], state=TaskState.QUEUED).update(
            state=TaskState.CANCELLED, finished=now, lease_id=None, error="removed from the queue"
        )
        for pk, run_id in rows:
            removed[run_id].add(pk)
    _fail_downstream_of(removed, now=now)
    return removed


def cancel_all() -> tuple[list[int], int]:
    """Every running run cancelled, then whatever is left in the queue removed."""
    cancelled = [run.pk for run in runs_cancel(runs=Run.objects.all()) if run.state == RunState.CANCELLED]
    cleared = queue_clear(tasks=Task.objects.all())
    return cancelled, cleared
