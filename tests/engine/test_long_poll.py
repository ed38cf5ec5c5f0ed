"""Long-poll leases: an empty answer after wait_s, and a prompt answer when work is queued meanwhile."""

import threading
import time

import pytest
from django.db import connections

from runners import services
from runners.models import Runner
from tests.engine.conftest import ProtocolRunner, add_node, no_op_nodes, publish_workflow, register, start_run, workflow_of
from workflows.services.runs import run_create

pytestmark = pytest.mark.usefixtures("engine_settings")


@pytest.mark.django_db(transaction=True)
def test_lease_with_no_work_returns_empty_after_wait_s(live_server, owner):
    client = ProtocolRunner(register(owner, "idle")[1], base_url=live_server.url)
    started = time.monotonic()
    assert client.lease(wait_s=1.5) == []
    elapsed = time.monotonic() - started
    assert 1.4 <= elapsed < 2.5, elapsed


@pytest.mark.django_db
def test_wait_s_is_capped_by_lease_max_wait(owner, owner_runner, engine_settings):
    engine_settings.LEASE_MAX_WAIT_S = 0.3
    _, client = owner_runner
    started = time.monotonic()
    assert client.lease(wait_s=25) == []
    assert time.monotonic() - started < 1.5
    status, _ = client.post("lease", {"max_tasks": 1, "wait_s": 31, "executors": ["local"]})
    assert status == 400


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("poll_interval", [2.0, 0.05], ids=["wakeup", "polling"])
def test_waiting_lease_returns_promptly_when_a_task_is_queued(owner, engine_settings, poll_interval):
    """With a 2 s poll interval the answer can only be prompt if run_create's commit wakes the waiting thread."""
    engine_settings.LEASE_MAX_WAIT_S = 10
    engine_settings.LEASE_POLL_INTERVAL_S = poll_interval
    runner_row, _ = register(owner, "waiter")
    workflow = publish_workflow(owner, workflow_of([add_node("late", a=1)], []))
    answer: dict = {}

    def wait_for_work():
        try:
            runner = Runner.objects.select_related("owner").get(pk=runner_row.pk)
            answer["started"] = time.monotonic()
            answer["tasks"] = services.lease_tasks(runner=runner, max_tasks=1, wait_s=8, executors=["local"])
            answer["returned"] = time.monotonic()
        finally:
            connections.close_all()

    thread = threading.Thread(target=wait_for_work)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), "the lease must be waiting"
    created_at = time.monotonic()
    run = run_create(user=owner, workflow=workflow)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert [t["run_id"] for t in answer["tasks"]] == [run.pk]
    assert answer["returned"] - created_at < 0.5, answer["returned"] - created_at


@pytest.mark.django_db(transaction=True)
def test_waiting_http_lease_returns_promptly_when_a_task_is_queued(live_server, owner, engine_settings):
    engine_settings.LEASE_MAX_WAIT_S = 10
    client = ProtocolRunner(register(owner, "waiter")[1], base_url=live_server.url)
    answer: dict = {}

    def wait_for_work():
        answer["tasks"] = client.lease(wait_s=8)
        answer["returned"] = time.monotonic()

    thread = threading.Thread(target=wait_for_work)
    thread.start()
    time.sleep(0.5)
    created_at = time.monotonic()
    start_run(owner, workflow_of([add_node("late", a=1)], []))
    thread.join(timeout=10)
    assert len(answer["tasks"]) == 1
    assert answer["returned"] - created_at < 1.0


@pytest.mark.django_db
def test_with_every_waiting_slot_taken_a_lease_still_gets_work_but_never_waits(owner, engine_settings):
    engine_settings.LEASE_MAX_WAITERS = 0
    engine_settings.LEASE_BUSY_RETRY_S = 4.0
    runner, _ = register(owner, "turned-away")
    started = time.monotonic()
    with pytest.raises(services.LongPollsFull) as full:
        services.lease_tasks(runner=runner, max_tasks=1, wait_s=2, executors=["local"])
    assert time.monotonic() - started < 1
    assert 2.0 <= full.value.retry_after_s <= 4.0  # jittered over the upper half
    run = start_run(owner, no_op_nodes(1))
    # The claim comes before the wait: work that is there is handed out whatever the slots.
    assert [t["run_id"] for t in services.lease_tasks(runner=runner, max_tasks=1, wait_s=2, executors=["local"])] == [run.pk]


@pytest.mark.django_db(transaction=True)
def test_past_the_waiter_cap_a_lease_call_answers_at_once_with_retry_after(live_server, owner, engine_settings):
    engine_settings.LEASE_MAX_WAITERS = 1
    engine_settings.LEASE_BUSY_RETRY_S = 3.0
    first = ProtocolRunner(register(owner, "first")[1], base_url=live_server.url)
    second = ProtocolRunner(register(owner, "second")[1], base_url=live_server.url)
    body = {"max_tasks": 1, "wait_s": 1.5, "executors": ["local"]}
    waited: dict = {}

    def wait_in_the_only_slot():
        started = time.monotonic()
        waited["answer"] = first.post("lease", body)
        waited["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=wait_in_the_only_slot)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), "the first lease must be waiting"
    started = time.monotonic()
    status, answer = second.post("lease", body)
    assert time.monotonic() - started < 0.5
    assert status == 200 and answer["tasks"] == [] and 1.5 <= answer["retry_after_s"] <= 3.0, answer
    thread.join(timeout=5)
    assert waited["answer"] == (200, {"tasks": []}) and waited["seconds"] >= 1.4, waited
    # The slot is free again once the first call has answered: the next one waits its wait_s.
    started = time.monotonic()
    assert second.post("lease", body) == (200, {"tasks": []})
    assert time.monotonic() - started >= 1.4
