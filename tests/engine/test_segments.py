"""Chain segments (workflows/lifecycle/segments.py): the links below a task go to its runner at once,
their results count only with or after their parent's, and a parent that does not succeed takes them back."""

import itertools

import pytest

from tests.engine.conftest import (
    add_node,
    chain,
    compute,
    connection,
    expected_values,
    publish_workflow,
    start_run,
    tasks_by_node,
    workflow_of,
)
from workflows.lifecycle import outcomes
from workflows.models import Task
from workflows.services.runs import run_create

pytestmark = pytest.mark.usefixtures("engine_settings")

LEASE = {"max_tasks": 1, "executors": ["local"], "segment_max": 20}


def _filled(payload: dict, parent_outputs: dict) -> dict:
    """What the bundled runner does with `after.fill`: the parent's outputs into the link's inputs."""
    inputs = dict(payload["inputs"])
    for terminal, position, source in payload["after"]["fill"]:
        if position is None:
            inputs[terminal] = parent_outputs[source]
        else:
            inputs[terminal] = list(inputs[terminal])
            inputs[terminal][position] = parent_outputs[source]
    return inputs


def _item(payload: dict, outputs: dict, state: str = "succeeded") -> dict:
    item = {"lease_id": payload["lease_id"], "state": state, "outputs": outputs}
    if payload.get("after"):
        item["after"] = payload["after"]["lease_id"]
    return item


def _first_with_segment(client, run_length: int = 8):
    """c0 leased and reported; its answer leases c1 and, below it, c2.. as one segment."""
    [c0] = client.lease()
    status, answer = client.post("results", {"results": [_item(c0, compute(c0["inputs"]))], "lease": LEASE})
    assert status == 200 and answer["results"][0]["accepted"], answer
    return c0, answer["next"]


@pytest.mark.django_db
def test_a_chain_is_leased_as_one_segment_and_its_results_count_in_one_call(owner, owner_runner):
    workflow = chain(8)
    run = start_run(owner, workflow)
    _, client = owner_runner
    _c0, leased = _first_with_segment(client)
    names = [payload["node"]["uniquename"] for payload in leased]
    assert names == [f"c{i}" for i in range(1, 8)], "the successor, then every link below it in order"
    assert "after" not in leased[0]
    for above, link in itertools.pairwise(leased):
        assert link["after"]["lease_id"] == above["lease_id"] and link["after"]["task_id"] == above["task_id"]
        assert link["after"]["fill"] == [["b", None, "out"]]
    held = tasks_by_node(run)
    assert {held[f"c{i}"].state for i in range(2, 8)} == {"leased"}
    assert {held[f"c{i}"].pending_parents for i in range(2, 8)} == {1}, "still waiting for their parent"

    # The runner computes the links locally and sends them all at once, in any order.
    items, outputs = [], compute(leased[0]["inputs"])
    items.append(_item(leased[0], outputs))
    for link in leased[1:]:
        outputs = compute(_filled(link, outputs))
        items.append(_item(link, outputs))
    status, answer = client.results(list(reversed(items)))
    assert status == 200 and all(result["accepted"] for result in answer["results"]), answer

    expected = expected_values(workflow)
    done = tasks_by_node(run)
    assert {name: task.outputs for name, task in done.items()} == {name: v["outputs"] for name, v in expected.items()}
    assert {task.state for task in done.values()} == {"succeeded"}
    assert {task.pending_parents for task in done.values()} == {0}
    assert all(done[f"c{i}"].input_digest for i in range(8)), "links are digested for a later run's reuse"
    run.refresh_from_db()
    assert run.state == "succeeded"


@pytest.mark.django_db
def test_a_link_sent_before_its_parent_is_refused_and_stays_held(owner, owner_runner):
    run = start_run(owner, chain(4))
    _, client = owner_runner
    _, (c1, c2, c3) = _first_with_segment(client)
    c1_out = compute(c1["inputs"])
    c2_out = compute(_filled(c2, c1_out))
    status, answer = client.results([_item(c2, c2_out)])
    assert status == 409 and "upstream" in answer["results"][0]["reason"], answer
    assert tasks_by_node(run)["c2"].state == "leased"
    status, answer = client.results([_item(c1, c1_out), _item(c2, c2_out)])
    assert status == 200 and [r["accepted"] for r in answer["results"]] == [True, True]
    status, answer = client.results([_item(c3, compute(_filled(c3, c2_out)))])  # after its parent: alone is fine
    assert status == 200 and answer["results"][0]["accepted"]
    run.refresh_from_db()
    assert run.state == "succeeded"


@pytest.mark.django_db
def test_a_parent_that_fails_takes_its_links_back_and_they_end_upstream_failed(owner, owner_runner):
    run = start_run(owner, chain(5))
    _, client = owner_runner
    _, (c1, c2, *_rest) = _first_with_segment(client)
    status, answer = client.result(c1["lease_id"], "failed", error="boom")
    assert status == 200 and answer["results"][0]["state"] == "failed"
    tasks = tasks_by_node(run)
    assert {tasks[f"c{i}"].state for i in range(2, 5)} == {"upstream_failed"}
    assert {tasks[f"c{i}"].lease_id for i in range(2, 5)} == {None}
    status, answer = client.results([_item(c2, {"out": 1})])  # computed anyway by a confused runner
    assert status == 409 and tasks_by_node(run)["c2"].state == "upstream_failed"
    status, beat = client.heartbeat([c2["lease_id"]])
    assert beat["leases"] == {c2["lease_id"]: "lost"}, (status, beat)


@pytest.mark.django_db
def test_a_parent_retried_or_lost_puts_its_links_back_to_wait_not_in_the_queue(owner, owner_runner):
    nodes = [add_node("a", a=1), add_node("b", requirements={"retries": 1}), add_node("c"), add_node("d")]
    run = start_run(owner, workflow_of(nodes, [connection("a", "b"), connection("b", "c"), connection("c", "d")]))
    _, client = owner_runner
    _, (b, c, _d) = _first_with_segment(client)
    status, answer = client.result(b["lease_id"], "failed", error="flaky")
    assert status == 200 and answer["results"][0]["state"] == "queued", answer  # a retry
    tasks = tasks_by_node(run)
    assert (tasks["c"].state, tasks["c"].lease_id, tasks["d"].state, tasks["d"].lease_id) == ("pending", None,
                                                                                              "pending", None)
    # A link whose own lease is lost (its runner died) waits for its parent again too, not in the queue.
    Task.objects.filter(pk=tasks["b"].pk).update(not_before=None)
    [b2] = client.lease()
    status, answer = client.post("results", {"results": [_item(b2, {"out": 5})], "lease": LEASE})
    assert status == 200 and [p["node"]["uniquename"] for p in answer["next"]] == ["c", "d"]
    link = Task.objects.get(pk=tasks["d"].pk)
    assert (link.state, link.pending_parents) == ("leased", 1)
    assert outcomes.task_lose(task=link, reason="runner gone").applied
    link.refresh_from_db()
    assert (link.state, link.lease_id) == ("pending", None)
    c = Task.objects.get(pk=tasks["c"].pk)
    status, answer = client.results([{"lease_id": str(c.lease_id), "state": "succeeded", "outputs": {"out": 6}}])
    assert status == 200 and answer["results"][0]["accepted"]
    # Its parent has succeeded: it was queued, and the answer leased it as an ordinary successor.
    assert [(p["node"]["uniquename"], "after" in p) for p in answer["next"]] == [("d", False)]


@pytest.mark.django_db
def test_a_link_that_may_reuse_an_earlier_result_is_not_taken(owner, owner_runner):
    stored = publish_workflow(owner, chain(3))
    run_create(user=owner, workflow=stored)
    _, client = owner_runner
    _, leased = _first_with_segment(client)
    assert len(leased) == 2  # first run: nothing to reuse, c1 and its link c2
    items, outputs = [_item(leased[0], compute(leased[0]["inputs"]))], compute(leased[0]["inputs"])
    for link in leased[1:]:
        outputs = compute(_filled(link, outputs))
        items.append(_item(link, outputs))
    assert client.results(items)[0] == 200
    # The same workflow, reuse on, c0 changed (so it runs): c1 and c2 might reuse, so no segment.
    run_create(user=owner, workflow=stored, inputs={"c0.k": 100})
    [c0] = client.lease()
    status, answer = client.post("results", {"results": [_item(c0, {"out": 999})], "lease": LEASE})
    assert status == 200 and [p["node"]["uniquename"] for p in answer["next"]] == ["c1"]
    assert all("after" not in payload for payload in answer["next"])
