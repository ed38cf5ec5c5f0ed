"""Expired leases: re-queued with the next attempt, fenced, and capped by MAX_LOST_LEASES."""

import time

import pytest

from runners import services
from tests.engine.conftest import ProtocolRunner, add_node, connection, register, start_run, tasks_by_node, workflow_of
from workflows.models import Task, TaskLog

pytestmark = pytest.mark.usefixtures("engine_settings")

TTL = 0.5


def a_then_b() -> dict:
    return workflow_of([add_node("A", a=1), add_node("B", a=[0])], [connection("A", "B")])


def snapshot(task_id: int) -> dict:
    row = Task.objects.filter(pk=task_id).values().get()
    row["logs"] = list(TaskLog.objects.filter(task_id=task_id).values_list("attempt", "size", "data"))
    return row


@pytest.fixture
def short_leases(engine_settings):
    engine_settings.LEASE_TTL_S = TTL
    engine_settings.REAPER_INTERVAL_S = 3600  # only the explicit reaper, unless a test says otherwise
    return engine_settings


def expire() -> None:
    time.sleep(TTL + 0.15)


@pytest.mark.django_db
@pytest.mark.parametrize("heartbeated", [True, False], ids=["heartbeated", "never-heartbeated"])
def test_reaper_requeues_expired_lease_with_next_attempt(owner, owner_runner, short_leases, heartbeated):
    run = start_run(owner, a_then_b())
    _, client = owner_runner
    [task] = client.lease()
    assert task["attempt"] == 1
    if heartbeated:
        status, answer = client.heartbeat([task["lease_id"]], {task["lease_id"]: {"pid": 1}})
        assert status == 200 and answer["leases"][task["lease_id"]] == "ok"
        assert Task.objects.get(pk=task["task_id"]).state == "running"
    assert services.lease_reap() == 0, "nothing has expired yet"
    expire()
    assert services.lease_reap() == 1
    assert services.lease_reap() == 0, "a lease is counted lost once"
    a = Task.objects.get(pk=task["task_id"])
    assert (a.state, a.attempt, a.lost_leases, a.lease_id, a.runner_id) == ("queued", 2, 1, None, None)
    assert tasks_by_node(run)["B"].state == "pending"
    [again] = client.lease()
    assert (again["task_id"], again["attempt"]) == (task["task_id"], 2)
    assert again["lease_id"] != task["lease_id"]


@pytest.mark.django_db
def test_lease_call_treats_expired_leases_as_free(owner, short_leases):
    """With REAPER_INTERVAL_S=0 no reaper is needed: the next lease call reaps and takes the task."""
    short_leases.REAPER_INTERVAL_S = 0
    start_run(owner, a_then_b())
    first = ProtocolRunner(register(owner, "first")[1])
    second = ProtocolRunner(register(owner, "second")[1])
    [task] = first.lease()
    assert second.lease() == [], "a current lease is not free"
    expire()
    [taken] = second.lease()
    assert (taken["task_id"], taken["attempt"]) == (task["task_id"], 2)
    # The first runner's lease is now stale everywhere.
    status, answer = first.heartbeat([task["lease_id"]])
    assert status == 409 and answer["leases"] == {task["lease_id"]: "lost"}
    status, answer = first.result(task["lease_id"], "succeeded", {"out": 1})
    assert status == 409 and not answer["results"][0]["accepted"]
    assert Task.objects.get(pk=task["task_id"]).lease_id.hex == taken["lease_id"].replace("-", "")


@pytest.mark.django_db
@pytest.mark.parametrize("relet", ["queued", "leased-to-other-runner"])
def test_old_lease_gets_409_and_changes_nothing(owner, owner_runner, short_leases, relet):
    start_run(owner, a_then_b())
    _, client = owner_runner
    [task] = client.lease()
    assert client.log(task["lease_id"], 0, "attempt 1\n")[0] == 200
    expire()
    services.lease_reap()
    if relet == "leased-to-other-runner":
        other = ProtocolRunner(register(owner, "other")[1])
        [current] = other.lease()
        assert current["attempt"] == 2
    before = snapshot(task["task_id"])

    status, answer = client.heartbeat([task["lease_id"]], {task["lease_id"]: {"pid": 1}})
    assert status == 409 and answer["leases"] == {task["lease_id"]: "lost"}
    status, answer = client.log(task["lease_id"], len("attempt 1\n"), "late line\n")
    assert status == 409, answer
    status, answer = client.result(task["lease_id"], "succeeded", {"out": 123})
    assert status == 409, answer
    assert answer["results"][0]["accepted"] is False
    status, answer = client.result(task["lease_id"], "failed", error="boom")
    assert status == 409, answer
    assert snapshot(task["task_id"]) == before


@pytest.mark.django_db
def test_old_lease_result_is_409_when_the_same_runner_holds_the_new_lease(owner, owner_runner, short_leases):
    """Regression: a lost lease is not a reported result, so its late result is not a "duplicate" (was 200)."""
    start_run(owner, a_then_b())
    _, client = owner_runner
    [task] = client.lease()
    expire()
    services.lease_reap()
    [current] = client.lease()
    assert (current["task_id"], current["attempt"]) == (task["task_id"], 2)
    before = snapshot(task["task_id"])
    status, answer = client.result(task["lease_id"], "succeeded", {"out": 123})
    assert snapshot(task["task_id"]) == before  # holds either way
    assert status == 409 and answer["results"][0]["accepted"] is False, answer


@pytest.mark.django_db
def test_lost_lease_cap_fails_task_and_downstream(owner, owner_runner, short_leases):
    short_leases.MAX_LOST_LEASES = 2
    workflow = workflow_of(
        [add_node("A", a=1), add_node("B", a=[0]), add_node("C", a=[0]), add_node("solo", a=2)],
        [connection("A", "B"), connection("B", "C")],
    )
    run = start_run(owner, workflow)
    _, client = owner_runner
    # The independent node succeeds.
    leased = client.lease(max_tasks=10)
    assert sorted(t["node"]["uniquename"] for t in leased) == ["A", "solo"]
    solo = next(t for t in leased if t["node"]["uniquename"] == "solo")
    assert client.result(solo["lease_id"], "succeeded", {"out": 3})[0] == 200
    expire()
    assert services.lease_reap() == 1
    [a2] = client.lease()
    assert a2["attempt"] == 2
    expire()
    assert services.lease_reap() == 1
    tasks = tasks_by_node(run)
    assert (tasks["A"].state, tasks["A"].lost_leases) == ("failed", 2)
    assert "lost 2 times" in tasks["A"].error
    assert tasks["B"].state == tasks["C"].state == "upstream_failed"
    assert tasks["solo"].state == "succeeded"
    run.refresh_from_db()
    assert run.state == "failed" and run.finished is not None
    assert client.lease(max_tasks=10) == []
    status, answer = client.heartbeat([a2["lease_id"]])
    assert status == 409 and answer["leases"] == {a2["lease_id"]: "lost"}


@pytest.mark.django_db
def test_late_result_of_the_lease_that_hit_the_cap_is_409(owner, owner_runner, short_leases):
    """Regression: the lease whose loss failed the task is not remembered as a reported result (was 200)."""
    short_leases.MAX_LOST_LEASES = 1
    run = start_run(owner, workflow_of([add_node("A", a=1)], []))
    _, client = owner_runner
    [task] = client.lease()
    expire()
    assert services.lease_reap() == 1
    assert tasks_by_node(run)["A"].state == "failed"
    before = snapshot(task["task_id"])
    status, answer = client.result(task["lease_id"], "succeeded", {"out": 1})
    assert snapshot(task["task_id"]) == before
    assert status == 409 and answer["results"][0]["accepted"] is False, answer


@pytest.mark.django_db
def test_reaper_runs_are_idempotent_under_default_cap(owner, owner_runner, short_leases):
    """Default MAX_LOST_LEASES=3: the third lost lease fails the task, not the second."""
    run = start_run(owner, workflow_of([add_node("A", a=1)], []))
    _, client = owner_runner
    for attempt in (1, 2, 3):
        [task] = client.lease()
        assert task["attempt"] == attempt
        expire()
        assert services.lease_reap() == 1
        assert services.lease_reap() == 0
    a = tasks_by_node(run)["A"]
    assert (a.state, a.lost_leases, a.attempt) == ("failed", 3, 3)
    run.refresh_from_db()
    assert run.state == "failed"
