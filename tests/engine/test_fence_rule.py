"""The one fence rule (workflows/lifecycle/fence.py): a lease is current until a transition of its task
ends it. Expiry alone does not: it lets the reaper take the lease. Until the reaper has, heartbeats,
logs, artifacts and results of an expired lease are accepted alike; once it has, all get 409."""

import threading
import time
import uuid

import pytest
from django.utils import timezone

from runners import services
from tests.engine.conftest import ProtocolRunner, add_node, connection, register, start_run, workflow_of
from workflows.lifecycle import leases, task_lose
from workflows.models import Task, TaskLog

pytestmark = pytest.mark.usefixtures("engine_settings")

TTL = 0.5


@pytest.fixture
def expiring(engine_settings, monkeypatch):
    """Short leases, and no reaper unless a test calls it (or sets REAPER_INTERVAL_S to 0)."""
    engine_settings.LEASE_TTL_S = TTL
    engine_settings.REAPER_INTERVAL_S = 3600
    monkeypatch.setattr(leases, "_last_reap", time.monotonic())
    return engine_settings


def expire() -> None:
    time.sleep(TTL + 0.15)


def a_then_b() -> dict:
    return workflow_of([add_node("A", a=1), add_node("B", a=[0])], [connection("A", "B")])


@pytest.mark.django_db
def test_an_expired_lease_nobody_reaped_is_still_current_for_every_call(owner, owner_runner, expiring):
    start_run(owner, a_then_b())
    _, client = owner_runner
    [task] = client.lease()
    expire()
    status, answer = client.heartbeat([task["lease_id"]], {task["lease_id"]: {"pid": 7}})
    assert status == 200 and answer["leases"] == {task["lease_id"]: "ok"}, "expiry alone does not end a lease"
    row = Task.objects.get(pk=task["task_id"])
    assert row.state == "running" and row.attempt == 1
    expire()
    status, _ = client.log(task["lease_id"], 0, "still here\n")
    assert status == 200
    assert TaskLog.objects.get(task_id=task["task_id"]).data == "still here\n"
    status, answer = client.upload(task["lease_id"], "out.txt", b"data")
    assert status == 201, answer
    status, answer = client.result(task["lease_id"], "succeeded", {"out": 2})
    assert status == 200 and answer["results"][0]["accepted"] is True
    assert Task.objects.get(pk=task["task_id"]).state == "succeeded"
    assert [t["node"]["uniquename"] for t in answer["next"]] == ["B"], "its successor comes back as usual"


@pytest.mark.django_db
def test_once_reaped_every_call_of_the_old_lease_gets_409(owner, owner_runner, expiring):
    start_run(owner, a_then_b())
    _, client = owner_runner
    [task] = client.lease()
    expire()
    assert services.lease_reap() == 1
    status, answer = client.heartbeat([task["lease_id"]])
    assert status == 409 and answer["leases"] == {task["lease_id"]: "lost"}
    assert client.log(task["lease_id"], 0, "late\n")[0] == 409
    assert client.upload(task["lease_id"], "out.txt", b"data")[0] == 409
    status, answer = client.result(task["lease_id"], "succeeded", {"out": 2})
    assert status == 409 and answer["results"][0]["accepted"] is False


@pytest.mark.django_db
def test_a_heartbeat_reaps_first_when_the_reaper_is_due(owner, owner_runner, expiring):
    """Runner calls reap at most every REAPER_INTERVAL_S: an expired lease is answered lost soon after
    its expiry even where no django-q2 cluster runs."""
    start_run(owner, a_then_b())
    _, client = owner_runner
    [task] = client.lease()
    expire()
    expiring.REAPER_INTERVAL_S = 0
    status, answer = client.heartbeat([task["lease_id"]])
    assert status == 409 and answer["leases"] == {task["lease_id"]: "lost"}
    row = Task.objects.get(pk=task["task_id"])
    assert (row.state, row.attempt, row.lost_leases) == ("queued", 2, 1)


@pytest.mark.django_db
def test_a_heartbeat_that_extends_an_expired_lease_wins_over_a_reaper_that_read_it_before(
    owner, owner_runner, expiring
):
    """The reaper's outcome is conditional on the lease still being expired: of the two, one wins."""
    start_run(owner, a_then_b())
    runner, client = owner_runner
    [task] = client.lease()
    expire()
    read_by_reaper = Task.objects.select_related("run").get(pk=task["task_id"])
    reaper_clock = timezone.now()
    answer = services.lease_heartbeat(runner=runner, lease_ids=[uuid.UUID(task["lease_id"])], running={})
    assert answer.leases == {task["lease_id"]: "ok"}
    outcome = task_lose(task=read_by_reaper, reason="expired", expired_before=reaper_clock)
    assert not outcome.applied
    row = Task.objects.get(pk=task["task_id"])
    assert (row.state, row.attempt, row.lost_leases) == ("leased", 1, 0)
    assert services.lease_reap() == 0, "the extended lease is not expired any more"


@pytest.mark.django_db
def test_the_lease_is_the_runners_alone(owner, expiring):
    start_run(owner, a_then_b())
    first = ProtocolRunner(register(owner, "first")[1])
    second = ProtocolRunner(register(owner, "second")[1])
    [task] = first.lease()
    expire()
    status, answer = second.heartbeat([task["lease_id"]])
    assert status == 409 and answer["leases"] == {task["lease_id"]: "lost"}
    assert second.log(task["lease_id"], 0, "not mine\n")[0] == 409
    status, answer = second.result(task["lease_id"], "succeeded", {"out": 2})
    assert status == 409 and answer["results"][0]["accepted"] is False
    assert Task.objects.get(pk=task["task_id"]).state == "leased"


@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_waits_for_a_reap_under_way_in_another_thread(owner, owner_runner, expiring, monkeypatch):
    # A runner back after its lease expired sends a lease call and a heartbeat at once (two threads of
    # one server process). The heartbeat must not slip past the reap the lease call started: it would
    # extend the lease, the reap would then find it unexpired, and the runner would hear "ok".
    _, client = owner_runner
    start_run(owner, a_then_b())
    [task] = client.lease()
    expire()
    real_reap, reaping = leases.lease_reap, threading.Event()

    def slow_reap(**kwargs):
        reaping.set()
        time.sleep(0.3)
        return real_reap(**kwargs)

    monkeypatch.setattr(leases, "lease_reap", slow_reap)
    expiring.REAPER_INTERVAL_S = 1.0
    monkeypatch.setattr(leases, "_last_reap", 0.0)
    reaper = threading.Thread(target=leases.lease_reap_if_due)
    reaper.start()
    assert reaping.wait(5)
    _, answer = client.heartbeat([task["lease_id"]])
    reaper.join(10)
    assert answer["leases"][task["lease_id"]] == "lost"
    assert Task.objects.get(pk=task["task_id"]).state == "queued"
