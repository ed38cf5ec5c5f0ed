"""User-facing runner APIs (register, status, cancel a task, shutdown), the /admin calls and /status figures."""

import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.secrets import secret_digest
from runners.models import Runner
from tests.conftest import make_user
from tests.test_run_apis import execute, lease, online_runner, published, report
from workflows.models import Run, RunState, Task, TaskState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


@pytest.fixture
def admin_client(db):
    client = APIClient()
    client.force_authenticate(make_user("root", staff=True))
    return client


def runner_http(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Runner " + token, HTTP_X_NODEWORKS_PROTOCOL="1")
    return client


def register(client, **body):
    body = {"name": "laptop", "tags": ["gpu"], "executors": ["local"], **body}
    return client.post("/api/v1/runners/register", body, format="json")


# ---------------------------------------------------------------- register


def test_register_returns_the_token_once_and_stores_only_its_digest(alice_client, alice):
    response = register(alice_client, tags=["gpu", "cuda:12", "gpu"], executors=["shell", "local"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "laptop"
    assert body["token"].startswith("nwr_")
    assert body["tags"] == ["cuda:12", "gpu"]
    assert body["executors"] == ["local", "shell"]
    runner = Runner.objects.get(pk=body["id"])
    assert runner.owner == alice
    assert runner.token_digest == secret_digest(body["token"])
    assert body["token"] not in str(Runner.objects.filter(pk=runner.pk).values().get())
    # Never shown again.
    listing = alice_client.get("/api/v1/runners/status").json()
    assert body["token"] not in str(listing)
    assert "token_digest" not in listing[0]

    # The token works on the runner protocol at once.
    assert runner_http(body["token"]).post("/api/v1/runners/lease", {"executors": ["local"]}, format="json").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"tags": ["has space"]},
        {"tags": ["a" * 65]},
        {"tags": ["ok", "bad/slash"]},
        {"tags": "gpu"},
        {"executors": ["teleport"]},
        {"executors": []},
        {"executors": "local"},
    ],
)
def test_register_validates(alice_client, body):
    response = register(alice_client, **body)
    assert response.status_code == 400, response.content
    assert "detail" in response.json()
    assert not Runner.objects.exists()


def test_register_defaults_to_the_local_executor_and_no_tags(alice_client):
    response = alice_client.post("/api/v1/runners/register", {"name": "  box  "}, format="json")
    assert response.status_code == 201
    assert response.json()["tags"] == [] and response.json()["executors"] == ["local"]
    assert response.json()["name"] == "box"


# ---------------------------------------------------------------- status


def test_status_lists_own_runners_with_state_and_current_tasks(alice_client, bob_client, alice, bob, admin_client):
    mine, _ = online_runner(alice, "mine")
    online_runner(bob, "bobs")
    asleep, _ = online_runner(alice, "asleep")
    Runner.objects.filter(pk=asleep.pk).update(last_contact=None)
    online_runner(alice, "paused", paused=True)
    online_runner(alice, "draining", shutdown_requested=True)
    run = execute(alice_client, published(alice_client))
    leased = lease(mine, max_tasks=2)

    body = alice_client.get("/api/v1/runners/status").json()
    by_name = {runner["name"]: runner for runner in body}
    assert set(by_name) == {"mine", "asleep", "paused", "draining"}
    assert {name: r["status"] for name, r in by_name.items()} == {
        "mine": "online", "asleep": "offline", "paused": "paused", "draining": "draining",
    }
    current = by_name["mine"]["current_tasks"]
    assert sorted(t["task_id"] for t in current) == sorted(p["task_id"] for p in leased)
    assert {t["run"] for t in current} == {run["id"]}
    assert {t["state"] for t in current} == {"leased"}
    assert {t["node"] for t in current} <= {"power", "integer", "root"}
    assert by_name["asleep"]["current_tasks"] == []
    assert by_name["asleep"]["last_contact"] is None
    assert by_name["mine"]["last_contact"] is not None
    assert {"id", "name", "owner", "tags", "executors", "status", "current_tasks", "last_contact", "version",
            "shared_with_all"} <= set(by_name["mine"])
    assert by_name["mine"]["owner"] == "alice"

    assert [r["name"] for r in bob_client.get("/api/v1/runners/status").json()] == ["bobs"]
    assert len(admin_client.get("/api/v1/runners/status").json()) == 5


def test_finished_tasks_leave_current_tasks(alice_client, alice):
    runner, _ = online_runner(alice)
    execute(alice_client, published(alice_client))
    next_tasks = []
    for payload in lease(runner):
        next_tasks += report(runner, payload)
    # The successor was leased to this runner with the results (chain affinity): that is all it holds now.
    body = alice_client.get("/api/v1/runners/status").json()
    assert [t["node"] for t in body[0]["current_tasks"]] == ["multiply"] == [p["node"]["uniquename"] for p in next_tasks]
    subtract = report(runner, next_tasks[0])
    assert [p["node"]["uniquename"] for p in subtract] == ["subtract"]
    report(runner, subtract[0])
    assert alice_client.get("/api/v1/runners/status").json()[0]["current_tasks"] == []


# ---------------------------------------------------------------- cancel a task


def test_cancel_a_queued_task_ends_it_and_its_downstream(alice_client, bob_client, alice):
    run = execute(alice_client, published(alice_client))
    power = Task.objects.get(run_id=run["id"], node="power")
    assert bob_client.post(f"/api/v1/runners/cancel/{power.pk}").status_code == 404
    assert Task.objects.get(pk=power.pk).state == TaskState.QUEUED

    response = alice_client.post(f"/api/v1/runners/cancel/{power.pk}")
    assert response.status_code == 200
    assert response.json() == {"task_id": power.pk, "state": "cancelled", "cancel_requested": False}
    states = dict(Task.objects.filter(run_id=run["id"]).values_list("node", "state"))
    assert states["power"] == TaskState.CANCELLED
    assert states["multiply"] == states["subtract"] == TaskState.UPSTREAM_FAILED
    assert alice_client.post("/api/v1/runners/cancel/999999").status_code == 404


def test_cancel_a_running_task_reaches_its_runner(alice_client, alice):
    run = execute(alice_client, published(alice_client))
    runner, token = online_runner(alice)
    payload = next(p for p in lease(runner) if p["node"]["uniquename"] == "root")
    response = alice_client.post(f"/api/v1/runners/cancel/{payload['task_id']}")
    assert response.json() == {"task_id": payload["task_id"], "state": "leased", "cancel_requested": True}

    beat = runner_http(token).post("/api/v1/runners/heartbeat", {"lease_ids": [payload["lease_id"]]}, format="json")
    assert beat.status_code == 200
    assert beat.json()["leases"] == {payload["lease_id"]: "cancel"}
    report(runner, payload, state="cancelled", error="stopped")
    assert Task.objects.get(pk=payload["task_id"]).state == TaskState.CANCELLED
    assert Task.objects.get(run_id=run["id"], node="subtract").state == TaskState.UPSTREAM_FAILED


# ---------------------------------------------------------------- shutdown


def test_shutdown_own_runner_reaches_it_and_others_get_404(alice_client, bob_client, alice, bob, admin_client):
    runner, token = online_runner(alice)
    bobs, _ = online_runner(bob, "bobs")
    assert bob_client.post(f"/api/v1/runners/shutdown/{runner.pk}").status_code == 404
    assert not Runner.objects.get(pk=runner.pk).shutdown_requested

    response = alice_client.post(f"/api/v1/runners/shutdown/{runner.pk}")
    assert response.status_code == 200
    assert response.json()["shutdown_requested"] is True
    assert response.json()["status"] == "draining"
    beat = runner_http(token).post("/api/v1/runners/heartbeat", {"lease_ids": []}, format="json")
    assert beat.json()["shutdown"] is True

    assert admin_client.post(f"/api/v1/runners/shutdown/{bobs.pk}").status_code == 200
    assert Runner.objects.get(pk=bobs.pk).shutdown_requested
    assert alice_client.post("/api/v1/runners/shutdown/999999").status_code == 404


# ---------------------------------------------------------------- /admin calls


def test_admin_calls_are_for_staff_only(alice_client):
    run = execute(alice_client, published(alice_client))
    for url in ("/api/v1/admin/cancel_all", "/api/v1/admin/shutdown"):
        response = alice_client.post(url)
        assert response.status_code == 403
        assert "detail" in response.json()
        assert APIClient().post(url).status_code == 401
    assert Run.objects.get(pk=run["id"]).state == RunState.RUNNING


def test_admin_cancel_all_cancels_every_run_and_clears_the_queue(alice_client, bob_client, alice, admin_client):
    first = execute(alice_client, published(alice_client))
    second = execute(bob_client, published(bob_client))
    done = execute(alice_client, published(alice_client, "done"))
    Run.objects.filter(pk=done["id"]).update(state=RunState.SUCCEEDED)
    runner, _ = online_runner(alice)
    held = lease(runner, max_tasks=1)[0]

    response = admin_client.post("/api/v1/admin/cancel_all")
    assert response.status_code == 200
    body = response.json()
    assert sorted(body["cancelled"]) == sorted([first["id"], second["id"]])
    # Left behind by a finished run (made up above): cleared too.
    assert body["cleared"] == 3
    assert not Task.objects.filter(state__in=[TaskState.QUEUED, TaskState.PENDING]).exists()
    assert Run.objects.get(pk=first["id"]).state == RunState.CANCELLED
    assert Run.objects.get(pk=second["id"]).state == RunState.CANCELLED
    assert Task.objects.get(pk=held["task_id"]).cancel_requested
    assert not Runner.objects.get(pk=runner.pk).shutdown_requested


def test_admin_shutdown_also_tells_every_runner_to_exit(alice_client, alice, bob, admin_client):
    run = execute(alice_client, published(alice_client))
    online_runner(alice)
    online_runner(bob, "bobs")
    response = admin_client.post("/api/v1/admin/shutdown")
    assert response.status_code == 200
    assert response.json() == {"cancelled": [run["id"]], "cleared": 0, "runners": 2}
    assert set(Runner.objects.values_list("shutdown_requested", flat=True)) == {True}


# ---------------------------------------------------------------- credentials and /status


def test_runner_tokens_are_refused_on_user_runner_endpoints(alice_client, alice):
    runner, token = online_runner(alice)
    task = Task.objects.get(run_id=execute(alice_client, published(alice_client))["id"], node="power")
    client = runner_http(token)
    assert client.get("/api/v1/runners/status").status_code == 401
    assert client.post("/api/v1/runners/register", {"name": "x"}, format="json").status_code == 401
    assert client.post(f"/api/v1/runners/cancel/{task.pk}").status_code == 401
    assert client.post(f"/api/v1/runners/shutdown/{runner.pk}").status_code == 401
    assert client.post("/api/v1/admin/cancel_all").status_code == 401
    assert client.post("/api/v1/admin/shutdown").status_code == 401
    assert Runner.objects.count() == 1
    assert Task.objects.get(pk=task.pk).state == TaskState.QUEUED
    assert not Runner.objects.get(pk=runner.pk).shutdown_requested


def test_user_tokens_are_refused_on_the_runner_protocol(alice_client):
    token = alice_client.post("/api/v1/token", {"name": "nodeworks"}, format="json").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + token, HTTP_X_NODEWORKS_PROTOCOL="1")
    assert client.get("/api/v1/runners/status").status_code == 200
    assert client.post("/api/v1/runners/lease", {"executors": ["local"]}, format="json").status_code == 401


def test_public_status_counts_the_queue_and_runners_online(alice_client, alice, bob):
    execute(alice_client, published(alice_client))
    online_runner(alice)
    online_runner(bob, "paused", paused=True)
    asleep, _ = online_runner(bob, "asleep")
    Runner.objects.filter(pk=asleep.pk).update(last_contact=timezone.now() - timezone.timedelta(hours=1))
    body = APIClient().get("/api/v1/status").json()
    assert body["queue_length"] == 3
    assert body["runners_online"] == 2


def test_unknown_ids_are_404_not_500(alice_client):
    assert alice_client.post(f"/api/v1/runners/cancel/{uuid.uuid4()}").status_code == 404
    assert alice_client.post("/api/v1/runners/shutdown/abc").status_code == 404
