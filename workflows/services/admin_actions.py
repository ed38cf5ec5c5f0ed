"""Operator writes: requeue, clearing the queue, cancelling everything, and the runner switches.

The runner switches live here, beside the queue operations they are used with, because this
module is the operators' toolbox (the Django admin and the /admin API both call it).
"""

from collections import defaultdict

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from runners.models import Runner
from workflows import dag
from workflows.models import Run, RunState, Task, TaskDependency, TaskState
from workflows.queue_events import notify_queued
from workflows.services.runs import runs_cancel
from workflows.services.tasks import run_finish_if_done

REQUEUEABLE_STATES = (TaskState.FAILED, TaskState.CANCELLED, TaskState.UPSTREAM_FAILED)
# A batch small enough for any database's parameter limit.
_BATCH = 500


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


# ---------------------------------------------------------------- queue and runs


def _descendants(edges: list[tuple[int, int]], starts: set[int]) -> set[int]:
    """One pass from every start at once (dag.descendants walks from a single node)."""
    children = defaultdict(list)
    for parent, child in edges:
        children[parent].append(child)
    seen: set[int] = set()
    stack = [child for start in starts for child in children[start]]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(children[node])
    return seen - starts


def _fail_downstream_of(removed_by_run: dict[int, set[int]], *, now) -> None:
    """Pending descendants of removed tasks can never start: they end as task_cancel's downstream does."""
    for run_id, removed in removed_by_run.items():
        edges = list(TaskDependency.objects.filter(run_id=run_id).values_list("parent_id", "child_id"))
        doomed = sorted(_descendants(edges, removed))
        for start in range(0, len(doomed), _BATCH):
            Task.objects.filter(pk__in=doomed[start : start + _BATCH], state=TaskState.PENDING).update(
                state=TaskState.UPSTREAM_FAILED, finished=now, error="an upstream task was removed from the queue"
            )


def queue_clear(*, tasks) -> int:
    """Cancels the queued tasks among `tasks`; then, committed, finishes the runs left with nothing to do."""
    removed = _queue_clear(tasks=tasks)
    # After the commit, as for every task outcome (workflows/services/tasks.py, run_finish_if_done).
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


# ---------------------------------------------------------------- runner switches


def runners_pause(*, runners) -> int:
    """A paused runner leases nothing new; what it runs goes on."""
    return runners.update(paused=True)


def runners_resume(*, runners) -> int:
    """Leases again; a shutdown not yet obeyed is withdrawn too (a drained runner that exited stays offline)."""
    return runners.update(paused=False, shutdown_requested=False)


def runners_drain(*, runners) -> int:
    """Pause plus shutdown: the runner finishes what it holds and exits."""
    return runners.update(paused=True, shutdown_requested=True)


def runner_shutdown_request(*, runner: Runner) -> Runner:
    Runner.objects.filter(pk=runner.pk).update(shutdown_requested=True)
    runner.shutdown_requested = True
    return runner


def runners_share_with_all(*, runners, shared: bool = True) -> int:
    """Sharing is honoured only for runners of staff users (a user's host runs only their own code)."""
    return runners.filter(owner__is_staff=True).update(shared_with_all=shared)


def shutdown_all() -> tuple[list[int], int, int]:
    cancelled, cleared = cancel_all()
    return cancelled, cleared, Runner.objects.update(shutdown_requested=True)
