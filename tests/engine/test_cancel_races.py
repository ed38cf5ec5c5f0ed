"""A cancelled run never has a queued or newly leased task (issue 11, item 5).

The failures a runner reports, the leases the reaper takes and the runner's own "cancelled" decide
whether the task goes back to the queue on the run's state and the task's cancel flag. Decided on a
copy read before a cancel committed, they put the task back in the queue of a cancelled run, where
the claim leased it again (a SLURM job submitted) until a heartbeat cancelled it. Now they re-read
both under the run row's lock (workflows/lifecycle/locks.py), the claim skips the tasks of a run
that is not running or is cancel-requested, and a requeue leaves a cancelled run alone. Each test
here failed before that: the stale-copy ones on both databases, the threaded ones where they race.
"""

import random
import threading
import time
import uuid

import pytest
from django.db import connection, connections

from runners import services
from runners.models import Runner
from tests.engine.conftest import add_node, register, start_run, workflow_of
from workflows.lifecycle import requeue as lifecycle_requeue
from workflows.lifecycle import run_cancel, task_cancelled, task_fail, task_lose, tasks_requeue
from workflows.models import HELD_TASK_STATES, Run, RunState, Task, TaskState

pytestmark = pytest.mark.usefixtures("engine_settings")


def _runner(owner, name="r"):
    row, _ = register(owner, f"{name}-{uuid.uuid4().hex[:6]}")
    return Runner.objects.select_related("owner").get(pk=row.pk)


def _lease(runner, max_tasks=1) -> list[dict]:
    return services.lease_tasks(runner=runner, max_tasks=max_tasks, wait_s=0, executors=["local"])


def _result(lease_id, state="failed", error="boom") -> dict:
    return {"lease_id": uuid.UUID(lease_id), "state": state, "outputs": {}, "error": error, "started": None,
            "finished": None}


def _independent(count: int, retries: int = 3) -> dict:
    return workflow_of([add_node(f"t{i}", a=i, requirements={"retries": retries}) for i in range(count)], [])


def assert_cancel_held(run_id: int) -> None:
    """The invariant: a cancelled run has no queued (or pending) task, and each held one is flagged."""
    run = Run.objects.get(pk=run_id)
    if run.state != RunState.CANCELLED:
        return
    states = list(Task.objects.filter(run_id=run_id).values_list("node", "state", "cancel_requested"))
    waiting = [(node, state) for node, state, _ in states if state in (TaskState.QUEUED, TaskState.PENDING)]
    assert not waiting, f"run {run_id} is cancelled but has waiting tasks {waiting}"
    unflagged = [node for node, state, flag in states if state in HELD_TASK_STATES and not flag]
    assert not unflagged, f"run {run_id} is cancelled but {unflagged} are held without cancel_requested"


# ---------------------------------------------------------------- decisions on a stale copy


@pytest.mark.parametrize("outcome", ["fail", "lose", "cancelled"])
@pytest.mark.django_db(transaction=True)
def test_an_outcome_decided_on_a_copy_read_before_the_cancel_does_not_requeue(owner, outcome):
    """The result handler and the reaper read the task, then a cancel commits, then they decide."""
    run = start_run(owner, _independent(1))
    runner = _runner(owner)
    [payload] = _lease(runner)
    stale = Task.objects.select_related("run").get(lease_id=payload["lease_id"])  # as results/reaper read it
    run_cancel(run=Run.objects.get(pk=run.pk))
    if outcome == "fail":
        result = task_fail(task=stale, error="boom", started=None, finished=None)
        assert result.state == TaskState.FAILED  # not retried: the run is cancelled
    elif outcome == "lose":
        result = task_lose(task=stale, reason="lease expired", expired_before=None)
        assert result.state == TaskState.CANCELLED
    else:  # the runner stopped it; it was asked to (the cancel), so it is not a lost lease
        result = task_cancelled(task=stale, error="", started=None, finished=None)
        assert result.state == TaskState.CANCELLED
    assert result.applied
    task = Task.objects.get(pk=stale.pk)
    assert task.state not in (TaskState.QUEUED, TaskState.PENDING), task.state
    assert task.lost_leases == 0  # a cancel is not a lost lease
    assert_cancel_held(run.pk)
    assert _lease(_runner(owner, "other"), 5) == []


# ---------------------------------------------------------------- the claim


@pytest.mark.django_db(transaction=True)
def test_the_claim_skips_tasks_of_a_cancelled_or_cancel_requested_run(owner):
    """Whatever left a queued task in a cancelled run, or flagged a queued task, the claim does not lease it."""
    cancelled = start_run(owner, _independent(2), name="cancelled")
    flagged = start_run(owner, _independent(1), name="flagged")
    run_cancel(run=Run.objects.get(pk=cancelled.pk))
    # A task back in the queue of the cancelled run (what the races above produced), and a queued task
    # flagged cancel_requested (a cancel of it that met it between held and queued).
    Task.objects.filter(run=cancelled, node="t0").update(state=TaskState.QUEUED, finished=None)
    Task.objects.filter(run=flagged).update(cancel_requested=True)
    assert _lease(_runner(owner), 10) == []
    fine = start_run(owner, _independent(1), name="fine")
    [payload] = _lease(_runner(owner, "second"), 10)
    assert payload["run_id"] == fine.pk


def _race_round(owner, run, delay_s: float) -> None:
    """Two runners lease and fail the run's tasks (retried at once) while a thread cancels the run."""
    runners = [_runner(owner, f"w{run.pk}-{i}") for i in range(2)]
    cancelled_at = []
    late_leases = []
    stop = threading.Event()
    errors = []

    def work(runner):
        try:
            while not stop.is_set():
                asked = time.monotonic()
                payloads = _lease(runner, 2)
                if cancelled_at and asked > cancelled_at[0]:
                    late_leases.extend(p["task_id"] for p in payloads if p["run_id"] == run.pk)
                if payloads:
                    services.results_report(runner=runner, results=[_result(p["lease_id"]) for p in payloads])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def cancel():
        try:
            time.sleep(delay_s)
            run_cancel(run=Run.objects.get(pk=run.pk))
            cancelled_at.append(time.monotonic())
            time.sleep(0.2)  # the workers go on a while after the cancel
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()
            connections.close_all()

    threads = [threading.Thread(target=work, args=(runner,)) for runner in runners]
    threads.append(threading.Thread(target=cancel))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert_cancel_held(run.pk)
    assert not late_leases, f"leased after the cancel: {late_leases}"
    assert Run.objects.get(pk=run.pk).state == RunState.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_cancel_racing_leases_and_retried_failures_many_rounds(owner, settings):
    """Threads: runners leasing and failing tasks (retried at once) while the run is cancelled.

    Afterwards the cancelled run has no queued task and every held one is flagged; and no lease call
    that started after the cancel returned got a task of the run."""
    settings.RETRY_BACKOFF_BASE_S = 0.0  # a failed task is back in the queue at once
    settings.RETRY_BACKOFF_CAP_S = 0.0
    rng = random.Random(11)
    problems = []
    for round_no in range(25 if connection.vendor == "postgresql" else 12):
        run = start_run(owner, _independent(6, retries=50), name=f"race{round_no}")
        try:
            _race_round(owner, run, rng.uniform(0.0, 0.15))
        except AssertionError as exc:
            problems.append(f"round {round_no}: {exc}")
    assert not problems, problems


# ---------------------------------------------------------------- requeue


@pytest.mark.django_db(transaction=True)
def test_requeue_after_cancel_leaves_the_run_cancelled(owner):
    run = start_run(owner, _independent(3, retries=0))
    runner = _runner(owner)
    [payload] = _lease(runner)
    services.results_report(runner=runner, results=[_result(payload["lease_id"])])  # failed for good
    run_cancel(run=Run.objects.get(pk=run.pk))
    before = dict(Task.objects.filter(run=run).values_list("pk", "state"))
    assert tasks_requeue(tasks=Task.objects.filter(run=run)) == 0
    assert dict(Task.objects.filter(run=run).values_list("pk", "state")) == before
    assert Run.objects.get(pk=run.pk).state == RunState.CANCELLED
    assert_cancel_held(run.pk)
    assert _lease(_runner(owner, "other"), 5) == []


@pytest.mark.django_db(transaction=True)
def test_a_cancel_arriving_while_a_requeue_decides_waits_for_it(owner, monkeypatch):
    """PostgreSQL: the cancel starts while the requeue has read the run's tasks and not yet written.
    It must wait for the requeue (the run row, locked first by both) and then cancel what came back.
    Before, it cancelled the waiting tasks at once, the requeue then queued its own, and the run
    ended cancelled with queued tasks. (SQLite serialises the two transactions: the same end.)"""
    run = start_run(owner, _independent(3, retries=0))
    runner = _runner(owner)
    [payload] = _lease(runner)
    services.results_report(runner=runner, results=[_result(payload["lease_id"])])  # failed, run still running
    failed = Task.objects.get(lease_id=payload["lease_id"])
    original = lifecycle_requeue._requeue_closure
    errors = []

    def cancel():
        try:
            run_cancel(run=Run.objects.get(pk=run.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    canceller = threading.Thread(target=cancel)

    def closure_then_let_the_cancel_in(*args):
        canceller.start()
        time.sleep(0.5)  # the cancel goes as far as its locks let it
        return original(*args)

    monkeypatch.setattr(lifecycle_requeue, "_requeue_closure", closure_then_let_the_cancel_in)
    if connection.vendor == "postgresql":
        assert tasks_requeue(tasks=Task.objects.filter(pk=failed.pk)) == 1
    else:
        canceller.start()  # SQLite: a second writer cannot start inside the requeue; cancel first
        canceller.join(timeout=30)
        monkeypatch.setattr(lifecycle_requeue, "_requeue_closure", original)
        assert tasks_requeue(tasks=Task.objects.filter(pk=failed.pk)) == 0
    canceller.join(timeout=30)
    assert not errors, errors
    assert Run.objects.get(pk=run.pk).state == RunState.CANCELLED
    assert_cancel_held(run.pk)
    assert _lease(_runner(owner, "other"), 5) == []


# ---------------------------------------------------------------- costs that grew with the run (issue 12)


@pytest.mark.django_db(transaction=True)
def test_a_failure_walks_only_its_descendants_and_a_requeue_is_set_based(owner):
    """A failure used to load every edge of the run (once per failed task) to find its descendants; a
    requeue updated its tasks one statement each. Now: one recursive statement, a few UPDATEs."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from tests.engine.conftest import fan_out

    run = start_run(owner, fan_out(60))  # src -> m000..m059 -> sink
    runner = _runner(owner)
    [payload] = _lease(runner)  # src, the only queued task
    with CaptureQueriesContext(db) as failure:
        services.results_report(runner=runner, results=[_result(payload["lease_id"])])  # no retries: failed
    states = dict(Task.objects.filter(run=run).values_list("node", "state"))
    assert states.pop("src") == TaskState.FAILED
    assert set(states.values()) == {TaskState.UPSTREAM_FAILED}, states
    whole_run_edges = [q["sql"] for q in failure.captured_queries
                       if "workflows_taskdependency" in q["sql"] and "run_id" in q["sql"]]
    assert not whole_run_edges, whole_run_edges

    with CaptureQueriesContext(db) as requeue:
        assert tasks_requeue(tasks=Task.objects.filter(run=run, node="src")) == 62
    updates = [q["sql"] for q in requeue.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert len(updates) <= 4, f"{len(updates)} UPDATEs for 62 tasks"
    states = dict(Task.objects.filter(run=run).values_list("node", "state"))
    assert states.pop("src") == TaskState.QUEUED
    assert set(states.values()) == {TaskState.PENDING}
    assert Run.objects.get(pk=run.pk).state == RunState.RUNNING
