"""Results: duplicates, foreign leases, retries with backoff, cancel, and set-based child release."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from runners import services
from runners.models import Runner
from tests.engine.conftest import (
    ProtocolRunner,
    add_node,
    diamond,
    fan_out,
    register,
    start_run,
    tasks_by_node,
    workflow_of,
)
from tests.engine.conftest import (
    connection as conn,
)
from workflows.lifecycle import retry_backoff, run_cancel
from workflows.models import Task

pytestmark = pytest.mark.usefixtures("engine_settings")


def by_name(tasks: list[dict]) -> dict[str, dict]:
    return {t["node"]["uniquename"]: t for t in tasks}


# ---------------------------------------------------------------- duplicates and foreign leases


@pytest.mark.django_db
def test_duplicate_result_completes_once(owner, owner_runner):
    run = start_run(owner, diamond())
    _, client = owner_runner
    [top] = client.lease()
    status, first = client.result(top["lease_id"], "succeeded", {"out": 6})
    assert status == 200 and first["results"][0]["accepted"] and not first["results"][0].get("duplicate")
    assert len(first["next"]) == 1, "one successor leased at once for one finished task"
    leased_next = first["next"][0]
    leased = client.lease(max_tasks=10)
    assert len(leased) == 1
    both = by_name([leased_next, *leased])
    assert set(both) == {"left", "right"}

    # left finishes twice with the same lease: bottom has two parents, so a double decrement would release it.
    status, answer = client.result(both["left"]["lease_id"], "succeeded", {"out": 17})
    assert status == 200 and answer["results"][0]["accepted"] and answer["next"] == []
    before = {t.node: (t.state, t.pending_parents, t.outputs, t.finished, t.lease_id) for t in Task.objects.filter(run=run)}
    status, again = client.result(both["left"]["lease_id"], "succeeded", {"out": 99999})
    assert status == 200
    assert again["results"][0] == {
        "lease_id": both["left"]["lease_id"],
        "accepted": True,
        "state": "succeeded",
        "duplicate": True,
    }
    assert again["next"] == []
    after = {t.node: (t.state, t.pending_parents, t.outputs, t.finished, t.lease_id) for t in Task.objects.filter(run=run)}
    assert after == before
    assert after["bottom"][:2] == ("pending", 1)
    assert after["left"][2] == {"out": 17}, "the first outcome is kept"

    # The duplicate of the top's result does not release (or re-lease) its children again.
    status, again = client.result(top["lease_id"], "succeeded", {"out": 6})
    assert status == 200 and again["results"][0]["duplicate"] and again["next"] == []
    assert tasks_by_node(run)["right"].lease_id.hex == both["right"]["lease_id"].replace("-", "")

    # Both copies in one call: accepted once, then answered as a duplicate.
    item = {"lease_id": both["right"]["lease_id"], "state": "succeeded", "outputs": {"out": 107}}
    status, answer = client.results([item, item])
    assert status == 200
    assert [r.get("duplicate", False) for r in answer["results"]] == [False, True]
    assert len(answer["next"]) == 1 and answer["next"][0]["node"]["uniquename"] == "bottom"
    bottom = tasks_by_node(run)["bottom"]
    assert (bottom.state, bottom.pending_parents) == ("leased", 0)
    assert answer["next"][0]["inputs"]["a"] == [107, 17]


@pytest.mark.django_db
def test_result_for_another_runners_lease_is_rejected(owner, owner_runner):
    run = start_run(owner, diamond())
    _, client = owner_runner
    thief = ProtocolRunner(register(owner, "thief")[1])
    [top] = client.lease()
    before = {t.node: (t.state, t.outputs, t.lease_id, t.runner_id, t.finished) for t in Task.objects.filter(run=run)}
    for state in ("succeeded", "failed", "cancelled"):
        status, answer = thief.result(top["lease_id"], state, {"out": 1})
        assert status == 409 and answer["results"][0]["accepted"] is False
    status, answer = thief.heartbeat([top["lease_id"]])
    assert status == 409 and answer["leases"][top["lease_id"]] == "lost"
    assert thief.log(top["lease_id"], 0, "x")[0] == 409
    assert thief.upload(top["lease_id"], "f.txt", b"x")[0] == 409
    after = {t.node: (t.state, t.outputs, t.lease_id, t.runner_id, t.finished) for t in Task.objects.filter(run=run)}
    assert after == before
    # The owner of the lease still finishes it normally.
    status, answer = client.result(top["lease_id"], "succeeded", {"out": 6})
    assert status == 200 and answer["results"][0]["accepted"]


@pytest.mark.django_db
def test_mixed_results_call_answers_200_with_per_result_verdicts(owner, owner_runner):
    start_run(owner, workflow_of([add_node("x", a=1), add_node("y", a=2)], []))
    _, client = owner_runner
    x, _ = client.lease(max_tasks=2)
    stale = "00000000-0000-4000-8000-000000000000"
    status, answer = client.results(
        [
            {"lease_id": x["lease_id"], "state": "succeeded", "outputs": {"out": 2}},
            {"lease_id": stale, "state": "succeeded", "outputs": {}},
        ]
    )
    assert status == 200
    assert [r["accepted"] for r in answer["results"]] == [True, False]
    assert "reason" in answer["results"][1]


# ---------------------------------------------------------------- retries


def test_retry_backoff_doubles_up_to_the_cap(settings):
    settings.RETRY_BACKOFF_BASE_S = 1.5
    settings.RETRY_BACKOFF_CAP_S = 5.0
    assert [retry_backoff(n) for n in (1, 2, 3, 4, 10)] == [
        timedelta(seconds=1.5),
        timedelta(seconds=3),
        timedelta(seconds=5),
        timedelta(seconds=5),
        timedelta(seconds=5),
    ]


def retry_workflow() -> dict:
    """flaky (retries: 1) → after_flaky → after_after; independent: solo1 → solo2."""
    return workflow_of(
        [
            add_node("flaky", a=1, requirements={"retries": 1}),
            add_node("after_flaky", a=[0]),
            add_node("after_after", a=[0]),
            add_node("solo1", a=2),
            add_node("solo2", a=[0]),
        ],
        [conn("flaky", "after_flaky"), conn("after_flaky", "after_after"), conn("solo1", "solo2")],
    )


@pytest.mark.django_db
def test_retry_exhaustion_fails_downstream_and_run(owner, owner_runner, engine_settings):
    engine_settings.RETRY_BACKOFF_BASE_S = 0.6
    run = start_run(owner, retry_workflow())
    _, client = owner_runner
    first = by_name(client.lease(max_tasks=10))
    assert set(first) == {"flaky", "solo1"}
    flaky = first["flaky"]
    assert flaky["requirements"]["retries"] == 1

    failed_at = timezone.now()
    status, answer = client.result(flaky["lease_id"], "failed", error="first failure")
    assert status == 200
    assert {k: answer["results"][0][k] for k in ("lease_id", "accepted", "state")} == {
        "lease_id": flaky["lease_id"],
        "accepted": True,
        "state": "queued",
    }
    assert not answer["results"][0].get("duplicate")
    task = tasks_by_node(run)["flaky"]
    assert (task.state, task.attempt, task.failures, task.lease_id) == ("queued", 2, 1, None)
    assert failed_at + timedelta(seconds=0.5) <= task.not_before <= timezone.now() + timedelta(seconds=0.6)
    assert task.error == "first failure"

    # Backoff: not leasable before not_before, even to an idle runner.
    assert client.lease(max_tasks=10) == []
    status, answer = client.result(first["solo1"]["lease_id"], "succeeded", {"out": 3})
    [solo2] = answer["next"]
    assert client.result(solo2["lease_id"], "succeeded", {"out": 4})[0] == 200
    assert client.lease(max_tasks=10) == [], "still backing off"
    time.sleep(max(0.0, (task.not_before - timezone.now()).total_seconds()) + 0.05)
    [again] = client.lease(max_tasks=10)
    assert (again["task_id"], again["attempt"]) == (flaky["task_id"], 2)
    assert again["lease_id"] != flaky["lease_id"]

    status, answer = client.result(again["lease_id"], "failed", error="second failure")
    assert status == 200 and answer["results"][0]["state"] == "failed"
    tasks = tasks_by_node(run)
    assert (tasks["flaky"].state, tasks["flaky"].failures, tasks["flaky"].error) == ("failed", 2, "second failure")
    assert tasks["after_flaky"].state == tasks["after_after"].state == "upstream_failed"
    assert tasks["solo1"].state == tasks["solo2"].state == "succeeded"
    run.refresh_from_db()
    assert run.state == "failed" and run.finished is not None
    assert client.lease(max_tasks=10) == []


@pytest.mark.django_db
def test_no_retries_fails_at_once_and_independent_branch_goes_on(owner, owner_runner):
    run = start_run(owner, retry_workflow())
    Task.objects.filter(run=run, node="flaky").update(max_retries=0)
    _, client = owner_runner
    first = by_name(client.lease(max_tasks=10))
    assert client.result(first["flaky"]["lease_id"], "failed", error="boom")[1]["results"][0]["state"] == "failed"
    run.refresh_from_db()
    assert run.state == "running", "solo1 is still leased"
    _, answer = client.result(first["solo1"]["lease_id"], "succeeded", {"out": 3})
    [solo2] = answer["next"]
    client.result(solo2["lease_id"], "succeeded", {"out": 4})
    run.refresh_from_db()
    assert run.state == "failed"


@pytest.mark.django_db
def test_duplicate_failed_result_of_a_retried_task_is_answered_as_duplicate(owner, owner_runner):
    """Regression: the re-queued task has no runner any more; the resent failure still gets its stored outcome (was 409)."""
    run = start_run(owner, retry_workflow())
    _, client = owner_runner
    flaky = by_name(client.lease(max_tasks=10))["flaky"]
    assert client.result(flaky["lease_id"], "failed", error="boom")[0] == 200
    before = tasks_by_node(run)["flaky"].failures
    status, answer = client.result(flaky["lease_id"], "failed", error="boom")
    assert tasks_by_node(run)["flaky"].failures == before == 1, "never counted twice"
    assert status == 200 and answer["results"][0].get("duplicate") is True, answer


# ---------------------------------------------------------------- cancel


@pytest.mark.django_db
def test_cancel_ends_run_at_once_and_tells_running_tasks(owner, owner_runner):
    workflow = workflow_of(
        [add_node("busy", a=1), add_node("done", a=3), add_node("waiting", a=2), add_node("child", a=[0])],
        [conn("busy", "child")],
    )
    run = start_run(owner, workflow)
    _, client = owner_runner
    # busy goes first (longest critical path), then done (file order); waiting stays queued.
    leased = by_name(client.lease(max_tasks=2))
    assert set(leased) == {"busy", "done"}
    client.result(leased["done"]["lease_id"], "succeeded", {"out": 4})
    busy = leased["busy"]
    status, answer = client.heartbeat([busy["lease_id"]], {busy["lease_id"]: {"pid": 7}})
    assert answer["leases"][busy["lease_id"]] == "ok"

    run_cancel(run=run)
    run.refresh_from_db()
    assert run.state == "cancelled" and run.finished is not None
    tasks = tasks_by_node(run)
    assert tasks["waiting"].state == "cancelled" and tasks["child"].state == "cancelled"
    assert tasks["done"].state == "succeeded"
    assert tasks["busy"].state == "running" and tasks["busy"].cancel_requested
    assert client.lease(max_tasks=10) == [], "nothing of a cancelled run is leased"

    status, answer = client.heartbeat([busy["lease_id"]], {busy["lease_id"]: {"pid": 7}})
    assert status == 200 and answer["leases"] == {busy["lease_id"]: "cancel"}
    status, answer = client.result(busy["lease_id"], "cancelled", error="SIGTERM")
    assert status == 200 and answer["results"][0]["accepted"] and answer["results"][0]["state"] == "cancelled"
    assert answer["next"] == []
    assert tasks_by_node(run)["busy"].state == "cancelled"
    run.refresh_from_db()
    assert run.state == "cancelled"
    assert run_cancel(run=run).state == "cancelled", "cancelling again changes nothing"


@pytest.mark.django_db
def test_cancelled_run_stays_cancelled_when_a_running_task_reports_success(owner, owner_runner):
    run = start_run(owner, workflow_of([add_node("A", a=1), add_node("B", a=[0])], [conn("A", "B")]))
    _, client = owner_runner
    [a] = client.lease()
    run_cancel(run=run)
    status, answer = client.result(a["lease_id"], "succeeded", {"out": 2})
    assert status == 200 and answer["next"] == []
    tasks = tasks_by_node(run)
    assert tasks["B"].state == "cancelled"
    run.refresh_from_db()
    assert run.state == "cancelled"


@pytest.mark.django_db
def test_reaper_closes_cancelled_tasks_whose_lease_runs_out(owner, owner_runner, engine_settings):
    engine_settings.LEASE_TTL_S = 0.3
    run = start_run(owner, workflow_of([add_node("A", a=1)], []))
    _, client = owner_runner
    client.lease()
    run_cancel(run=run)
    time.sleep(0.45)
    assert services.lease_reap() == 1
    task = tasks_by_node(run)["A"]
    assert (task.state, task.attempt) == ("cancelled", 1)
    run.refresh_from_db()
    assert run.state == "cancelled"


# ---------------------------------------------------------------- set-based release


def _finish_source_queries(owner, width: int) -> tuple[int, int]:
    """Queries of results_report for the source of a 1→width→1 fan-out; returns (queries, children released)."""
    run = start_run(owner, fan_out(width), name=f"fan{width}")
    runner_row, token = register(owner, f"r{width}")
    client = ProtocolRunner(token)
    [src] = client.lease()
    runner = Runner.objects.select_related("owner").get(pk=runner_row.pk)
    result = {
        "lease_id": src["lease_id"],
        "state": "succeeded",
        "outputs": {"out": 2},
        "error": "",
        "started": None,
        "finished": None,
    }
    import uuid

    result["lease_id"] = uuid.UUID(result["lease_id"])
    with CaptureQueriesContext(connection) as queries:
        answers, next_tasks = services.results_report(runner=runner, results=[result])
    assert answers[0].accepted and len(next_tasks) == 1
    released = Task.objects.filter(run=run, state__in=["queued", "leased"]).exclude(node="src").count()
    return len(queries), released


@pytest.mark.django_db
def test_finishing_a_task_costs_the_same_queries_for_1_or_100_children(owner):
    one, released_one = _finish_source_queries(owner, 1)
    hundred, released_hundred = _finish_source_queries(owner, 100)
    assert (released_one, released_hundred) == (1, 100)
    assert one == hundred, f"{one} queries with 1 child, {hundred} with 100"
