"""Two last results of a run reported at the same moment: the run must still finish.

Were "is anything unfinished?" asked inside each outcome's transaction, two overlapping ones on
PostgreSQL (READ COMMITTED) would each see the other's task still running and neither would finish
the run. The engine asks after its commit (run_finish_if_done), so the later of the two sees both.
SQLite's IMMEDIATE transactions serialise them anyway.
"""

import contextlib
import threading
import uuid

import pytest
from django.db import connections

from runners import services
from runners.models import Runner
from tests.engine.conftest import add_node, register, start_run, workflow_of
from workflows.lifecycle import results as lifecycle_results
from workflows.lifecycle import run_cancel
from workflows.models import Run

pytestmark = pytest.mark.usefixtures("engine_settings")


def _report_concurrently(run) -> None:
    """Two runners each hold one of the run's two tasks and report them at once."""
    leases = []
    for i in range(2):
        runner_row, _ = register(run.created_by, f"racer-{run.pk}-{i}")
        runner = Runner.objects.select_related("owner").get(pk=runner_row.pk)
        [task] = services.lease_tasks(runner=runner, max_tasks=1, wait_s=0, executors=["local"])
        leases.append((runner_row.pk, task["lease_id"]))
    start = threading.Barrier(2, timeout=10)
    errors = []

    def report(runner_id, lease_id):
        try:
            runner = Runner.objects.select_related("owner").get(pk=runner_id)
            result = {
                "lease_id": uuid.UUID(lease_id),
                "state": "succeeded",
                "outputs": {"out": 1},
                "error": "",
                "started": None,
                "finished": None,
            }
            start.wait()
            answers, _ = services.results_report(runner=runner, results=[result])
            assert answers[0].accepted
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=report, args=lease) for lease in leases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_two_last_results_at_once_finish_the_run(owner, monkeypatch):
    """Deterministic: both outcome transactions are held just before their "anything unfinished?" check
    until the other one got there too (on SQLite the second cannot start, the rendezvous times out)."""
    original = lifecycle_results.run_finish_if_done
    meet = threading.Barrier(2, timeout=1.0)

    def held_finish(*, run_id):
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait()
        return original(run_id=run_id)

    monkeypatch.setattr(lifecycle_results, "run_finish_if_done", held_finish)
    run = start_run(owner, workflow_of([add_node("x", a=1), add_node("y", a=2)], []))
    _report_concurrently(run)
    assert set(run.tasks.values_list("state", flat=True)) == {"succeeded"}
    assert Run.objects.get(pk=run.pk).state == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_many_runs_with_simultaneous_last_results_all_finish(owner):
    """The same race without any instrumentation, 30 times."""
    stuck = []
    for i in range(30):
        run = start_run(owner, workflow_of([add_node("x", a=1), add_node("y", a=2)], []), name=f"race{i}")
        _report_concurrently(run)
        if Run.objects.get(pk=run.pk).state != "succeeded":
            stuck.append(run.pk)
    assert not stuck, f"{len(stuck)} of 30 runs stuck in 'running' with every task succeeded"



@pytest.mark.django_db(transaction=True)
def test_cancel_racing_the_last_result_does_not_deadlock(owner, monkeypatch):
    original = lifecycle_results.run_finish_if_done
    at_finish = threading.Event()

    def slow_finish(*, run_id):
        at_finish.set()
        threading.Event().wait(0.5)  # the cancel gets the run row meanwhile (PostgreSQL)
        return original(run_id=run_id)

    monkeypatch.setattr(lifecycle_results, "run_finish_if_done", slow_finish)
    run = start_run(owner, workflow_of([add_node("only", a=1)], []))
    runner_row, _ = register(owner, "r")
    runner = Runner.objects.select_related("owner").get(pk=runner_row.pk)
    [task] = services.lease_tasks(runner=runner, max_tasks=1, wait_s=0, executors=["local"])
    errors = []

    def report():
        try:
            result = {
                "lease_id": uuid.UUID(task["lease_id"]),
                "state": "succeeded",
                "outputs": {"out": 1},
                "error": "",
                "started": None,
                "finished": None,
            }
            services.results_report(runner=Runner.objects.select_related("owner").get(pk=runner_row.pk), results=[result])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def cancel():
        try:
            at_finish.wait(timeout=10)
            run_cancel(run=Run.objects.get(pk=run.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=report), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert Run.objects.get(pk=run.pk).state in ("succeeded", "cancelled")
