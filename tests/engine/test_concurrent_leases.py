"""50 concurrent lease calls for 10 queued tasks: each task is leased exactly once.

Real database connections (one per thread, committed data), started together by a barrier:
100 rounds calling the service, and one round over HTTP against a live server.

On SQLite, claims from threads of one process queue on a lock in front of the database's write
lock (runners/services.py): without it a round of 50 contending write transactions cost ~1 s of
busy-handler sleeps. NODEWORKS_TEST_LEASE_ROUNDS sets another number of rounds.
"""

import json
import os
import sys
import threading
import urllib.request

import pytest
from django.db import connections

from runners import services
from runners.models import Runner
from runners.scope import runner_scope
from tests.engine.conftest import PROTOCOL, no_op_nodes, register, start_run
from workflows.lifecycle import tasks_claim
from workflows.models import Task, TaskState

pytestmark = pytest.mark.usefixtures("engine_settings")

THREADS = 50
TASKS = 10


def _rounds() -> int:
    return int(os.environ.get("NODEWORKS_TEST_LEASE_ROUNDS", "100"))


@pytest.fixture
def quick_thread_switches():
    """50 threads share one GIL: a 0.5 ms switch interval (default 5 ms) lets the lock holder finish sooner."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    yield
    sys.setswitchinterval(previous)


def _requeue_all(run) -> None:
    Task.objects.filter(run=run).update(state=TaskState.QUEUED, lease_id=None, runner=None, leased_at=None, expires_at=None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("quick_thread_switches")
def test_fifty_concurrent_claims_lease_each_task_once_for_100_rounds(owner):
    rounds = _rounds()
    run = start_run(owner, no_op_nodes(TASKS))
    runner_ids = [register(owner, f"r{i}")[0].pk for i in range(5)]  # ten threads per runner row
    start = threading.Barrier(THREADS + 1, timeout=60)
    done = threading.Barrier(THREADS + 1, timeout=60)
    got: list[list] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker(i: int) -> None:
        try:
            runner = Runner.objects.select_related("owner").get(pk=runner_ids[i % len(runner_ids)])
            for _ in range(rounds):
                start.wait()
                if stop.is_set():
                    return
                try:
                    # lease_tasks with wait_s=0 on even threads, the bare claim on odd ones: both paths race.
                    if i % 2:
                        got[i] = [
                            (t.pk, str(t.lease_id), runner.pk)
                            for t in tasks_claim(runner_scope(runner), max_tasks=1, executors=["local"])
                        ]
                    else:
                        got[i] = [
                            (t["task_id"], t["lease_id"], runner.pk)
                            for t in services.lease_tasks(runner=runner, max_tasks=1, wait_s=0, executors=["local"])
                        ]
                except BaseException as exc:
                    errors.append(exc)
                done.wait()
        except threading.BrokenBarrierError:
            pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,), name=f"leaser-{i}") for i in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        for round_no in range(rounds):
            _requeue_all(run)
            for slot in got:
                slot.clear()
            start.wait()
            done.wait()
            assert not errors, f"round {round_no}: {errors[0]!r}"
            leases = [lease for slot in got for lease in slot]
            task_ids = [task_id for task_id, _, _ in leases]
            assert len(task_ids) == TASKS, f"round {round_no}: {len(task_ids)} leases for {TASKS} tasks"
            assert len(set(task_ids)) == TASKS, f"round {round_no}: a task was leased twice"
            assert sum(1 for slot in got if slot) == TASKS, "each successful call took exactly one task"
            stored = {t.pk: (str(t.lease_id), t.runner_id, t.state) for t in Task.objects.filter(run=run)}
            for task_id, lease_id, runner_id in leases:
                assert stored[task_id] == (lease_id, runner_id, "leased"), f"round {round_no}: task {task_id}"
    finally:
        stop.set()
        start.abort()
        done.abort()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("quick_thread_switches")
def test_fifty_concurrent_http_leases_lease_each_task_once(wide_live_server, owner):
    run = start_run(owner, no_op_nodes(TASKS))
    tokens = [register(owner, f"r{i}")[1] for i in range(5)]
    barrier = threading.Barrier(THREADS, timeout=60)
    answers: list = [None] * THREADS
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            request = urllib.request.Request(
                wide_live_server + "/api/v1/runners/lease",
                data=json.dumps({"max_tasks": 1, "wait_s": 0, "executors": ["local"]}).encode(),
                method="POST",
                headers={
                    "Authorization": f"Runner {tokens[i % len(tokens)]}",
                    "X-Nodeworks-Protocol": PROTOCOL,
                    "Content-Type": "application/json",
                },
            )
            barrier.wait()
            with urllib.request.urlopen(request, timeout=60) as response:
                answers[i] = (response.status, json.loads(response.read()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not errors, errors[0]
    assert all(status == 200 for status, _ in answers)
    leased = [task for _, body in answers for task in body["tasks"]]
    assert len(leased) == TASKS
    assert len({task["task_id"] for task in leased}) == TASKS
    stored = {t.pk: str(t.lease_id) for t in Task.objects.filter(run=run, state="leased")}
    assert stored == {task["task_id"]: task["lease_id"] for task in leased}
