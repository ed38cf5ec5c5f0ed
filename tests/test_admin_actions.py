"""The Django admin of runs, tasks, logs, artifacts and runners: pages render, actions change state."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from runners.models import Runner
from runners.services import artifact_store, log_append, results_report
from tests.test_run_apis import drive, execute, lease, online_runner, published, report, tasks_by_node
from workflows.models import Run, RunState, Task, TaskState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]


@pytest.fixture
def operator(db):
    user = get_user_model().objects.create_superuser("operator", "operator@example.org", "a long test password")
    client = Client()
    client.force_login(user)
    return client


def act(client, model: str, action: str, objects) -> None:
    response = client.post(
        f"/admin/{model}/", {"action": action, "_selected_action": [str(obj.pk) for obj in objects]}
    )
    assert response.status_code == 302, response.content[:2000]


def failed_run(alice_client, alice, *, fail=("multiply",)):
    """arithmetic.nc run where `fail` failed for good: its downstream is upstream_failed, the run failed."""
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    runner, token = online_runner(alice)
    drive(runner, fail=fail)
    return workflow_id, run, runner, token


# ---------------------------------------------------------------- pages


def test_admin_pages_render_and_never_show_the_token_digest(operator, alice_client, alice):
    _, run, runner, _ = failed_run(alice_client, alice)
    task = Task.objects.get(run_id=run["id"], node="power")
    lease_runner, _ = online_runner(alice, "logger")
    second = execute(alice_client, published(alice_client, "second"))
    payload = next(p for p in lease(lease_runner) if p["run_id"] == second["id"])
    log_append(runner=lease_runner, lease_id=uuid.UUID(payload["lease_id"]), offset=0, data="hello log")
    artifact = artifact_store(
        runner=lease_runner, lease_id=uuid.UUID(payload["lease_id"]), name="a.txt",
        upload=SimpleUploadedFile("a.txt", b"a"), content_type="text/plain",
    )
    pages = [
        "/admin/workflows/run/", f"/admin/workflows/run/{run['id']}/change/", "/admin/workflows/run/?state__exact=failed",
        "/admin/workflows/task/", f"/admin/workflows/task/{task.pk}/change/", "/admin/workflows/task/?state__exact=failed",
        "/admin/workflows/tasklog/", "/admin/workflows/artifact/", f"/admin/workflows/artifact/{artifact.pk}/change/",
        "/admin/runners/runner/", f"/admin/runners/runner/{runner.pk}/change/", "/admin/runners/runner/?paused__exact=0",
    ]
    for url in pages:
        response = operator.get(url)
        assert response.status_code == 200, url
        for r in Runner.objects.all():
            assert r.token_digest not in response.content.decode(), url
    change = operator.get(f"/admin/runners/runner/{runner.pk}/change/").content.decode()
    assert 'name="shared_with"' in change  # editable, with the filter_horizontal widget
    assert "token_digest" not in change
    # Read-only models: no add, no delete.
    assert operator.get("/admin/workflows/tasklog/add/").status_code == 403
    assert operator.get("/admin/workflows/artifact/add/").status_code == 403
    assert operator.get(f"/admin/workflows/artifact/{artifact.pk}/delete/").status_code == 403
    assert operator.get("/admin/workflows/run/add/").status_code == 403
    assert operator.get("/admin/runners/runner/add/").status_code == 403


def test_non_staff_cannot_use_the_admin(alice):
    client = Client()
    client.force_login(alice)
    response = client.post("/admin/workflows/run/", {"action": "cancel_runs", "_selected_action": ["1"]})
    assert response.status_code == 302 and "/login/" in response["Location"]


# ---------------------------------------------------------------- runs and tasks


def test_cancel_runs_action(operator, alice_client, alice):
    workflow_id = published(alice_client)
    first, second = execute(alice_client, workflow_id), execute(alice_client, workflow_id)
    act(operator, "workflows/run", "cancel_runs", Run.objects.filter(pk=first["id"]))
    assert Run.objects.get(pk=first["id"]).state == RunState.CANCELLED
    assert not Task.objects.filter(run_id=first["id"], state__in=[TaskState.QUEUED, TaskState.PENDING]).exists()
    assert Run.objects.get(pk=second["id"]).state == RunState.RUNNING


def test_cancel_tasks_action(operator, alice_client, alice):
    run = execute(alice_client, published(alice_client))
    runner, _ = online_runner(alice)
    held = lease(runner, max_tasks=1)[0]
    held_node = held["node"]["uniquename"]
    queued_node = next(n for n in ("power", "integer") if n != held_node)
    tasks = tasks_by_node(run["id"])
    act(operator, "workflows/task", "cancel_tasks", [tasks[queued_node], tasks[held_node]])
    tasks = tasks_by_node(run["id"])
    assert tasks[queued_node].state == TaskState.CANCELLED
    assert tasks["multiply"].state == TaskState.UPSTREAM_FAILED
    assert tasks[held_node].state == TaskState.LEASED and tasks[held_node].cancel_requested
    report(runner, held, state="cancelled")
    assert tasks_by_node(run["id"])[held_node].state == TaskState.CANCELLED


def test_requeue_a_failed_task_gives_a_fresh_attempt_and_reopens_the_run(operator, alice_client, alice):
    workflow_id, run, runner, _ = failed_run(alice_client, alice)
    tasks = tasks_by_node(run["id"])
    assert Run.objects.get(pk=run["id"]).state == RunState.FAILED
    assert tasks["multiply"].state == TaskState.FAILED
    assert tasks["subtract"].state == TaskState.UPSTREAM_FAILED
    old_lease = tasks["multiply"].finished_lease_id

    act(operator, "workflows/task", "requeue_tasks", [tasks["multiply"]])
    tasks = tasks_by_node(run["id"])
    multiply = tasks["multiply"]
    assert multiply.state == TaskState.QUEUED
    assert multiply.attempt == 2
    assert multiply.lease_id is None and multiply.runner_id is None and multiply.expires_at is None
    assert multiply.error == "" and multiply.finished is None and multiply.failures == 0
    assert multiply.queued_at is not None
    # Its downstream waits for it again, and the run runs again.
    assert tasks["subtract"].state == TaskState.PENDING and tasks["subtract"].pending_parents == 1
    assert tasks["power"].state == TaskState.SUCCEEDED  # finished work is kept
    run_row = Run.objects.get(pk=run["id"])
    assert run_row.state == RunState.RUNNING and run_row.finished is None

    # A late copy of the old attempt's result is refused and changes nothing.
    now = timezone.now()
    late = {"lease_id": old_lease, "state": "failed", "outputs": {}, "error": "late", "started": now, "finished": now}
    answers, _ = results_report(runner=runner, results=[late])
    assert not answers[0].accepted
    assert tasks_by_node(run["id"])["multiply"].state == TaskState.QUEUED

    drive(runner)
    assert Run.objects.get(pk=run["id"]).state == RunState.SUCCEEDED
    assert tasks_by_node(run["id"])["subtract"].outputs == {"result": 271860.0}
    status = alice_client.get(f"/api/v1/workflow/status/{workflow_id}").json()
    assert status["nodes"]["multiply"]["attempt"] == 2


def test_requeue_an_upstream_failed_task_brings_back_what_it_needs(operator, alice_client, alice):
    _, run, runner, _ = failed_run(alice_client, alice, fail=("root",))
    tasks = tasks_by_node(run["id"])
    assert tasks["root"].state == TaskState.FAILED and tasks["subtract"].state == TaskState.UPSTREAM_FAILED

    act(operator, "workflows/task", "requeue_tasks", [tasks["subtract"]])
    tasks = tasks_by_node(run["id"])
    assert tasks["root"].state == TaskState.QUEUED and tasks["root"].attempt == 2
    assert tasks["subtract"].state == TaskState.PENDING and tasks["subtract"].attempt == 1
    assert tasks["subtract"].pending_parents == 1  # multiply had succeeded
    drive(runner)
    assert Run.objects.get(pk=run["id"]).state == RunState.SUCCEEDED


def test_requeue_leaves_other_states_alone(operator, alice_client, alice):
    run = execute(alice_client, published(alice_client))
    runner, _ = online_runner(alice)
    lease(runner, max_tasks=1)
    before = dict(Task.objects.filter(run_id=run["id"]).values_list("pk", "state"))
    response = operator.post(
        "/admin/workflows/task/",
        {"action": "requeue_tasks", "_selected_action": [str(pk) for pk in before]},
        follow=True,
    )
    assert "were left alone" in response.content.decode()
    assert dict(Task.objects.filter(run_id=run["id"]).values_list("pk", "state")) == before


def test_requeue_in_a_cancelled_run_is_refused(operator, alice_client, alice):
    """A cancelled run stays cancelled (issue 11, item 5): a requeue leaves it and its tasks alone."""
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    alice_client.post(f"/api/v1/workflow/cancel/{workflow_id}", {}, format="json")
    before = {node: task.state for node, task in tasks_by_node(run["id"]).items()}
    response = operator.post(
        "/admin/workflows/task/", {"action": "requeue_tasks", "_selected_action": [str(tasks_by_node(run["id"])["power"].pk)]},
        follow=True,
    )
    assert "belong to cancelled runs" in response.content.decode()
    assert {node: task.state for node, task in tasks_by_node(run["id"]).items()} == before
    assert Run.objects.get(pk=run["id"]).state == RunState.CANCELLED
    runner, _ = online_runner(alice)
    assert lease(runner) == []


# ---------------------------------------------------------------- runners


def test_runner_pause_resume_drain_actions(operator, alice):
    runner, _ = online_runner(alice)
    act(operator, "runners/runner", "pause", [runner])
    runner.refresh_from_db()
    assert runner.paused and runner.status == "paused"
    act(operator, "runners/runner", "resume", [runner])
    runner.refresh_from_db()
    assert not runner.paused and runner.status == "online"
    act(operator, "runners/runner", "drain", [runner])
    runner.refresh_from_db()
    assert runner.paused and runner.shutdown_requested and runner.status == "draining"
    act(operator, "runners/runner", "resume", [runner])
    runner.refresh_from_db()
    assert not runner.paused and not runner.shutdown_requested


def test_paused_runner_leases_nothing(operator, alice_client, alice):
    execute(alice_client, published(alice_client))
    runner, _ = online_runner(alice)
    act(operator, "runners/runner", "pause", [runner])
    runner.refresh_from_db()
    assert lease(runner) == []
    act(operator, "runners/runner", "resume", [runner])
    runner.refresh_from_db()
    assert len(lease(runner)) == 3


def test_revoke_token_action(operator, alice):
    runner, token = online_runner(alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Runner " + token, HTTP_X_NODEWORKS_PROTOCOL="1")
    assert client.post("/api/v1/runners/lease", {"executors": ["local"]}, format="json").status_code == 200
    act(operator, "runners/runner", "revoke_token", [runner])
    assert client.post("/api/v1/runners/lease", {"executors": ["local"]}, format="json").status_code == 401
    assert Runner.objects.get(pk=runner.pk).token_hint == "revoked"


def test_share_with_all_only_for_staff_owned_runners(operator, alice, alice_client):
    staff = get_user_model().objects.get(username="operator")
    pool, _ = online_runner(staff, "pool")
    private, _ = online_runner(alice, "private")
    response = operator.post(
        "/admin/runners/runner/", {"action": "share_with_all", "_selected_action": [pool.pk, private.pk]}, follow=True
    )
    assert "stay private" in response.content.decode()
    assert Runner.objects.get(pk=pool.pk).shared_with_all
    assert not Runner.objects.get(pk=private.pk).shared_with_all
    # The shared pool now takes alice's tasks.
    execute(alice_client, published(alice_client))
    pool.refresh_from_db()
    assert len(lease(pool)) == 3
    act(operator, "runners/runner", "unshare_with_all", [pool])
    assert not Runner.objects.get(pk=pool.pk).shared_with_all


def test_edit_runner_tags_and_sharing_in_the_change_form(operator, alice):
    staff = get_user_model().objects.get(username="operator")
    runner, _ = online_runner(staff, "pool")
    url = f"/admin/runners/runner/{runner.pk}/change/"
    form = {
        "name": "pool-2", "tags": '["gpu", "a100", "gpu"]', "executors": '["slurm", "local"]',
        "shared_with": [str(alice.pk)], "shared_with_all": "", "paused": "", "shutdown_requested": "",
    }
    assert operator.post(url, form).status_code == 302
    runner.refresh_from_db()
    assert runner.name == "pool-2"
    assert runner.tags == ["a100", "gpu"] and runner.executors == ["local", "slurm"]
    assert list(runner.shared_with.all()) == [alice]
    for bad in ({"tags": '["no spaces"]'}, {"executors": '["teleport"]'}, {"tags": '"gpu"'}):
        response = operator.post(url, {**form, **bad})
        assert response.status_code == 200  # the form again, with its error
        assert "errornote" in response.content.decode() or "errorlist" in response.content.decode()
    runner.refresh_from_db()
    assert runner.tags == ["a100", "gpu"]
    assert runner.last_contact <= timezone.now()


def test_sharing_a_users_runner_is_refused_in_the_form(operator, alice, bob):
    runner, _ = online_runner(alice, "private")
    url = f"/admin/runners/runner/{runner.pk}/change/"
    form = {"name": "private", "tags": "[]", "executors": '["local"]', "shared_with": [str(bob.pk)]}
    response = operator.post(url, form)
    assert response.status_code == 200
    assert "only runners of staff users can be shared" in response.content.decode()
    assert not runner.shared_with.exists()
    response = operator.post(url, {**form, "shared_with": [], "shared_with_all": "on"})
    assert "only runners of staff users can be shared" in response.content.decode()
    assert not Runner.objects.get(pk=runner.pk).shared_with_all


def test_run_page_links_to_its_tasks_and_skips_the_inline_for_big_runs(operator, alice_client, monkeypatch):
    from workflows.admin import RunAdmin

    run = execute(alice_client, published(alice_client))
    page = operator.get(f"/admin/workflows/run/{run['id']}/change/").content.decode()
    assert f"?run__id__exact={run['id']}" in page
    assert "pending: 2, queued: 3" in page
    assert "task_set-TOTAL_FORMS" in page or "tasks-TOTAL_FORMS" in page  # the inline is there
    monkeypatch.setattr(RunAdmin, "max_inline_tasks", 4)
    page = operator.get(f"/admin/workflows/run/{run['id']}/change/").content.decode()
    assert "tasks-TOTAL_FORMS" not in page and "task_set-TOTAL_FORMS" not in page
    listing = operator.get(f"/admin/workflows/task/?run__id__exact={run['id']}").content.decode()
    assert "5 tasks" in listing
