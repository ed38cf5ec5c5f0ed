"""User-facing run APIs: execute, cancel, status (with why tasks wait), the sheet after a run, logs,
artifacts, the queue, and isolation between users."""

import copy
import json
import math
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from runners.models import Runner
from runners.services import artifact_store, lease_tasks, log_append, results_report, runner_register
from tests.conftest import make_user, nc_file, publish
from workflows.artifact_files import artifact_path
from workflows.models import Artifact, Run, RunState, Task, TaskDependency, TaskState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

NODE_EX_NODES = ["power", "multiply", "integer", "subtract", "root"]
NODE_EX_RESULTS = {"power": 3125.0, "multiply": 271875.0, "integer": 87, "subtract": 271860.0, "root": 15.0}
STATUS_NODE_KEYS = {"state", "attempt", "runner", "started", "finished", "outputs", "artifacts", "waiting", "error"}
STATUS_NODE_KEYS |= {"task_id", "name", "path"}  # added for the web app
STATUS_NODE_KEYS |= {"reused_from", "estimated_start", "estimated_finish"}  # issue 13: reuse and live estimates


# ---------------------------------------------------------------- helpers (also used by the other test files)


def arithmetic_blank() -> dict:
    """arithmetic.nc with every output value wiped, so a filled-in value can only come from a run."""
    document = nc_file("arithmetic.nc")
    for obj in document.values():
        if obj["type"] == "Node":
            for terminal in obj["terminals"].values():
                if terminal["opts"].get("out") and obj["path"][0] != "types":
                    terminal["value"] = None
    return document


def published(client, name="node_ex", document=None, **extra) -> int:
    response = publish(client, name, document if document is not None else nc_file("arithmetic.nc"), **extra)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def execute(client, workflow_id: int, **body) -> dict:
    response = client.post(f"/api/v1/workflow/execute/{workflow_id}", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["run"]


def status_of(client, workflow_id: int, run_id: int | None = None) -> dict:
    response = client.get(f"/api/v1/workflow/status/{workflow_id}", {"run": run_id} if run_id else {})
    assert response.status_code == 200, response.content
    return response.json()


def online_runner(user, name="laptop", *, tags=(), executors=("local",), **fields) -> tuple[Runner, str]:
    runner, token = runner_register(user=user, name=name, tags=list(tags), executors=list(executors))
    Runner.objects.filter(pk=runner.pk).update(last_contact=timezone.now(), **fields)
    runner.refresh_from_db()
    return runner, token


def one(value):
    """SPEC: where Nodeworks's own rule is unknown, a list of one value acts as that value."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def compute(payload: dict) -> dict:
    """The math of arithmetic.nc, enough for a runner stand-in."""
    node = payload["node"]
    inputs = {name: value if name == "input" else one(value) for name, value in payload["inputs"].items()}
    group, name = node["path"]
    if group == "types":
        return {t: v["value"] for t, v in node["terminals"].items() if v["opts"].get("out")}
    if name == "Power":
        return {"result": inputs["base"] ** inputs["exponent"]}
    if name == "Multiply":
        return {"result": math.prod(inputs["input"])}
    if name == "Root":
        return {"result": inputs["radicand"] ** (1 / inputs["degree"])}
    if name == "Subtract":
        return {"result": inputs["minuend"] - inputs["subtrahend"]}
    raise AssertionError(f"no stand-in for {node['path']}")


def lease(runner: Runner, max_tasks: int = 50) -> list[dict]:
    return lease_tasks(runner=runner, max_tasks=max_tasks, wait_s=0, executors=runner.executors)


def report(runner: Runner, payload: dict, *, state="succeeded", outputs=None, error="") -> list[dict]:
    now = timezone.now()
    result = {
        "lease_id": uuid.UUID(payload["lease_id"]),
        "state": state,
        "outputs": compute(payload) if outputs is None and state == "succeeded" else (outputs or {}),
        "error": error,
        "started": now,
        "finished": now,
    }
    answers, next_tasks = results_report(runner=runner, results=[result])
    assert answers[0].accepted, answers[0]
    return next_tasks


def drive(runner: Runner, *, fail=()) -> None:
    """Leases and completes tasks until none is left for this runner; nodes in `fail` fail."""
    payloads = lease(runner)
    while payloads:
        next_tasks = []
        for payload in payloads:
            if payload["node"]["uniquename"] in fail:
                next_tasks += report(runner, payload, state="failed", error="boom")
            else:
                next_tasks += report(runner, payload)
        payloads = next_tasks + lease(runner)


def tasks_by_node(run_id: int) -> dict[str, Task]:
    return {task.node: task for task in Task.objects.filter(run_id=run_id)}


@pytest.fixture
def admin_user(db):
    return make_user("root", staff=True)


@pytest.fixture
def admin_client(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


# ---------------------------------------------------------------- execute


def test_execute_creates_one_task_per_node_and_queues_the_roots(alice_client):
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    assert run["state"] == "running"
    assert len(run["revision"]) == 40
    assert {"id", "state", "revision", "created", "started", "finished", "workflow", "input_overrides"} <= run.keys()
    tasks = tasks_by_node(run["id"])
    assert sorted(tasks) == sorted(NODE_EX_NODES)
    queued = {name for name, task in tasks.items() if task.state == TaskState.QUEUED}
    assert queued == {"power", "integer", "root"}  # the nodes without parents
    assert {name for name, task in tasks.items() if task.state == TaskState.PENDING} == {"multiply", "subtract"}
    assert tasks["subtract"].pending_parents == 2
    assert TaskDependency.objects.filter(run_id=run["id"]).count() == 4


def test_execute_a_given_revision(alice_client):
    workflow_id = published(alice_client)
    first_sha = alice_client.get(f"/api/v1/workflow/history/{workflow_id}").json()[0]["revision"]
    changed = nc_file("arithmetic.nc")
    changed["power"]["terminals"]["base"]["value"] = 2.0
    response = alice_client.post(f"/api/v1/workflow/publish/{workflow_id}", {"workflow": changed}, format="json")
    assert response.status_code == 201
    run = execute(alice_client, workflow_id, revision=first_sha[:10])
    assert run["revision"] == first_sha
    latest = execute(alice_client, workflow_id)
    assert latest["revision"] == response.json()["revision"]


@pytest.mark.parametrize(
    "inputs",
    [
        {"nosuch.base": 1},  # no such node
        {"power.nosuch": 1},  # no such terminal
        {"multiply.input": [1, 2]},  # connected input
        {"power.result": 1},  # computed output
    ],
)
def test_bad_input_override_is_400_and_creates_nothing(alice_client, inputs):
    workflow_id = published(alice_client)
    response = alice_client.post(f"/api/v1/workflow/execute/{workflow_id}", {"inputs": inputs}, format="json")
    assert response.status_code == 400, response.content
    assert "detail" in response.json()
    assert Run.objects.count() == 0
    assert Task.objects.count() == 0


def test_bad_bodies_and_revisions(alice_client):
    workflow_id = published(alice_client)
    url = f"/api/v1/workflow/execute/{workflow_id}"
    assert alice_client.post(url, {"inputs": [1]}, format="json").status_code == 400
    assert alice_client.post(url, {"revision": "zzzzzzz"}, format="json").status_code == 400
    assert alice_client.post(url, {"revision": "0" * 40}, format="json").status_code == 404
    assert alice_client.post("/api/v1/workflow/execute/999999", {}, format="json").status_code == 404
    assert Run.objects.count() == 0


def test_override_flows_into_the_run_and_into_the_sheet(alice_client, alice):
    workflow_id = published(alice_client, document=arithmetic_blank())
    run = execute(alice_client, workflow_id, inputs={"power.base": 2.0, "integer.int": 10})
    assert run["input_overrides"] == {"power.base": 2.0, "integer.int": 10}
    runner, _ = online_runner(alice)
    drive(runner)
    assert Run.objects.get(pk=run["id"]).state == RunState.SUCCEEDED
    sheet = alice_client.get(f"/api/v1/workflow/get/{workflow_id}", {"run": run["id"]}).json()
    assert sheet["power"]["terminals"]["base"]["value"] == 2.0
    assert sheet["power"]["terminals"]["result"]["value"] == 32.0
    assert sheet["multiply"]["terminals"]["result"]["value"] == 320.0
    assert sheet["subtract"]["terminals"]["result"]["value"] == 305.0


# ---------------------------------------------------------------- the sheet after a run


def test_get_with_run_fills_outputs_and_keeps_key_order(alice_client, alice):
    blank = arithmetic_blank()
    workflow_id = published(alice_client, document=blank)
    run = execute(alice_client, workflow_id)
    runner, _ = online_runner(alice)
    drive(runner)
    assert Run.objects.get(pk=run["id"]).state == RunState.SUCCEEDED

    response = alice_client.get(f"/api/v1/workflow/get/{workflow_id}", {"run": run["id"]})
    assert response.status_code == 200
    assert response["X-Nodeworks-Revision"] == run["revision"]
    assert response["X-Nodeworks-Run"] == str(run["id"])
    sheet = json.loads(response.content)
    for node, value in NODE_EX_RESULTS.items():
        output = next(t for t, v in sheet[node]["terminals"].items() if v["opts"].get("out"))
        assert sheet[node]["terminals"][output]["value"] == pytest.approx(value)
    # Only values changed: same objects, same keys in the same order, as the file saved by Nodeworks.
    assert list(sheet) == list(blank)
    for key, obj in blank.items():
        assert list(sheet[key]) == list(obj)
        if obj["type"] == "Node":
            assert list(sheet[key]["terminals"]) == list(obj["terminals"])
    # The expected results equal the results saved in arithmetic.nc.
    original = nc_file("arithmetic.nc")
    assert sheet == original

    # Without ?run= the file is returned as published, untouched by the run.
    plain = alice_client.get(f"/api/v1/workflow/get/{workflow_id}")
    assert json.loads(plain.content) == blank


def test_get_with_run_of_a_partial_run_fills_what_finished(alice_client, alice):
    workflow_id = published(alice_client, document=arithmetic_blank())
    run = execute(alice_client, workflow_id)
    runner, _ = online_runner(alice)
    power = next(p for p in lease(runner) if p["node"]["uniquename"] == "power")
    report(runner, power)
    sheet = alice_client.get(f"/api/v1/workflow/get/{workflow_id}", {"run": run["id"]}).json()
    assert sheet["power"]["terminals"]["result"]["value"] == 3125.0
    assert sheet["subtract"]["terminals"]["result"]["value"] is None


def test_get_with_run_errors(alice_client, bob_client):
    workflow_id = published(alice_client)
    other_id = published(alice_client, "other")
    run = execute(alice_client, workflow_id)
    url = f"/api/v1/workflow/get/{workflow_id}"
    assert alice_client.get(url, {"run": "x"}).status_code == 400
    assert alice_client.get(url, {"run": 999999}).status_code == 404
    assert alice_client.get(f"/api/v1/workflow/get/{other_id}", {"run": run["id"]}).status_code == 404
    assert alice_client.get(url, {"run": run["id"], "revision": "0" * 40}).status_code == 400
    assert alice_client.get(url, {"run": run["id"], "revision": run["revision"]}).status_code == 200
    assert bob_client.get(url, {"run": run["id"]}).status_code == 404


# ---------------------------------------------------------------- status and why tasks wait


def test_status_payload_shape(alice_client, alice):
    workflow_id = published(alice_client)
    response = alice_client.get(f"/api/v1/workflow/status/{workflow_id}")
    assert response.status_code == 404  # no run yet
    run = execute(alice_client, workflow_id)
    body = status_of(alice_client, workflow_id)
    assert set(body) == {"run", "nodes"}
    assert set(body["run"]) == {"id", "state", "revision", "created", "started", "finished", "estimated_finish", "created_by"}
    assert body["run"]["id"] == run["id"]
    assert body["run"]["state"] == "running"
    assert body["run"]["started"] is None
    assert body["run"]["estimated_finish"] is None
    assert sorted(body["nodes"]) == sorted(NODE_EX_NODES)
    for node in body["nodes"].values():
        assert set(node) == STATUS_NODE_KEYS
        assert node["attempt"] == 1
        assert node["runner"] is None
        assert node["outputs"] is None
        assert node["artifacts"] == []
        assert node["error"] is None
        assert set(node["waiting"]) == {"reason", "detail"}

    runner, _ = online_runner(alice, "box-1")
    drive(runner)
    body = status_of(alice_client, workflow_id)
    assert body["run"]["state"] == "succeeded"
    assert body["run"]["started"] is not None
    assert body["run"]["finished"] is not None
    for name, node in body["nodes"].items():
        assert node["state"] == "succeeded"
        assert node["runner"] == "box-1"
        assert node["waiting"] is None
        assert node["finished"] is not None
        assert next(iter(node["outputs"].values())) == pytest.approx(NODE_EX_RESULTS[name])


def test_status_of_a_given_run_and_the_latest(alice_client):
    workflow_id = published(alice_client)
    first = execute(alice_client, workflow_id)
    second = execute(alice_client, workflow_id)
    assert status_of(alice_client, workflow_id)["run"]["id"] == second["id"]
    assert status_of(alice_client, workflow_id, first["id"])["run"]["id"] == first["id"]
    other = published(alice_client, "other")
    assert alice_client.get(f"/api/v1/workflow/status/{other}", {"run": first["id"]}).status_code == 404
    assert alice_client.get(f"/api/v1/workflow/status/{workflow_id}", {"run": "abc"}).status_code == 400


def waiting(client, workflow_id) -> dict[str, dict]:
    return {name: node["waiting"] for name, node in status_of(client, workflow_id)["nodes"].items()}


def test_waiting_for_parents_names_the_unfinished_ones(alice_client, alice):
    workflow_id = published(alice_client)
    execute(alice_client, workflow_id)
    reasons = waiting(alice_client, workflow_id)
    assert reasons["multiply"]["reason"] == "parents"
    assert "integer" in reasons["multiply"]["detail"] and "power" in reasons["multiply"]["detail"]
    assert reasons["subtract"]["reason"] == "parents"
    assert "multiply" in reasons["subtract"]["detail"] and "root" in reasons["subtract"]["detail"]

    runner, _ = online_runner(alice)
    for payload in lease(runner):
        if payload["node"]["uniquename"] == "power":
            report(runner, payload)
    reasons = waiting(alice_client, workflow_id)
    assert reasons["multiply"]["reason"] == "parents"
    assert "power" not in reasons["multiply"]["detail"]  # finished parents are not listed
    assert "integer" in reasons["multiply"]["detail"]
    assert reasons["integer"] is None  # leased: not waiting


def test_waiting_no_runner_then_offline_then_paused_then_busy(alice_client, alice, bob):
    workflow_id = published(alice_client)
    execute(alice_client, workflow_id)
    assert waiting(alice_client, workflow_id)["power"]["reason"] == "no_runner"
    assert "local" in waiting(alice_client, workflow_id)["power"]["detail"]

    # Another user's runner never takes alice's tasks, online or not.
    online_runner(bob, "bobs-box")
    assert waiting(alice_client, workflow_id)["power"]["reason"] == "no_runner"

    runner, _ = runner_register(user=alice, name="sleepy", tags=[], executors=["local"])
    assert waiting(alice_client, workflow_id)["power"]["reason"] == "runners_offline"
    assert "sleepy" in waiting(alice_client, workflow_id)["power"]["detail"]

    Runner.objects.filter(pk=runner.pk).update(last_contact=timezone.now(), paused=True)
    assert waiting(alice_client, workflow_id)["power"]["reason"] == "runners_paused"
    Runner.objects.filter(pk=runner.pk).update(paused=False, shutdown_requested=True)  # draining
    assert waiting(alice_client, workflow_id)["power"]["reason"] == "runners_paused"

    Runner.objects.filter(pk=runner.pk).update(shutdown_requested=False)
    reasons = waiting(alice_client, workflow_id)
    assert {reasons[name]["reason"] for name in ("power", "integer", "root")} == {"runners_busy"}
    assert reasons["multiply"]["reason"] == "parents"


def test_waiting_no_runner_with_the_needed_tags_or_executor(alice_client, alice):
    workflow_id = published(alice_client, requirements={"tags": ["gpu", "cuda:12"], "executor": "slurm"})
    execute(alice_client, workflow_id)
    online_runner(alice, "cpu-box", tags=["cuda:12"], executors=["slurm"])
    online_runner(alice, "gpu-local", tags=["gpu", "cuda:12", "big"], executors=["local"])
    reason = waiting(alice_client, workflow_id)["power"]
    assert reason["reason"] == "no_runner"
    assert "gpu" in reason["detail"] and "cuda:12" in reason["detail"] and "slurm" in reason["detail"]
    assert "gpu-local" in reason["detail"]  # has the tags, lacks the executor

    online_runner(alice, "cluster", tags=["gpu", "cuda:12"], executors=["slurm", "local"])
    assert waiting(alice_client, workflow_id)["power"]["reason"] == "runners_busy"


def test_waiting_counts_staff_runners_shared_with_the_user(alice_client, alice, bob, admin_user):
    workflow_id = published(alice_client)
    execute(alice_client, workflow_id)
    # A user's runner is never shared, whatever its flags say.
    online_runner(bob, "bobs", shared_with_all=True)
    assert waiting(alice_client, workflow_id)["power"]["reason"] == "no_runner"

    shared, _ = online_runner(admin_user, "pool")
    assert waiting(alice_client, workflow_id)["power"]["reason"] == "no_runner"  # not shared yet
    shared.shared_with.add(alice)
    assert waiting(alice_client, workflow_id)["power"]["reason"] == "runners_busy"
    shared.shared_with.clear()
    Runner.objects.filter(pk=shared.pk).update(shared_with_all=True)
    assert waiting(alice_client, workflow_id)["power"]["reason"] == "runners_busy"


def test_waiting_in_retry_backoff(alice_client, alice, settings):
    settings.RETRY_BACKOFF_BASE_S = 600
    workflow_id = published(alice_client, requirements={"retries": 2})
    run = execute(alice_client, workflow_id)
    runner, _ = online_runner(alice)
    power = next(p for p in lease(runner) if p["node"]["uniquename"] == "power")
    report(runner, power, state="failed", error="transient")
    task = tasks_by_node(run["id"])["power"]
    assert task.state == TaskState.QUEUED and task.not_before > timezone.now()
    node = status_of(alice_client, workflow_id)["nodes"]["power"]
    assert node["waiting"]["reason"] == "retry_backoff"
    assert node["attempt"] == 2
    assert node["error"] == "transient"  # the last failure stays visible while it waits

    Task.objects.filter(pk=task.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    assert status_of(alice_client, workflow_id)["nodes"]["power"]["waiting"]["reason"] == "runners_busy"


def replicated(document: dict, copies: int) -> dict:
    """`copies` disjoint copies of a workflow in one file."""
    out = {}
    for i in range(copies):
        for key, obj in document.items():
            obj = copy.deepcopy(obj)
            obj["uniquename"] = f"{key}_{i}"
            if obj["type"] == "Connection":
                obj["input"][0] = f"{obj['input'][0]}_{i}"
                obj["output"][0] = f"{obj['output'][0]}_{i}"
            out[f"{key}_{i}"] = obj
    return out


def status_queries(client, alice, copies: int) -> int:
    workflow_id = published(client, f"copies-{copies}", document=replicated(nc_file("arithmetic.nc"), copies))
    run = execute(client, workflow_id)
    runner, _ = online_runner(alice, f"r{copies}")
    # Some tasks succeeded with artifacts and logs, some leased, some queued, some pending.
    for payload in lease(runner, max_tasks=2 * copies):
        if payload["node"]["uniquename"].startswith("power"):
            artifact_store(
                runner=runner, lease_id=uuid.UUID(payload["lease_id"]), name="p.txt",
                upload=SimpleUploadedFile("p.txt", b"x"), content_type="text/plain",
            )
            report(runner, payload)
    with CaptureQueriesContext(connection) as queries:
        body = status_of(client, workflow_id, run["id"])
    assert len(body["nodes"]) == 5 * copies
    assert any(node["artifacts"] for node in body["nodes"].values())
    return len(queries)


def test_status_takes_a_constant_number_of_queries(alice_client, alice):
    assert status_queries(alice_client, alice, 1) == status_queries(alice_client, alice, 6)


# ---------------------------------------------------------------- cancel


def test_cancel_ends_the_run_at_once_and_empties_its_queue(alice_client, alice):
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    runner, _ = online_runner(alice)
    held = lease(runner, max_tasks=1)[0]["node"]["uniquename"]

    response = alice_client.post(f"/api/v1/workflow/cancel/{workflow_id}", {}, format="json")
    assert response.status_code == 200
    assert response.json() == {"cancelled": [run["id"]]}
    assert Run.objects.get(pk=run["id"]).state == RunState.CANCELLED
    tasks = tasks_by_node(run["id"])
    assert tasks[held].state == TaskState.LEASED and tasks[held].cancel_requested
    assert {name for name, task in tasks.items() if task.state == TaskState.CANCELLED} == set(NODE_EX_NODES) - {held}
    assert not Task.objects.filter(state=TaskState.QUEUED).exists()
    assert status_of(alice_client, workflow_id)["run"]["state"] == "cancelled"

    # Nothing left to cancel.
    again = alice_client.post(f"/api/v1/workflow/cancel/{workflow_id}", {}, format="json")
    assert again.json() == {"cancelled": []}


def test_cancel_one_run_of_several(alice_client):
    workflow_id = published(alice_client)
    first = execute(alice_client, workflow_id)
    second = execute(alice_client, workflow_id)
    response = alice_client.post(f"/api/v1/workflow/cancel/{workflow_id}", {"run": first["id"]}, format="json")
    assert response.json() == {"cancelled": [first["id"]]}
    assert Run.objects.get(pk=second["id"]).state == RunState.RUNNING
    other = published(alice_client, "other")
    response = alice_client.post(f"/api/v1/workflow/cancel/{other}", {"run": second["id"]}, format="json")
    assert response.status_code == 404
    assert Run.objects.get(pk=second["id"]).state == RunState.RUNNING
    response = alice_client.post(f"/api/v1/workflow/cancel/{workflow_id}", {"run": "x"}, format="json")
    assert response.status_code == 400


def test_delete_cancels_the_runs_first(alice_client):
    from workflows.services import publishing

    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    execute(alice_client, workflow_id)
    Run.objects.filter(pk=run["id"]).update(state=RunState.SUCCEEDED)
    cancelled = []

    def spy(*, runs):
        result = publishing_runs_cancel(runs=runs)
        cancelled.extend(r.pk for r in result if r.state == RunState.CANCELLED)
        return result

    publishing_runs_cancel = publishing.runs_cancel
    with mock.patch.object(publishing, "runs_cancel", side_effect=spy):
        assert alice_client.delete(f"/api/v1/workflow/delete/{workflow_id}").status_code == 204
    assert len(cancelled) == 1 and cancelled[0] != run["id"]  # the active run only
    assert not Run.objects.exists()
    assert not Task.objects.exists()


# ---------------------------------------------------------------- logs


def test_logs_of_every_attempt_as_text_and_json(alice_client, alice, settings):
    settings.RETRY_BACKOFF_BASE_S = 0
    workflow_id = published(alice_client, requirements={"retries": 1})
    run = execute(alice_client, workflow_id)
    runner, _ = online_runner(alice)
    power = next(p for p in lease(runner) if p["node"]["uniquename"] == "power")
    log_append(runner=runner, lease_id=uuid.UUID(power["lease_id"]), offset=0, data="first try\n")
    report(runner, power, state="failed", error="boom")
    power = next(p for p in lease(runner) if p["node"]["uniquename"] == "power")
    assert power["attempt"] == 2
    log_append(runner=runner, lease_id=uuid.UUID(power["lease_id"]), offset=0, data="second try ünïcode")
    report(runner, power)

    url = f"/api/v1/runs/{run['id']}/logs/power"
    text = alice_client.get(url)
    assert text.status_code == 200
    assert text["Content-Type"].startswith("text/plain")
    body = text.content.decode()
    assert body.index("attempt 1") < body.index("first try") < body.index("attempt 2") < body.index("second try ünïcode")

    as_json = alice_client.get(url, HTTP_ACCEPT="application/json")
    assert as_json["Content-Type"].startswith("application/json")
    assert as_json.json() == {
        "attempts": [
            {"attempt": 1, "data": "first try\n", "size": 10, "truncated": False},
            {"attempt": 2, "data": "second try ünïcode", "size": len("second try ünïcode".encode()), "truncated": False},
        ]
    }
    # A node with no log yet: empty, not an error.
    assert alice_client.get(f"/api/v1/runs/{run['id']}/logs/subtract").content == b""
    missing = alice_client.get(f"/api/v1/runs/{run['id']}/logs/nosuch")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/json")
    assert "nosuch" in missing.json()["detail"]


def test_logs_of_nodes_with_dots_in_their_names(alice_client, alice):
    document = {}
    for key, obj in nc_file("arithmetic.nc").items():
        obj = copy.deepcopy(obj)
        if obj["type"] == "Node" and key == "integer":
            key = obj["uniquename"] = "int.0.int"
        if obj["type"] == "Connection" and obj["input"][0] == "integer":
            obj["input"][0] = "int.0.int"
        document[key] = obj
    workflow_id = published(alice_client, document=document)
    run = execute(alice_client, workflow_id)
    runner, _ = online_runner(alice)
    payload = next(p for p in lease(runner) if p["node"]["uniquename"] == "int.0.int")
    log_append(runner=runner, lease_id=uuid.UUID(payload["lease_id"]), offset=0, data="dotted\n")
    assert b"dotted" in alice_client.get(f"/api/v1/runs/{run['id']}/logs/int.0.int").content


# ---------------------------------------------------------------- artifacts


def stored_artifact(client, alice) -> tuple[dict, Artifact]:
    workflow_id = published(client)
    run = execute(client, workflow_id)
    runner, _ = online_runner(alice, "plotter")
    payload = next(p for p in lease(runner) if p["node"]["uniquename"] == "root")
    artifact = artifact_store(
        runner=runner, lease_id=uuid.UUID(payload["lease_id"]), name="plot 1.png",
        upload=SimpleUploadedFile("ignored.png", b"\x89PNG fake"), content_type="image/png",
    )
    report(runner, payload, outputs={"result": {"$nw": "artifact", "id": str(artifact.id)}})
    return {"workflow_id": workflow_id, "run": run}, artifact


def test_artifact_download_and_provenance(alice_client, alice):
    context, artifact = stored_artifact(alice_client, alice)
    response = alice_client.get(f"/api/v1/artifacts/{artifact.id}", HTTP_ACCEPT="application/octet-stream")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\x89PNG fake"
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment")
    assert "plot 1.png" in response["Content-Disposition"]
    assert response["X-Content-SHA256"] == artifact.sha256 == __import__("hashlib").sha256(b"\x89PNG fake").hexdigest()

    provenance = alice_client.get(f"/api/v1/artifacts/{artifact.id}/provenance")
    assert provenance.status_code == 200
    body = provenance.json()
    assert body["id"] == str(artifact.id)
    assert body["name"] == "plot 1.png"
    assert body["sha256"] == artifact.sha256
    assert body["size"] == len(b"\x89PNG fake")
    assert body["node"] == "root"
    assert body["path"] == ["math", "Root"]
    assert body["attempt"] == 1
    assert body["run_id"] == context["run"]["id"]
    assert body["workflow_id"] == context["workflow_id"]
    assert body["revision"] == context["run"]["revision"]
    assert body["runner"] == "plotter"
    assert body["created"]

    status = status_of(alice_client, context["workflow_id"])
    assert status["nodes"]["root"]["artifacts"] == [{"id": str(artifact.id), "name": "plot 1.png", "sha256": artifact.sha256}]


def test_artifact_missing_or_lost_file_is_404(alice_client, alice):
    _, artifact = stored_artifact(alice_client, alice)
    assert alice_client.get(f"/api/v1/artifacts/{uuid.uuid4()}").status_code == 404
    assert alice_client.get(f"/api/v1/artifacts/{uuid.uuid4()}/provenance").status_code == 404
    artifact_path(artifact.id).unlink()
    response = alice_client.get(f"/api/v1/artifacts/{artifact.id}")
    assert response.status_code == 404
    assert "missing" in response.json()["detail"]


# ---------------------------------------------------------------- queue


def test_queue_status_groups_own_tasks_by_tags_and_executor(alice_client, bob_client, alice, admin_client):
    gpu = published(alice_client, "gpu", requirements={"tags": ["gpu"], "executor": "shell"})
    plain = published(alice_client, "plain")
    execute(alice_client, gpu)
    execute(alice_client, plain)
    execute(bob_client, published(bob_client, "bobs"))
    runner, _ = online_runner(alice)
    lease(runner, max_tasks=1)  # one of the plain workflow's roots

    body = alice_client.get("/api/v1/queue/status").json()
    groups = {(tuple(g["tags"]), g["executor"]): g for g in body["groups"]}
    assert set(groups) == {(("gpu",), "shell"), ((), "local")}
    assert groups[(("gpu",), "shell")]["queued"] == 3
    assert groups[(("gpu",), "shell")]["leased"] == 0
    assert groups[((), "local")]["queued"] == 2
    assert groups[((), "local")]["leased"] == 1
    assert groups[((), "local")]["oldest_queued"] is not None
    assert body["totals"] == {"queued": 5, "leased": 1, "running": 0}

    bobs = bob_client.get("/api/v1/queue/status").json()
    assert bobs["totals"] == {"queued": 3, "leased": 0, "running": 0}
    everyone = admin_client.get("/api/v1/queue/status").json()
    assert everyone["totals"] == {"queued": 8, "leased": 1, "running": 0}


def test_queue_clear_cancels_own_queued_tasks_and_finishes_runs(alice_client, bob_client, alice):
    first = execute(alice_client, published(alice_client, "a"))
    second = execute(alice_client, published(alice_client, "b"))
    bobs = execute(bob_client, published(bob_client, "bobs"))
    runner, _ = online_runner(alice)
    held = next(p for p in lease(runner) if p["run_id"] == second["id"])
    # Back to the queue, all but one lease: the runner took every root of both runs.
    Task.objects.filter(state=TaskState.LEASED).exclude(pk=held["task_id"]).update(
        state=TaskState.QUEUED, lease_id=None, runner=None
    )

    response = alice_client.post("/api/v1/queue/clear")
    assert response.status_code == 200
    assert response.json() == {"cleared": 5}  # 3 roots of the first run, 2 of the second

    # The first run had nothing held: every task is final, so it finished, as cancelled.
    first_tasks = tasks_by_node(first["id"])
    assert Run.objects.get(pk=first["id"]).state == RunState.CANCELLED
    assert {t.state for n, t in first_tasks.items() if n in ("power", "integer", "root")} == {TaskState.CANCELLED}
    assert {first_tasks[n].state for n in ("multiply", "subtract")} == {TaskState.UPSTREAM_FAILED}
    # The second still holds a lease: it goes on, and finishes once that result comes.
    assert Run.objects.get(pk=second["id"]).state == RunState.RUNNING
    report(runner, held)
    assert Run.objects.get(pk=second["id"]).state == RunState.CANCELLED
    # Bob's queue is his own.
    assert Task.objects.filter(run_id=bobs["id"], state=TaskState.QUEUED).count() == 3
    assert Run.objects.get(pk=bobs["id"]).state == RunState.RUNNING
    assert alice_client.post("/api/v1/queue/clear").json() == {"cleared": 0}


def test_admin_clears_everyones_queue(alice_client, bob_client, admin_client):
    execute(alice_client, published(alice_client, "a"))
    execute(bob_client, published(bob_client, "b"))
    assert admin_client.post("/api/v1/queue/clear").json() == {"cleared": 6}
    assert not Task.objects.filter(state__in=[TaskState.QUEUED, TaskState.PENDING]).exists()
    assert set(Run.objects.values_list("state", flat=True)) == {RunState.CANCELLED}


# ---------------------------------------------------------------- isolation and credentials


def test_bob_sees_nothing_of_alices_runs(alice_client, bob_client, alice):
    context, artifact = stored_artifact(alice_client, alice)
    workflow_id, run_id = context["workflow_id"], context["run"]["id"]
    log_task = Task.objects.get(run_id=run_id, node="root")
    execute(alice_client, workflow_id, reuse=False)  # a second run, with queued tasks bob must not clear
    assert Task.objects.filter(state=TaskState.QUEUED).count() == 3
    states_before = dict(Task.objects.values_list("pk", "state"))
    for url in [
        f"/api/v1/workflow/status/{workflow_id}",
        f"/api/v1/workflow/status/{workflow_id}?run={run_id}",
        f"/api/v1/workflow/get/{workflow_id}",
        f"/api/v1/workflow/get/{workflow_id}?run={run_id}",
        f"/api/v1/runs/{run_id}/logs/{log_task.node}",
        f"/api/v1/artifacts/{artifact.id}",
        f"/api/v1/artifacts/{artifact.id}/provenance",
    ]:
        response = bob_client.get(url)
        assert response.status_code == 404, url
        assert response["Content-Type"].startswith("application/json"), url
    for url in [f"/api/v1/workflow/execute/{workflow_id}", f"/api/v1/workflow/cancel/{workflow_id}"]:
        assert bob_client.post(url, {}, format="json").status_code == 404, url
    # Bob's own workflow does not open alice's run either.
    bobs = published(bob_client, "bobs")
    assert bob_client.get(f"/api/v1/workflow/status/{bobs}", {"run": run_id}).status_code == 404
    assert bob_client.post(f"/api/v1/workflow/cancel/{bobs}", {"run": run_id}, format="json").status_code == 404
    assert bob_client.get("/api/v1/queue/status").json()["totals"] == {"queued": 0, "leased": 0, "running": 0}
    assert bob_client.post("/api/v1/queue/clear").json() == {"cleared": 0}
    assert Run.objects.get(pk=run_id).state == RunState.RUNNING
    assert dict(Task.objects.values_list("pk", "state")) == states_before


def test_admin_sees_every_run(alice_client, alice, admin_client):
    context, artifact = stored_artifact(alice_client, alice)
    workflow_id, run_id = context["workflow_id"], context["run"]["id"]
    assert admin_client.get(f"/api/v1/workflow/status/{workflow_id}").status_code == 200
    assert admin_client.get(f"/api/v1/runs/{run_id}/logs/root").status_code == 200
    assert admin_client.get(f"/api/v1/artifacts/{artifact.id}/provenance").status_code == 200


def test_runner_token_and_no_credentials_are_refused_on_user_endpoints(alice_client, alice):
    context, artifact = stored_artifact(alice_client, alice)
    workflow_id, run_id = context["workflow_id"], context["run"]["id"]
    _, token = online_runner(alice, "rogue")
    runner_client = APIClient()
    runner_client.credentials(HTTP_AUTHORIZATION="Runner " + token, HTTP_X_NODEWORKS_PROTOCOL="1")
    anonymous = APIClient()
    gets = [
        f"/api/v1/workflow/status/{workflow_id}",
        f"/api/v1/workflow/get/{workflow_id}?run={run_id}",
        f"/api/v1/runs/{run_id}/logs/root",
        f"/api/v1/artifacts/{artifact.id}",
        f"/api/v1/artifacts/{artifact.id}/provenance",
        "/api/v1/queue/status",
    ]
    posts = [f"/api/v1/workflow/execute/{workflow_id}", f"/api/v1/workflow/cancel/{workflow_id}", "/api/v1/queue/clear"]
    for client in (runner_client, anonymous):
        for url in gets:
            assert client.get(url).status_code == 401, url
        for url in posts:
            assert client.post(url, {}, format="json").status_code == 401, url
    assert Run.objects.count() == 1
    assert Run.objects.get().state == RunState.RUNNING
    # The same token does work where it belongs.
    assert runner_client.post("/api/v1/runners/lease", {"executors": ["local"]}, format="json").status_code == 200
