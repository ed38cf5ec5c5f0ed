"""Requeue: failed, cancelled or upstream_failed tasks go back to the queue, with what they need."""

from collections import defaultdict

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from workflows import dag
from workflows.models import Run, RunState, Task, TaskDependency, TaskState
from workflows.queue_events import notify_queued

REQUEUEABLE_STATES = (TaskState.FAILED, TaskState.CANCELLED, TaskState.UPSTREAM_FAILED)


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
    # The run row is the lock run_cancel takes too: a requeue and a cancel of one run do not interleave.
    run = Run.objects.select_for_update().get(pk=run_id)
    states = dict(Task.objects.filter(run=run).values_list("pk", "state"))
    chosen = {pk for pk in chosen if states.get(pk) in REQUEUEABLE_STATES}
    if not chosen:
        return 0
    edges = list(TaskDependency.objects.filter(run=run).values_list("parent_id", "child_id"))
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
    for pk in closure:
        # A task that ran (failed, or cancelled) gets a fresh attempt; one that never started keeps its number.
        fresh = {"attempt": F("attempt") + 1} if states[pk] in (TaskState.FAILED, TaskState.CANCELLED) else {}
        Task.objects.filter(pk=pk, state__in=REQUEUEABLE_STATES).update(
            **reset,
            **fresh,
            pending_parents=waiting_on[pk],
            state=TaskState.PENDING if waiting_on[pk] else TaskState.QUEUED,
            queued_at=None if waiting_on[pk] else now,
        )
    if run.state != RunState.RUNNING:
        run.state, run.finished = RunState.RUNNING, None
        run.save(update_fields=["state", "finished"])
    transaction.on_commit(notify_queued)
    return len(closure)


def tasks_requeue(*, tasks) -> int:
    """Failed, cancelled or upstream_failed tasks go back to the queue with a fresh attempt and no lease.

    Their unsucceeded ancestors and the descendants that failed because of them come back too, and a
    finished run runs again, so that nothing waits forever on a parent that will never run.
    Returns how many tasks were reset.
    """
    by_run = defaultdict(set)
    for pk, run_id in tasks.filter(state__in=REQUEUEABLE_STATES).values_list("pk", "run_id"):
        by_run[run_id].add(pk)
    return sum(_run_requeue(run_id=run_id, chosen=chosen) for run_id, chosen in by_run.items())
