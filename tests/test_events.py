"""Events and triggers (issue 13, item 1): a push starts exactly the owner's listening workflows, with
payload keys mapped to input overrides, once per idempotency key; other users' triggers never fire."""

import json
import urllib.request
import uuid

import pytest
from rest_framework.test import APIClient

from tests.conftest import make_user, nc_file, publish
from tests.runner.conftest import (  # noqa: F401 (fixtures of the live server and real runners)
    live_server_url,
    make_api_user,
    nc_sample,
    runner_live_server,
    start_runner,
    user_api,
    wait_run,
)
from triggers.models import Delivery, Event
from workflows.models import Run, RunState

pytestmark = pytest.mark.django_db


def _workflow(client, name: str) -> int:
    response = publish(client, name, nc_file("product.nc"))
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _trigger(client, event: str, workflow: int, **extra) -> dict:
    response = client.post("/api/v1/events/triggers", {"event": event, "workflow": workflow, **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _push(client, name: str, payload=None, *, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/events/push", {"name": name, "payload": payload or {}}, format="json", **headers)


def test_an_event_starts_exactly_the_listening_workflows_of_its_owner(alice_client, bob_client):
    mapped, plain, other = (_workflow(alice_client, f"w{i}") for i in range(3))
    bobs = _workflow(bob_client, "bob's")
    t_mapped = _trigger(alice_client, "data-ready", mapped, inputs={"float.float": "payload.sizes.x"})
    t_plain = _trigger(alice_client, "data-ready", plain)
    _trigger(alice_client, "something-else", other)
    _trigger(bob_client, "data-ready", bobs)
    _trigger(alice_client, "data-ready", other, enabled=False)

    response = _push(alice_client, "data-ready", {"sizes": {"x": 7.5}, "unused": [1, 2]})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["failures"] == []
    assert sorted((r["trigger"], r["workflow"]) for r in body["runs"]) == [(t_mapped["id"], mapped), (t_plain["id"], plain)]
    runs = {run.workflow_id: run for run in Run.objects.all()}
    assert set(runs) == {mapped, plain}  # nothing for the other event, the disabled trigger, or bob
    assert runs[mapped].input_overrides == {"float.float": 7.5}
    assert runs[plain].input_overrides == {}
    assert {r["run"] for r in body["runs"]} == {run.pk for run in runs.values()}
    assert Event.objects.get().name == "data-ready"


def test_another_users_event_of_the_same_name_never_fires_my_triggers(alice_client, bob_client):
    _trigger(alice_client, "nightly", _workflow(alice_client, "a"))
    response = _push(bob_client, "nightly", {"x": 1})
    assert response.status_code == 201
    assert response.json()["runs"] == [] and response.json()["failures"] == []
    assert not Run.objects.exists()


def test_a_missing_payload_key_or_a_bad_trigger_is_recorded_and_never_stops_the_others(alice_client):
    good = _workflow(alice_client, "good")
    missing = _trigger(alice_client, "go", _workflow(alice_client, "m"), inputs={"float.float": "payload.nope"})
    changed_wf = _workflow(alice_client, "b")
    bad_terminal = _trigger(alice_client, "go", changed_wf, inputs={"float.float": "payload.v"})
    # Its latest revision no longer has the node the trigger's mapping names.
    arithmetic = alice_client.post(f"/api/v1/workflow/publish/{changed_wf}", {"workflow": nc_file("arithmetic.nc")},
                                   format="json")
    assert arithmetic.status_code == 201
    gone_id = _workflow(alice_client, "gone")
    gone = _trigger(alice_client, "go", gone_id)
    assert alice_client.delete(f"/api/v1/workflow/delete/{gone_id}").status_code in (200, 204)
    ok = _trigger(alice_client, "go", good, inputs={"float.float": "payload.v"})

    body = _push(alice_client, "go", {"v": 2.0}).json()

    assert [(r["trigger"], r["workflow"]) for r in body["runs"]] == [(ok["id"], good)]
    reasons = {f["trigger"]: f["reason"] for f in body["failures"]}
    assert set(reasons) == {missing["id"], bad_terminal["id"], gone["id"]}
    assert "payload has no 'payload.nope'" in reasons[missing["id"]]
    assert "'float.float' names no node terminal" in reasons[bad_terminal["id"]]
    assert "workflow was deleted" in reasons[gone["id"]]
    assert Run.objects.get().input_overrides == {"float.float": 2.0}
    status = alice_client.get("/api/v1/events/status").json()
    deliveries = status["results"][0]["deliveries"]
    assert len(deliveries) == 4
    assert [d["state"] for d in deliveries if d["run"] is not None] == [RunState.RUNNING]
    assert all(d["error"].startswith("not started") for d in deliveries if d["run"] is None)


def test_the_same_push_retried_with_the_same_key_starts_nothing_more(alice_client, bob_client):
    _trigger(alice_client, "build", _workflow(alice_client, "w"))
    first = _push(alice_client, "build", {"ref": "abc"}, key="push-1")
    again = _push(alice_client, "build", {"ref": "abc"}, key="push-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Event.objects.count() == 1 and Run.objects.count() == 1 and Delivery.objects.count() == 1

    changed = _push(alice_client, "build", {"ref": "def"}, key="push-1")
    assert changed.status_code == 409
    assert "different body" in changed.json()["detail"]
    assert Event.objects.count() == 1 and Run.objects.count() == 1

    # Keys are per user, and a push without a key is always new.
    assert _push(bob_client, "build", {"ref": "abc"}, key="push-1").status_code == 201
    assert _push(alice_client, "build", {"ref": "abc"}).json()["runs"][0]["run"] != first.json()["runs"][0]["run"]
    assert Run.objects.count() == 2


def test_an_admins_event_reaches_shared_triggers_only(alice_client):
    shared_wf, private_wf = _workflow(alice_client, "s"), _workflow(alice_client, "p")
    shared = _trigger(alice_client, "release", shared_wf, shared=True)
    _trigger(alice_client, "release", private_wf)
    admin = APIClient()
    admin.force_authenticate(make_user("root", staff=True))

    body = _push(admin, "release", {"v": 1}).json()

    assert [(r["trigger"], r["workflow"]) for r in body["runs"]] == [(shared["id"], shared_wf)]
    assert Run.objects.get().workflow_id == shared_wf
    # The event is the admin's: alice does not see it, the admin does.
    assert alice_client.get("/api/v1/events/status").json()["count"] == 0
    assert admin.get("/api/v1/events/status").json()["count"] == 1


def test_triggers_and_events_of_another_user_are_404(alice_client, bob_client):
    alices_wf = _workflow(alice_client, "a")
    trigger = _trigger(alice_client, "e", alices_wf)
    _push(alice_client, "e", {})
    assert bob_client.get(f"/api/v1/events/triggers/{trigger['id']}").status_code == 404
    assert bob_client.delete(f"/api/v1/events/triggers/{trigger['id']}").status_code == 404
    assert bob_client.get("/api/v1/events/triggers").json() == []
    assert bob_client.get("/api/v1/events/status").json()["count"] == 0
    response = bob_client.post("/api/v1/events/triggers", {"event": "e", "workflow": alices_wf}, format="json")
    assert response.status_code == 404
    assert alice_client.get(f"/api/v1/events/triggers/{trigger['id']}").json()["workflow"] == alices_wf
    assert alice_client.delete(f"/api/v1/events/triggers/{trigger['id']}").status_code == 204
    assert alice_client.get("/api/v1/events/triggers").json() == []


def test_a_trigger_pins_a_revision(alice_client):
    workflow = _workflow(alice_client, "w")
    first = alice_client.get(f"/api/v1/workflow/history/{workflow}").json()[0]["revision"]
    publish_again = alice_client.post(f"/api/v1/workflow/publish/{workflow}", {"workflow": nc_file("product.nc")},
                                      format="json")
    assert publish_again.status_code == 201
    trigger = _trigger(alice_client, "pin", workflow, revision=first[:10])
    assert trigger["revision"] == first
    _push(alice_client, "pin", {})
    assert Run.objects.get().revision == first
    missing = alice_client.post("/api/v1/events/triggers", {"event": "pin", "workflow": workflow,
                                                             "revision": "0" * 40}, format="json")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "nul\u0000"}, "name"),
        ({"name": "ok", "payload": {"k": "nul\u0000"}}, "payload"),
        ({"name": "ok", "payload": {"nul\u0000": 1}}, "payload"),
    ],
)
def test_bad_pushes_are_400_and_record_nothing(alice_client, body, field):
    response = alice_client.post("/api/v1/events/push", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["detail"]
    assert not Event.objects.exists()


def test_payload_limits(alice_client, settings):
    settings.NODEWORKS_EVENT_MAX_PAYLOAD_BYTES = 1000
    settings.NODEWORKS_EVENT_MAX_PAYLOAD_DEPTH = 5
    too_big = _push(alice_client, "e", {"blob": "x" * 1000})
    assert too_big.status_code == 413 and "at most 1000" in too_big.json()["detail"]
    deep = _push(alice_client, "e", {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}})
    assert deep.status_code == 400 and "deeper than 5" in deep.json()["detail"]
    assert _push(alice_client, "e", {"a": {"b": {"c": {"d": 1}}}}).status_code == 201
    assert Event.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "é"])
def test_a_bad_idempotency_key_is_400(alice_client, key):
    response = _push(alice_client, "e", {}, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]


@pytest.mark.parametrize(
    "inputs",
    [
        {"float.float": "sizes.x"},
        {"float.float": "payload."},
        {"float.float": 3},
        {"nodot": "payload.x"},
        ["x"],
        {"nonode.x": "payload.x"},
        {"multiply.result": "payload.x"},  # computed, not set
    ],
)
def test_a_bad_mapping_is_400(alice_client, inputs):
    workflow = _workflow(alice_client, "w")
    response = alice_client.post("/api/v1/events/triggers", {"event": "e", "workflow": workflow, "inputs": inputs},
                                 format="json")
    assert response.status_code == 400, response.json()
    assert "inputs" in response.json()["detail"]


def test_events_status_pages_newest_first(alice_client):
    for index in range(3):
        _push(alice_client, f"e{index}", {"i": index})
    page = alice_client.get("/api/v1/events/status?page_size=2").json()
    assert page["count"] == 3 and [e["name"] for e in page["results"]] == ["e2", "e1"]
    assert page["results"][0]["payload"] == {"i": 2}
    assert alice_client.get("/api/v1/events/status?page=9").status_code == 404
    assert alice_client.get("/api/v1/events/status?page_size=0").status_code == 400


def test_a_list_index_in_a_payload_path(alice_client):
    _trigger(alice_client, "e", _workflow(alice_client, "w"), inputs={"float.float": "payload.items.1.v"})
    assert _push(alice_client, "e", {"items": [{"v": 1.0}, {"v": 4.0}]}).json()["failures"] == []
    assert Run.objects.get().input_overrides == {"float.float": 4.0}


# ---------------------------------------------------------------- with a live server and a real runner


@pytest.mark.slow
def test_a_pushed_payload_reaches_the_node_on_a_real_runner(user_api, start_runner, wait_run):  # noqa: F811
    start_runner("events-runner")
    workflow = user_api.post("/api/v1/workflow/publish",
                             {"name": f"wf-{uuid.uuid4().hex[:8]}", "workflow": nc_sample("product.nc")})["id"]
    user_api.post("/api/v1/events/triggers",
                  {"event": "measure", "workflow": workflow, "inputs": {"float.float": "payload.scale"}})
    key = uuid.uuid4().hex
    pushed = _live_push(user_api, "measure", {"scale": 11.0}, key)
    assert pushed["failures"] == [] and len(pushed["runs"]) == 1
    run_id = pushed["runs"][0]["run"]
    status = wait_run(workflow, run_id=run_id, timeout=60)
    assert status["run"]["state"] == "succeeded", status
    assert status["nodes"]["multiply"]["outputs"]["result"] == 66.0  # 11 (from the payload) * 6
    assert _live_push(user_api, "measure", {"scale": 11.0}, key) == pushed  # the retry starts nothing
    events = user_api.get("/api/v1/events/status")
    assert events["count"] == 1
    assert events["results"][0]["deliveries"][0] == {
        "trigger": events["results"][0]["deliveries"][0]["trigger"], "workflow": workflow, "run": run_id,
        "state": "succeeded", "error": "",
    }


def _live_push(api, name: str, payload: dict, key: str) -> dict:
    """The Api helper sends no custom headers: a push with an Idempotency-Key, by hand."""
    request = urllib.request.Request(
        api.base + "/api/v1/events/push",
        data=json.dumps({"name": name, "payload": payload}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {api.token}", "Idempotency-Key": key},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return json.loads(response.read())


@pytest.mark.django_db(transaction=True)
def test_two_pushes_racing_with_one_key_record_one_event(alice, alice_client):
    from tests.test_concurrent_publish import _run_in_threads

    _trigger(alice_client, "race", _workflow(alice_client, "w"))

    def push(_index):
        client = APIClient()
        client.force_authenticate(alice)
        response = _push(client, "race", {"n": 1}, key="same-key")
        return response.status_code, response.json()

    answers = _run_in_threads(push, 4)
    assert {status for status, _ in answers} == {201}
    assert all(body == answers[0][1] for _, body in answers)
    assert Event.objects.count() == 1 and Run.objects.count() == 1


def test_the_admin_lists_triggers_and_events_and_checks_a_trigger(alice_client):
    from django.contrib.auth import get_user_model
    from django.test import Client

    workflow = _workflow(alice_client, "w")
    trigger = _trigger(alice_client, "e", workflow)
    _push(alice_client, "e", {"k": 1})
    operator = Client()
    operator.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "a long password x"))
    for page in ("/admin/triggers/trigger/", "/admin/triggers/event/", f"/admin/triggers/event/{Event.objects.get().pk}/change/",
                 f"/admin/triggers/trigger/{trigger['id']}/change/"):
        assert operator.get(page).status_code == 200, page
    bad = operator.post(f"/admin/triggers/trigger/{trigger['id']}/change/", {
        "owner": Event.objects.get().owner_id, "event": "has space", "workflow": workflow, "revision": "",
        "inputs": '{"float.float": "nope"}', "enabled": "on",
    })
    assert bad.status_code == 200  # the form again, with its errors
    assert b"letters, digits" in bad.content and b"payload path" in bad.content
