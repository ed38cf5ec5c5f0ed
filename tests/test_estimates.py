"""Duration estimates (issue 13 item 3) through the API, with a history written by a runner stand-in
whose task times are then set to known values: levels of the history, runner slots, the queue ahead,
running tasks, the live status payload, and a query count that does not grow with the workflow.
tests/runner/test_estimates_live.py compares estimates with real runs of real runner processes."""

import copy
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import nc_file
from tests.test_reuse import run_all
from tests.test_run_apis import execute, lease, online_runner, published, report, status_of
from workflows.models import Task, TaskState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

# arithmetic.nc (node_ex): power, integer → multiply; multiply, root → subtract.
SECONDS = {"power": 2.0, "integer": 1.0, "multiply": 3.0, "root": 4.0, "subtract": 5.0}


def estimate_of(client, workflow_id: int, **params) -> dict:
    response = client.get(f"/api/v1/workflow/estimate/{workflow_id}", params)
    assert response.status_code == 200, response.content
    return response.json()


def timed_history(client, alice, workflow_id: int, runner=None, runs: int = 1) -> None:
    """`runs` runs of the workflow, every task given its SECONDS, one after the other on one slot."""
    runner = runner or online_runner(alice, "timed")[0]
    clock = timezone.now() - timedelta(hours=1)
    for _ in range(runs):
        run = execute(client, workflow_id, reuse=False)
        run_all(runner)
        for task in Task.objects.filter(run_id=run["id"]).order_by("id"):
            task.leased_at, task.finished = clock, clock + timedelta(seconds=SECONDS[task.node])
            task.started = task.leased_at
            clock = task.finished + timedelta(seconds=0.5)
            task.save(update_fields=["leased_at", "started", "finished"])


def test_no_history_uses_the_default_and_no_runner_gives_no_finish(alice_client, alice, settings):
    settings.ESTIMATE_DEFAULT_S = 1.5
    workflow_id = published(alice_client)
    body = estimate_of(alice_client, workflow_id)
    assert body["runners"] == 0 and body["finish_s"] is None and body["estimated_finish"] is None
    assert body["unplaced"] == 5
    assert all(node["estimated_start"] is None for node in body["nodes"].values())

    online_runner(alice, "box")  # never seen holding tasks: ESTIMATE_RUNNER_SLOTS (2) slots
    body = estimate_of(alice_client, workflow_id)
    assert (body["runners"], body["slots"], body["unplaced"], body["ahead"]) == (1, 2, 0, 0)
    assert set(body["nodes"]) == set(SECONDS)
    for node in body["nodes"].values():
        assert (node["duration"], node["p90"], node["samples"], node["basis"]) == (1.5, 1.5, 0, "default")
    # Three roots on two slots, then multiply, then subtract: the critical path ends with subtract.
    assert body["finish_s"] == 4.5
    assert body["critical_path"][-1] == "subtract"
    assert body["nodes"]["subtract"]["start_s"] == 3.0 and body["nodes"]["subtract"]["finish_s"] == 4.5
    assert set(body) >= {"workflow", "revision", "now", "estimated_finish", "finish_s", "nodes"}


def test_history_of_the_node_gives_start_finish_and_slots(alice_client, alice):
    workflow_id = published(alice_client)
    timed_history(alice_client, alice, workflow_id, runs=3)
    body = estimate_of(alice_client, workflow_id)
    for name, node in body["nodes"].items():
        assert (node["duration"], node["samples"], node["basis"]) == (SECONDS[name], 3, "node"), (name, node)
    # The runner was seen holding one task at a time: one slot, so the nodes run one after the other.
    assert body["slots"] == 1
    assert body["finish_s"] == pytest.approx(sum(SECONDS.values()))
    starts = sorted((node["start_s"], name) for name, node in body["nodes"].items())
    assert starts[-1][1] == "subtract"
    for node in body["nodes"].values():
        assert node["finish_s"] == pytest.approx(node["start_s"] + node["duration"])


def test_prefetched_tasks_count_from_their_start(alice_client, alice):
    """A runner with --prefetch leases the next task while one runs: that task waits in the runner,
    holding no slot. Its wait is neither duration nor a second slot (the CI failure of session 5)."""
    workflow_id = published(alice_client)
    timed_history(alice_client, alice, workflow_id, runs=2)
    for task in Task.objects.exclude(leased_at=None):
        # leased 3 s before it started: during the task before it, on this one-slot runner
        task.leased_at = task.started - timedelta(seconds=3)
        task.save(update_fields=["leased_at"])
    body = estimate_of(alice_client, workflow_id)
    assert body["slots"] == 1
    for name, node in body["nodes"].items():
        assert (node["duration"], node["samples"]) == (SECONDS[name], 2), (name, node)
    assert body["finish_s"] == pytest.approx(sum(SECONDS.values()))


def test_other_workflows_give_the_path_and_group_levels(alice_client, alice):
    timed_history(alice_client, alice, published(alice_client, "history"))
    other = nc_file("arithmetic.nc")
    other["pow2"] = copy.deepcopy(other["power"])
    other["pow2"]["uniquename"] = "pow2"
    other["sine"] = copy.deepcopy(other["power"])
    other["sine"].update(uniquename="sine", path=["math", "Sine"])
    other["text"] = copy.deepcopy(other["power"])
    other["text"].update(uniquename="text", path=["strings", "Upper"])
    other["shelled"] = copy.deepcopy(other["power"])
    other["shelled"].update(uniquename="shelled", requirements={"executor": "shell"})
    nodes = estimate_of(alice_client, published(alice_client, "other", document=other))["nodes"]
    assert (nodes["pow2"]["basis"], nodes["pow2"]["duration"]) == ("exact", 2.0)
    assert (nodes["shelled"]["basis"], nodes["shelled"]["duration"]) == ("path", 2.0)
    # The math group: power 2, multiply 3, root 4, subtract 5 → median 3.5.
    assert (nodes["sine"]["basis"], nodes["sine"]["duration"], nodes["sine"]["samples"]) == ("group", 3.5, 4)
    assert nodes["text"]["basis"] == "default"


def test_reused_tasks_are_not_samples(alice_client, alice):
    workflow_id = published(alice_client)
    timed_history(alice_client, alice, workflow_id)
    runner, _ = online_runner(alice, "again")
    execute(alice_client, workflow_id)  # everything reused
    assert run_all(runner) == []
    assert all(node["samples"] == 1 for node in estimate_of(alice_client, workflow_id)["nodes"].values())


def test_the_queue_ahead_delays_the_start(alice_client, alice):
    workflow_id = published(alice_client)
    timed_history(alice_client, alice, workflow_id)
    alone = estimate_of(alice_client, workflow_id)
    execute(alice_client, published(alice_client, "busy"))  # three roots queued, of another workflow
    behind = estimate_of(alice_client, workflow_id)
    assert behind["ahead"] == 3
    assert behind["finish_s"] > alone["finish_s"]
    first_start = min(node["start_s"] for node in behind["nodes"].values())
    assert first_start > 0


def test_revision_and_visibility(alice_client, bob_client, alice):
    workflow_id = published(alice_client)
    body = estimate_of(alice_client, workflow_id)
    assert estimate_of(alice_client, workflow_id, revision=body["revision"][:10])["revision"] == body["revision"]
    assert alice_client.get(f"/api/v1/workflow/estimate/{workflow_id}", {"revision": "zz"}).status_code == 400
    assert alice_client.get(f"/api/v1/workflow/estimate/{workflow_id}", {"revision": "0" * 40}).status_code == 404
    assert bob_client.get(f"/api/v1/workflow/estimate/{workflow_id}").status_code == 404
    assert alice_client.get("/api/v1/workflow/estimate/999999").status_code == 404


def replicated(copies: int) -> dict:
    document, out = nc_file("arithmetic.nc"), {}
    for i in range(copies):
        for key, obj in document.items():
            obj = copy.deepcopy(obj)
            obj["uniquename"] = f"{key}_{i}"
            if obj["type"] == "Connection":
                obj["input"][0] += f"_{i}"
                obj["output"][0] += f"_{i}"
            out[f"{key}_{i}"] = obj
    return out


def estimate_queries(client, alice, copies: int) -> int:
    workflow_id = published(client, f"copies-{copies}", document=replicated(copies))
    runner, _ = online_runner(alice, f"r{copies}")
    execute(client, workflow_id, reuse=False)
    run_all(runner)
    execute(client, published(client, f"ahead-{copies}", document=replicated(copies)))  # a queue ahead
    with CaptureQueriesContext(connection) as queries:
        body = estimate_of(client, workflow_id)
    assert len(body["nodes"]) == 5 * copies and body["ahead"] == 3 * copies
    assert all(node["basis"] == "node" for node in body["nodes"].values())
    return len(queries)


def test_an_estimate_takes_the_same_queries_for_5_or_200_nodes(alice_client, alice):
    assert estimate_queries(alice_client, alice, 1) == estimate_queries(alice_client, alice, 40)


def test_the_status_payload_carries_live_estimates(alice_client, alice):
    workflow_id = published(alice_client)
    runner, _ = online_runner(alice, "live")
    timed_history(alice_client, alice, workflow_id, runner=runner, runs=2)
    run = execute(alice_client, workflow_id, reuse=False)
    [power] = lease(runner, max_tasks=1)
    assert power["node"]["uniquename"] == "power"  # the longest remaining path goes first
    # Power has run for 1.5 s of its 2: half a second is left.
    Task.objects.filter(pk=power["task_id"]).update(
        state=TaskState.RUNNING, leased_at=timezone.now() - timedelta(seconds=1.5)
    )
    status = status_of(alice_client, workflow_id, run["id"])
    nodes = status["nodes"]
    assert nodes["power"]["estimated_finish"] is not None
    finish = {name: node["estimated_finish"] for name, node in nodes.items()}
    now = timezone.now()

    def offset(name: str) -> float:
        return (datetime.fromisoformat(finish[name].replace("Z", "+00:00")) - now).total_seconds()

    assert offset("power") == pytest.approx(0.5, abs=0.3)
    # One slot: power's remaining 0.5, then integer 1, multiply 3, root 4, subtract 5 in some order.
    assert offset("subtract") == pytest.approx(0.5 + 1 + 3 + 4 + 5, abs=0.3)
    run_finish = status["run"]["estimated_finish"]
    assert run_finish == finish["subtract"]

    report(runner, power)
    run_all(runner)
    done = status_of(alice_client, workflow_id, run["id"])
    assert done["run"]["state"] == "succeeded"
    assert done["run"]["estimated_finish"] is None
    assert all(node["estimated_start"] is None for node in done["nodes"].values())


def test_finished_runs_samples_are_kept_and_a_new_run_replaces_them(alice_client, alice):
    """The per-node samples of a workflow whose latest runs are all final are read once per process;
    a run that starts or ends changes what is read."""
    workflow_id = published(alice_client)
    runner = online_runner(alice, "kept")[0]
    timed_history(alice_client, alice, workflow_id, runner=runner, runs=2)
    estimate_of(alice_client, workflow_id)  # reads and keeps
    with CaptureQueriesContext(connection) as queries:
        body = estimate_of(alice_client, workflow_id)
    # The per-node samples' query (its `held` column) is not sent again.
    assert not any('AS "held"' in q["sql"] for q in queries.captured_queries), [q["sql"] for q in queries.captured_queries]
    assert body["nodes"]["subtract"]["duration"] == SECONDS["subtract"]

    # A third run, twice as slow: its samples count at once.
    run = execute(alice_client, workflow_id, reuse=False)
    run_all(runner)
    clock = timezone.now() - timedelta(minutes=5)
    for task in Task.objects.filter(run_id=run["id"]):
        task.leased_at = task.started = clock
        task.finished = clock + timedelta(seconds=2 * SECONDS[task.node])
        task.save(update_fields=["leased_at", "started", "finished"])
    body = estimate_of(alice_client, workflow_id)
    assert body["nodes"]["subtract"]["samples"] == 3
    assert body["nodes"]["subtract"]["duration"] == SECONDS["subtract"]  # median of 5, 5, 10
    assert body["nodes"]["subtract"]["p90"] > SECONDS["subtract"]
