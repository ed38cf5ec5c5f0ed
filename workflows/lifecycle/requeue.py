"""Requeue: failed, cancelled or upstream_failed tasks go back to the queue, with what they need."""

from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from workflows import dag
from workflows.lifecycle import locks
from workflows.models import Run, RunState, Task, TaskDependency, TaskState
from workflows.queue_events import notify_queued

REQUEUEABLE_STATES = (TaskState.FAILED, TaskState.CANCELLED, TaskState.UPSTREAM_FAILED)
_BATCH = 500  # ids per statement: under every database's parameter limit


# ---------------------------------------------------------------- requeue


def _requeue_closure(chosen: set[int], edges: list[tuple[int, int]], states: dict[int, str]) -> set[int]:
    """What must run again for the chosen tasks to run: their unsucceeded ancestors (a task cannot
    start without its parents) and the descendants that failed or were cancelled because of them."""
    return dag.closure(
        edges,
        chosen,
        up=lambda task: states[task] in REQUEUEABLE_STATES,
        down=lambda task: states[task] in (TaskState.UPSTREAM_FAILED, TaskState.CANCELLED),
    )


@transaction.atomic
def _run_requeue(*, run_id: int, chosen: set[int]) -> int:
    # Lock order (locks.py): the run row first, then its tasks; run_cancel takes the same, so a requeue
    # and a cancel of one run do not interleave, and the state read here is the committed one.
    run_state = locks.run_lock(run_id)
    if run_state is None or run_state == RunState.CANCELLED:
        # A cancelled run stays cancelled: its owner ended it, and a requeue racing the cancel
        # would otherwise put queued tasks into a cancelled run. Nothing changes (the callers say so).
        return 0
    states = dict(Task.objects.filter(run_id=run_id).values_list("pk", "state"))
    chosen = {pk for pk in chosen if states.get(pk) in REQUEUEABLE_STATES}
    if not chosen:
        return 0
    edges = list(TaskDependency.objects.filter(run_id=run_id).values_list("parent_id", "child_id"))
    closure = _requeue_closure(chosen, edges, states)
    waiting_on = defaultdict(int)  # parents that have yet to succeed, once the closure is reset
    for parent, child in edges:
        if child in closure and states[parent] != TaskState.SUCCEEDED:
            waiting_on[child] += 1

    now = timezone.now()
    reset = {
        "lease_id": None,
        "runner": None,
        "leased_at": None,
        "expires_at": None,
        "not_before": None,
        "started": None,
        "finished": None,
        "outputs": None,
        "error": "",
        "cancel_requested": False,
        "failures": 0,
        "lost_leases": 0,
        # The old attempt's outcome is gone: a late copy of its result must get 409, not "duplicate".
        "finished_lease_id": None,
    }
    # Set-based: one UPDATE per kind of reset (a fresh attempt or not, how many parents to wait for),
    # in batches, however many tasks come back. The kinds are few: waits are bounded by the in-degree.
    groups = defaultdict(list)
    for pk in closure:
        # A task that ran (failed, or cancelled) gets a fresh attempt; one that never started keeps its number.
        groups[(states[pk] in (TaskState.FAILED, TaskState.CANCELLED), waiting_on[pk])].append(pk)
    for (ran, waits), pks in groups.items():
        fresh = {"attempt": F("attempt") + 1} if ran else {}
        pks.sort()
        for first in range(0, len(pks), _BATCH):
            Task.objects.filter(pk__in=pks[first : first + _BATCH], state__in=REQUEUEABLE_STATES).update(
                **reset,
                **fresh,
                pending_parents=waits,
                state=TaskState.PENDING if waits else TaskState.QUEUED,
                queued_at=None if waits else now,
            )
    if run_state != RunState.RUNNING:
        Run.objects.filter(pk=run_id).update(state=RunState.RUNNING, finished=None)
    transaction.on_commit(notify_queued)
    return len(closure)


def tasks_requeue(*, tasks) -> int:
    """Failed, cancelled or upstream_failed tasks go back to the queue with a fresh attempt and no lease.

    Their unsucceeded ancestors and the descendants that failed because of them come back too, and a
    finished run runs again, so that nothing waits forever on a parent that will never run; a
    cancelled run does not (it stays cancelled, its tasks untouched). Returns how many tasks were reset.
    """
    by_run = defaultdict(set)
    for pk, run_id in tasks.filter(state__in=REQUEUEABLE_STATES).values_list("pk", "run_id"):
        by_run[run_id].add(pk)
    return sum(_run_requeue(run_id=run_id, chosen=chosen) for run_id, chosen in by_run.items())
