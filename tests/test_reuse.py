"""Reuse of unchanged results and rerun from a node (issue 13 item 4), through the API with a runner
stand-in in this process: which tasks a runner is given, which are reused, with what outputs,
artifacts and provenance. tests/runner/test_reuse_live.py does the same with real runner processes.

arithmetic.nc is the project's copy of node_ex.nc: power (5 ** 5) and integer (87) into multiply,
root (sqrt 225) and multiply into subtract.
"""

import copy
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runners.services import artifact_store
from tests.conftest import nc_file
from tests.test_run_apis import (
    NODE_EX_NODES,
    execute,
    lease,
    online_runner,
    published,
    report,
    status_of,
)
from workflows.models import Run, RunState, Task, TaskState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


def run_all(runner, *, outputs: dict | None = None) -> list[str]:
    """Leases and completes tasks until none is left (with `outputs`, each task reports them instead of
    its computed ones); returns the nodes the runner was given, in order."""
    ran = []
    payloads = lease(runner)
    while payloads:
        next_tasks = []
        for payload in payloads:
            ran.append(payload["node"]["uniquename"])
            next_tasks += report(runner, payload, outputs=outputs)
        payloads = next_tasks + lease(runner)
    return ran


def with_degree(degree: float, *, forcerun: str | None = None) -> dict:
    document = nc_file("arithmetic.nc")
    document["root"]["terminals"]["degree"]["value"] = degree
    if forcerun:
        document[forcerun]["forcerun"] = True
    return document


def republish(client, workflow_id: int, document: dict) -> None:
    response = client.post(f"/api/v1/workflow/publish/{workflow_id}", {"workflow": document}, format="json")
    assert response.status_code == 201, response.content


@pytest.fixture
def first_run(alice_client, alice):
    """node_ex run once, every node by the runner."""
    workflow_id = published(alice_client)
    runner, _ = online_runner(alice)
    run = execute(alice_client, workflow_id)
    assert sorted(run_all(runner)) == sorted(NODE_EX_NODES)
    status = status_of(alice_client, workflow_id, run["id"])
    assert status["run"]["state"] == "succeeded"
    assert all(node["reused_from"] is None for node in status["nodes"].values())
    return workflow_id, runner, status


def test_a_new_revision_changing_only_roots_degree_runs_root_and_subtract(alice_client, first_run):
    workflow_id, runner, first = first_run
    republish(alice_client, workflow_id, with_degree(3.0))
    run = execute(alice_client, workflow_id)
    assert sorted(run_all(runner)) == ["root", "subtract"]
    status = status_of(alice_client, workflow_id, run["id"])
    assert status["run"]["state"] == "succeeded"
    for name in ("power", "integer", "multiply"):
        node, before = status["nodes"][name], first["nodes"][name]
        assert node["state"] == "succeeded" and node["outputs"] == before["outputs"]
        assert node["reused_from"] == {"task_id": before["task_id"], "run": first["run"]["id"]}
        assert node["runner"] is None and node["attempt"] == 1
    assert status["nodes"]["root"]["reused_from"] is None
    assert status["nodes"]["root"]["outputs"]["result"] == pytest.approx(225 ** (1 / 3))
    assert status["nodes"]["subtract"]["outputs"]["result"] == pytest.approx(271875 - 225 ** (1 / 3))

    # The same revision again: nothing runs, the run is over at once, outputs reused from where they were made.
    again = execute(alice_client, workflow_id)
    assert again["state"] == "succeeded" and again["started"] is not None
    assert run_all(runner) == []
    status_again = status_of(alice_client, workflow_id, again["id"])
    assert status_again["nodes"]["power"]["reused_from"]["run"] == first["run"]["id"]  # the producer, not a reuser
    assert status_again["nodes"]["root"]["reused_from"]["run"] == run["id"]


def test_rerun_from_multiply_runs_multiply_and_subtract_only(alice_client, first_run):
    workflow_id, runner, first = first_run
    run = execute(alice_client, workflow_id, rerun_from=["multiply"])
    assert sorted(run_all(runner)) == ["multiply", "subtract"]
    status = status_of(alice_client, workflow_id, run["id"])
    assert {name for name, node in status["nodes"].items() if node["reused_from"]} == {"power", "integer", "root"}
    assert status["nodes"]["subtract"]["outputs"] == first["nodes"]["subtract"]["outputs"]
    assert Run.objects.get(pk=run["id"]).rerun_from == ["multiply"]


def test_forcerun_always_runs_its_node(alice_client, first_run):
    workflow_id, runner, _ = first_run
    republish(alice_client, workflow_id, with_degree(2.0, forcerun="power"))
    for _ in range(2):
        execute(alice_client, workflow_id)
        # power runs; its output is the same, so multiply (and everything else) is reused.
        assert run_all(runner) == ["power"]


def test_reuse_false_runs_everything(alice_client, first_run):
    workflow_id, runner, _ = first_run
    run = execute(alice_client, workflow_id, reuse=False)
    assert run["reuse"] is False
    assert sorted(run_all(runner)) == sorted(NODE_EX_NODES)
    status = status_of(alice_client, workflow_id, run["id"])
    assert all(node["reused_from"] is None for node in status["nodes"].values())


def test_an_input_override_changes_the_digest(alice_client, first_run):
    workflow_id, runner, _ = first_run
    execute(alice_client, workflow_id, inputs={"power.exponent": 2.0})
    assert sorted(run_all(runner)) == ["multiply", "power", "subtract"]


def test_a_failed_task_is_never_reused(alice_client, alice):
    workflow_id = published(alice_client, "fails")
    runner, _ = online_runner(alice, "r-fail")
    execute(alice_client, workflow_id)
    payloads = lease(runner)
    for payload in payloads:
        report(runner, payload, state="failed", error="boom")
    execute(alice_client, workflow_id)
    assert sorted(run_all(runner)) == sorted(NODE_EX_NODES)


def test_rerun_from_and_reuse_are_checked(alice_client, first_run):
    workflow_id, _, _ = first_run
    url = f"/api/v1/workflow/execute/{workflow_id}"
    for body, field in [
        ({"rerun_from": ["nope"]}, "rerun_from"),
        ({"rerun_from": "multiply"}, "rerun_from"),
        ({"rerun_from": [["multiply"]]}, "rerun_from"),
        ({"reuse": "perhaps"}, "reuse"),
    ]:
        response = alice_client.post(url, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.content.decode(), response.content
    assert "nope" in alice_client.post(url, {"rerun_from": ["nope"]}, format="json").json()["detail"]


def test_a_reused_artifact_keeps_the_provenance_of_the_task_that_made_it(alice_client, alice):
    workflow_id = published(alice_client, "plots")
    runner, _ = online_runner(alice, "plotter")
    first = execute(alice_client, workflow_id)
    made = None
    payloads = lease(runner)
    while payloads:
        next_tasks = []
        for payload in payloads:
            if payload["node"]["uniquename"] == "root":
                made = artifact_store(
                    runner=runner, lease_id=uuid.UUID(payload["lease_id"]), name="root.txt",
                    upload=SimpleUploadedFile("root.txt", b"15"), content_type="text/plain",
                )
                next_tasks += report(runner, payload, outputs={"result": 15.0, "file": {"$nw": "artifact", "id": str(made.id)}})
            else:
                next_tasks += report(runner, payload)
        payloads = next_tasks + lease(runner)
    second = execute(alice_client, workflow_id)
    assert run_all(runner) == []
    node = status_of(alice_client, workflow_id, second["id"])["nodes"]["root"]
    producer = Task.objects.get(run_id=first["id"], node="root")
    assert node["reused_from"] == {"task_id": producer.pk, "run": first["id"]}
    assert node["artifacts"] == [{"id": str(made.id), "name": "root.txt", "sha256": made.sha256}]
    assert node["outputs"]["file"] == {"$nw": "artifact", "id": str(made.id)}
    provenance = alice_client.get(f"/api/v1/artifacts/{made.id}/provenance").json()
    assert (provenance["task_id"], provenance["run_id"], provenance["node"]) == (producer.pk, first["id"], "root")


def fan_out(width: int) -> dict:
    """integer (forcerun) → `width` copies of root."""
    document = nc_file("arithmetic.nc")
    document["integer"]["forcerun"] = True
    out = {"integer": document["integer"]}
    for i in range(width):
        root = copy.deepcopy(document["root"])
        root["uniquename"] = f"root{i}"
        out[f"root{i}"] = root
        out[f"c{i}"] = {
            "type": "Connection", "name": f"c{i}", "uniquename": f"c{i}", "input": ["integer", "int"],
            "output": [f"root{i}", "radicand"],
        }
    return out


def _second_run_queries(client, alice, width: int) -> tuple[int, int]:
    """Queries of the result that releases `width` children, all of them reused from the first run."""
    workflow_id = published(client, f"fan{width}", document=fan_out(width))
    runner, _ = online_runner(alice, f"fan{width}")
    execute(client, workflow_id)
    run_all(runner)
    run = execute(client, workflow_id)
    [payload] = lease(runner)
    assert payload["node"]["uniquename"] == "integer"
    with CaptureQueriesContext(connection) as queries:
        assert report(runner, payload) == []
    reused = Task.objects.filter(run_id=run["id"], reused_from__isnull=False).count()
    assert Run.objects.get(pk=run["id"]).state == RunState.SUCCEEDED
    return len(queries), reused


def test_reusing_the_children_of_a_result_costs_the_same_queries_for_1_or_100(alice_client, alice):
    one, reused_one = _second_run_queries(alice_client, alice, 1)
    hundred, reused_hundred = _second_run_queries(alice_client, alice, 100)
    assert (reused_one, reused_hundred) == (1, 100)
    assert one == hundred, f"{one} queries with 1 child, {hundred} with 100"


def test_digests_are_stored_as_tasks_become_ready(first_run):
    _, _, first = first_run
    digests = dict(Task.objects.filter(run_id=first["run"]["id"]).values_list("node", "input_digest"))
    assert all(len(digest) == 64 for digest in digests.values()), digests
    assert len(set(digests.values())) == len(digests)  # five different computations
    assert Task.objects.filter(state=TaskState.SUCCEEDED, input_digest="").count() == 0


def test_a_feedback_value_is_part_of_the_digest(alice_client, alice):
    """root.result feeds power.exponent back: run 1 reads root's saved value (2), run 2 root's output of
    run 1 (15), so power runs again with it; run 3 reads 15 again, so nothing runs."""
    document = nc_file("arithmetic.nc")
    document["root"]["terminals"]["result"]["value"] = 2.0
    document["feedback"] = {
        "type": "Connection", "name": "feedback", "uniquename": "feedback", "input": ["root", "result"],
        "output": ["power", "exponent"], "feedback": True,
    }
    workflow_id = published(alice_client, "feedback", document=document)
    runner, _ = online_runner(alice, "fb")
    outputs = []
    for expected in (set(NODE_EX_NODES), {"power", "multiply", "subtract"}, set()):
        run = execute(alice_client, workflow_id)
        assert set(run_all(runner)) == expected
        outputs.append(status_of(alice_client, workflow_id, run["id"])["nodes"]["power"]["outputs"]["result"])
    assert outputs == [25.0, 5.0 ** 15, 5.0 ** 15]


def identical_chain(n: int) -> dict:
    """n `math/Add` nodes in a chain, each adding up the one before: every node gets [1] and gives 1,
    so every node has the same digest."""
    document = {}
    for i in range(n):
        name = f"add{i}"
        document[name] = {
            "type": "Node", "name": "Add", "uniquename": name, "pos": [i * 100, 0], "path": ["math", "Add"],
            "terminals": {"input": {"value": [1] if i == 0 else None, "opts": {"in": True, "multiinput": True}},
                          "result": {"value": None, "opts": {"out": True}}},
        }
        if i:
            document[f"c{i}"] = {"type": "Connection", "name": f"c{i}", "uniquename": f"c{i}",
                                 "input": [f"add{i - 1}", "result"], "output": [name, "input"]}
    return document


def test_a_node_reuses_only_its_own_earlier_result(alice_client, alice):
    """Two nodes a user drew are two executions, even when their digests are equal (a chain of Commands
    appending to one file would otherwise append once): the first run runs every node, the second
    reuses each node's own task."""
    workflow_id = published(alice_client, "identical", document=identical_chain(5))
    runner, _ = online_runner(alice, "identical")

    def run_once() -> tuple[dict, list[str]]:
        run = execute(alice_client, workflow_id)
        ran = run_all(runner, outputs={"result": 1})
        return status_of(alice_client, workflow_id, run["id"]), ran

    first, ran = run_once()
    assert ran == [f"add{i}" for i in range(5)]
    assert first["run"]["state"] == "succeeded"
    assert all(node["reused_from"] is None for node in first["nodes"].values()), first["nodes"]
    digests = set(Task.objects.filter(run_id=first["run"]["id"]).values_list("input_digest", flat=True))
    assert len(digests) == 1  # the same computation five times

    second, ran = run_once()
    assert ran == [] and second["run"]["state"] == "succeeded"
    produced = dict(Task.objects.filter(run_id=first["run"]["id"]).values_list("node", "pk"))
    assert {name: node["reused_from"]["task_id"] for name, node in second["nodes"].items()} == produced
    assert {node["reused_from"]["run"] for node in second["nodes"].values()} == {first["run"]["id"]}
