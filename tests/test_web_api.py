"""What the web app's pages read and how it keeps its session: the refresh cookie (login, rotation,
logout, the header that guards it), the workflow list with latest revision and last run, the runs of a
workflow, the status payload's additions, logs followed by byte offset and the runners' current tasks.

Workflows are written here (no sample files needed); tasks are leased and reported through the
runner services, as a runner's calls would.
"""

import uuid
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from runners.models import Runner
from runners.services import lease_tasks, log_append, results_report, runner_register
from tests.conftest import make_user, publish
from workflows.models import Run, Task, TaskState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PASSWORD = "a long test password"
WEB = {"HTTP_X_NODEWORKS_CLIENT": "web"}
COOKIE = "nw_refresh"


# ---------------------------------------------------------------- helpers


def terminal(value, *, out: bool) -> dict:
    return {"value": value, "opts": {"in": not out, "out": out}}


def chain_workflow(length: int = 3) -> dict:
    """n0 → n1 → ... : an Integer source, then Power nodes each fed by the one before."""
    document = {
        "n0": {
            "type": "Node",
            "name": "Integer",
            "uniquename": "n0",
            "path": ["types", "Integer"],
            "pos": [0.0, 0.0],
            "terminals": {"int": terminal(2, out=True)},
        }
    }
    for index in range(1, length):
        document[f"n{index}"] = {
            "type": "Node",
            "name": f"Power {index}",
            "uniquename": f"n{index}",
            "path": ["math", "Power"],
            "pos": [200.0 * index, 0.0],
            "terminals": {
                "base": terminal(None, out=False),
                "exponent": terminal(2, out=False),
                "result": terminal(None, out=True),
            },
        }
        source = "int" if index == 1 else "result"
        document[f"c{index}"] = {
            "type": "Connection",
            "name": f"c{index}",
            "uniquename": f"c{index}",
            "input": [f"n{index - 1}", source],
            "output": [f"n{index}", "base"],
            "feedback": False,
        }
    return document


def published(client, name="chain", length=3) -> int:
    response = publish(client, name, chain_workflow(length))
    assert response.status_code == 201, response.content
    return response.json()["id"]


def execute(client, workflow_id: int, **body) -> dict:
    response = client.post(f"/api/v1/workflow/execute/{workflow_id}", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["run"]


def online_runner(user, name="laptop") -> Runner:
    runner, _token = runner_register(user=user, name=name, tags=[], executors=["local"])
    Runner.objects.filter(pk=runner.pk).update(last_contact=timezone.now())
    runner.refresh_from_db()
    return runner


def lease(runner: Runner) -> list[dict]:
    return lease_tasks(runner=runner, max_tasks=50, wait_s=0, executors=["local"])


def report(runner: Runner, payload: dict, *, state="succeeded") -> list[dict]:
    now = timezone.now()
    result = {
        "lease_id": uuid.UUID(payload["lease_id"]),
        "state": state,
        "outputs": {"result": 4} if state == "succeeded" else {},
        "error": "" if state == "succeeded" else "boom",
        "started": now,
        "finished": now,
    }
    answers, next_tasks = results_report(runner=runner, results=[result])
    assert answers[0].accepted, answers[0]
    return next_tasks


def finish_run(runner: Runner) -> None:
    payloads = lease(runner)
    while payloads:
        next_tasks = []
        for payload in payloads:
            next_tasks += report(runner, payload)
        payloads = next_tasks + lease(runner)


@pytest.fixture
def admin_client(db):
    client = APIClient()
    client.force_authenticate(make_user("root", staff=True))
    return client


# ---------------------------------------------------------------- the refresh cookie


@pytest.fixture
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web(alice, _fresh_throttle_cache) -> APIClient:
    """A browser: no credentials but what login gives it."""
    return APIClient()


def web_login(client: APIClient, username="alice", password=PASSWORD, **extra):
    return client.post("/api/v1/login", {"username": username, "password": password}, format="json", **WEB, **extra)


def web_refresh(client: APIClient, **headers):
    return client.post("/api/v1/token/refresh", {}, format="json", **headers)


def test_web_login_sets_an_httponly_strict_cookie_and_keeps_the_refresh_out_of_the_body(web):
    response = web_login(web)
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access"}
    cookie = response.cookies[COOKIE]
    assert cookie.value.count(".") == 2  # a JWT
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/v1/"
    assert int(cookie["max-age"]) == 7 * 24 * 3600
    assert cookie["secure"] is True  # DEBUG is off under test: Secure whatever the scheme
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert bearer.get("/api/v1/workflow/").status_code == 200


def test_cookie_is_secure_on_https_and_plain_only_on_a_debug_server_over_http(web, settings):
    settings.DEBUG = True
    assert web_login(web).cookies[COOKIE]["secure"] == ""
    assert web_login(web, secure=True).cookies[COOKIE]["secure"] is True


def test_api_clients_keep_the_body_contract_and_get_no_cookie(web):
    response = web.post("/api/v1/login", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    assert COOKIE not in response.cookies
    old = response.json()["refresh"]
    rotated = web.post("/api/v1/token/refresh", {"refresh": old}, format="json")
    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"}
    assert COOKIE not in rotated.cookies
    again = web.post("/api/v1/token/refresh", {"refresh": old}, format="json")
    assert again.status_code == 401  # blacklisted after rotation
    assert "detail" in again.json()


def test_cookie_refresh_rotates_and_the_old_cookie_is_refused(web):
    first = web_login(web).cookies[COOKIE].value
    response = web_refresh(web, **WEB)
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access"}
    second = response.cookies[COOKIE].value
    assert second != first
    assert response.cookies[COOKIE]["httponly"] is True
    # The browser now holds the rotated cookie: a second refresh works with it.
    assert web_refresh(web, **WEB).status_code == 200
    # Replaying the first one (stolen, or a second tab racing) is refused and the cookie cleared.
    replay = APIClient()
    replay.cookies = SimpleCookie({COOKIE: first})
    refused = web_refresh(replay, **WEB)
    assert refused.status_code == 401
    assert "log in again" in refused.json()["detail"]
    # Not cleared: in a browser the refused cookie may be an old one sent by a tab that raced a newer one.
    assert COOKIE not in refused.cookies
    assert web_refresh(web, **WEB).status_code == 200


def test_cookie_refresh_needs_the_web_client_header(web):
    web_login(web)
    response = web_refresh(web)  # what a cross-site form post would send: the cookie, no header
    assert response.status_code == 403
    assert "X-Nodeworks-Client" in response.json()["detail"]
    assert web.post("/api/v1/logout", {}, format="json").status_code == 403
    # The session is untouched by the refused calls.
    assert web_refresh(web, **WEB).status_code == 200


def test_refresh_without_cookie_or_body(web):
    no_session = web_refresh(web, **WEB)
    assert no_session.status_code == 401
    assert "log in" in no_session.json()["detail"]
    missing = web_refresh(web)
    assert missing.status_code == 400
    assert missing.json()["detail"].startswith("refresh:")


def test_logout_blacklists_the_cookie_and_clears_it(web):
    cookie = web_login(web).cookies[COOKIE].value
    response = web.post("/api/v1/logout", {}, format="json", **WEB)
    assert response.status_code == 204
    assert response.cookies[COOKIE].value == ""
    assert int(response.cookies[COOKIE]["max-age"]) == 0
    assert response.cookies[COOKIE]["path"] == "/api/v1/"
    assert web_refresh(web, **WEB).status_code == 401  # no cookie left
    replay = APIClient()
    replay.cookies = SimpleCookie({COOKIE: cookie})
    assert web_refresh(replay, **WEB).status_code == 401  # and the old one is blacklisted
    # Logging out twice is fine.
    assert replay.post("/api/v1/logout", {}, format="json", **WEB).status_code == 204


def test_logout_with_a_body_token(web):
    refresh = web.post("/api/v1/login", {"username": "alice", "password": PASSWORD}, format="json").json()["refresh"]
    assert web.post("/api/v1/logout", {"refresh": refresh}, format="json").status_code == 204
    assert web.post("/api/v1/token/refresh", {"refresh": refresh}, format="json").status_code == 401
    again = web.post("/api/v1/logout", {"refresh": refresh}, format="json")
    assert again.status_code == 401
    assert "detail" in again.json()
    assert web.post("/api/v1/logout", {}, format="json").status_code == 400


def test_a_deactivated_or_deleted_user_cannot_refresh(web, alice):
    web_login(web)
    alice.is_active = False
    alice.save()
    response = web_refresh(web, **WEB)
    assert response.status_code == 401
    refresh = APIClient().post("/api/v1/login", {"username": "bob", "password": PASSWORD}, format="json")
    assert refresh.status_code == 401  # bob does not exist
    make_user("carol")
    token = APIClient().post("/api/v1/login", {"username": "carol", "password": PASSWORD}, format="json").json()["refresh"]
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="carol").delete()
    gone = APIClient().post("/api/v1/token/refresh", {"refresh": token}, format="json")
    assert gone.status_code == 401, gone.content


def test_login_throttle_answers_429_with_retry_after(web, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "2/min", "register": "20/hour"}}
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        for _ in range(2):
            web_login(web, password="wrong password")
        response = web_login(web)
        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0
        assert "throttled" in response.json()["detail"].lower()
        assert COOKIE not in response.cookies
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original


# ---------------------------------------------------------------- the workflow list


def test_workflow_list_items_carry_latest_revision_and_last_run(alice_client, alice):
    alice.first_name, alice.last_name = "Alice", "Liddell"
    alice.save()
    quiet = published(alice_client, "quiet")
    busy = published(alice_client, "busy")
    changed = chain_workflow(2)
    response = alice_client.post(f"/api/v1/workflow/publish/{busy}", {"workflow": changed, "message": "shorter"}, format="json")
    assert response.status_code == 201
    head = response.json()["revision"]
    execute(alice_client, busy)
    newest = execute(alice_client, busy)

    items = {item["id"]: item for item in alice_client.get("/api/v1/workflow/").json()}
    assert items[quiet]["last_run"] is None
    assert items[quiet]["latest_revision"]["message"] == "Create quiet"
    revision = items[busy]["latest_revision"]
    assert revision["sha"] == head == items[busy]["revision"]
    assert revision["message"] == "shorter"
    assert revision["author"] == "Alice Liddell"  # as git records it: compare workflow/history
    history = alice_client.get(f"/api/v1/workflow/history/{busy}").json()[0]
    assert history["author"] == revision["author"]
    assert revision["time"]
    assert items[busy]["last_run"] == {"id": newest["id"], "state": "running", "created": newest["created"], "finished": None}
    # The SPEC's fields are all still there.
    assert {"id", "name", "revision", "node_count", "owner", "created", "updated"} <= set(items[busy])


def test_workflow_list_reads_in_two_queries_however_many_workflows(alice_client):
    def list_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = alice_client.get("/api/v1/workflow/")
        assert response.status_code == 200
        return len(queries), len(response.json())

    for index in range(2):
        execute(alice_client, published(alice_client, f"w{index}"))
    few = list_queries()
    for index in range(2, 7):
        execute(alice_client, published(alice_client, f"w{index}"))
    many = list_queries()
    assert few == (2, 2)
    assert many == (2, 7)


def test_workflow_list_without_slash_and_visibility(alice_client, bob_client, admin_client):
    mine = published(alice_client, "mine")
    assert alice_client.get("/api/v1/workflow").json() == alice_client.get("/api/v1/workflow/").json()
    assert [item["id"] for item in bob_client.get("/api/v1/workflow").json()] == []
    assert mine in [item["id"] for item in admin_client.get("/api/v1/workflow/").json()]


# ---------------------------------------------------------------- the runs of a workflow


def test_runs_list_newest_first_with_counts_durations_and_who(alice_client, alice):
    workflow_id = published(alice_client)
    runner = online_runner(alice)
    first = execute(alice_client, workflow_id)
    finish_run(runner)
    second = execute(alice_client, workflow_id, reuse=False)  # runs again, not reusing the first run's results
    payload = lease(runner)
    assert [p["node"]["uniquename"] for p in payload] == ["n0"]
    report(runner, payload[0], state="failed")  # no retries: the run fails, n1 and n2 upstream_failed

    third = execute(alice_client, workflow_id, reuse=False)
    body = alice_client.get(f"/api/v1/workflow/runs/{workflow_id}").json()
    assert body["count"] == 3
    assert body["next"] is None and body["previous"] is None
    runs = body["results"]
    assert [run["id"] for run in runs] == [third["id"], second["id"], first["id"]]
    assert set(runs[0]) == {"id", "state", "revision", "created_by", "created", "started", "finished", "duration_s", "counts"}
    assert runs[2]["state"] == "succeeded"
    assert runs[2]["counts"] == {"succeeded": 3}
    assert runs[2]["duration_s"] >= 0
    assert runs[1]["state"] == "failed"
    assert runs[1]["counts"] == {"failed": 1, "upstream_failed": 2}
    assert runs[0]["state"] == "running"
    assert runs[0]["counts"] == {"queued": 1, "pending": 2}
    assert runs[0]["started"] is None and runs[0]["duration_s"] is None and runs[0]["finished"] is None
    assert all(run["created_by"] == "alice" for run in runs)
    assert all(len(run["revision"]) == 40 for run in runs)


def test_runs_list_pages(alice_client):
    workflow_id = published(alice_client)
    ids = [execute(alice_client, workflow_id)["id"] for _ in range(5)][::-1]
    url = f"/api/v1/workflow/runs/{workflow_id}"
    page1 = alice_client.get(url, {"page_size": 2}).json()
    assert page1["count"] == 5
    assert [run["id"] for run in page1["results"]] == ids[:2]
    assert page1["previous"] is None
    assert "page=2" in page1["next"] and "page_size=2" in page1["next"]
    page3 = alice_client.get(url, {"page_size": 2, "page": 3}).json()
    assert [run["id"] for run in page3["results"]] == ids[4:]
    assert page3["next"] is None


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"page": 0}, 400, "page"),
        ({"page": "two"}, 400, "page"),
        ({"page_size": 0}, 400, "page_size"),
        ({"page_size": 201}, 400, "page_size"),
        ({"page": 9}, 404, None),
    ],
)
def test_runs_list_bad_pages_are_clear_4xx(alice_client, params, status, field):
    workflow_id = published(alice_client)
    execute(alice_client, workflow_id)
    response = alice_client.get(f"/api/v1/workflow/runs/{workflow_id}", params)
    assert response.status_code == status, response.content
    detail = response.json()["detail"]
    assert detail.startswith(f"{field}:") if field else "past the last page" in detail


def test_runs_list_is_object_level(alice_client, bob_client, admin_client):
    workflow_id = published(alice_client)
    execute(alice_client, workflow_id)
    response = bob_client.get(f"/api/v1/workflow/runs/{workflow_id}")
    assert response.status_code == 404
    assert response.json()["detail"] == f"workflow {workflow_id} not found"
    assert admin_client.get(f"/api/v1/workflow/runs/{workflow_id}").json()["count"] == 1
    assert APIClient().get(f"/api/v1/workflow/runs/{workflow_id}").status_code == 401
    assert alice_client.get("/api/v1/workflow/runs/999999").status_code == 404


def test_runs_list_queries_do_not_grow_with_the_page(alice_client):
    workflow_id = published(alice_client)

    def page_queries(size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = alice_client.get(f"/api/v1/workflow/runs/{workflow_id}", {"page_size": size})
        assert len(response.json()["results"]) == min(size, Run.objects.count())
        return len(queries)

    for _ in range(6):
        execute(alice_client, workflow_id)
    assert page_queries(2) == page_queries(6) <= 4  # workflow, count, page (with who), task counts


# ---------------------------------------------------------------- status payload additions


def test_status_nodes_name_their_task_name_and_path_and_the_run_its_starter(alice_client, bob, alice):
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    body = alice_client.get(f"/api/v1/workflow/status/{workflow_id}", {"run": run["id"]}).json()
    assert body["run"]["created_by"] == "alice"
    tasks = {task.node: task for task in Task.objects.filter(run_id=run["id"])}
    for node, status in body["nodes"].items():
        assert status["task_id"] == tasks[node].pk
        assert status["path"] == tasks[node].path
    assert body["nodes"]["n0"]["name"] == "Integer"
    assert body["nodes"]["n2"]["name"] == "Power 2"
    assert body["nodes"]["n1"]["path"] == ["math", "Power"]
    # task_id is what cancelling one task takes.
    cancelled = alice_client.post(f"/api/v1/runners/cancel/{body['nodes']['n0']['task_id']}")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"


# ---------------------------------------------------------------- logs by offset


def log_url(run_id: int, node: str = "n0") -> str:
    return f"/api/v1/runs/{run_id}/logs/{node}"


def follow(client, run_id: int, offset: int, node: str = "n0"):
    response = client.get(log_url(run_id, node), {"offset": offset})
    assert response.status_code == 200, response.content
    return response.content.decode(), int(response["X-Log-Next-Offset"]), response["X-Log-Complete"]


def test_a_log_followed_by_offset_reads_every_byte_once(alice_client, alice):
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    runner = online_runner(alice)
    payload = lease(runner)[0]
    lease_id = uuid.UUID(payload["lease_id"])
    assert follow(alice_client, run["id"], 0) == ("", 0, "0")  # nothing yet

    sent = offset = 0
    pieces = []
    for chunk in ["starting\n", "half a line", " … the rest ✓\n"]:
        log_append(runner=runner, lease_id=lease_id, offset=sent, data=chunk)
        sent += len(chunk.encode())
        text, offset, complete = follow(alice_client, run["id"], offset)
        pieces.append(text)
        assert offset == len("".join(pieces).encode())
        assert complete == "0"
    assert "".join(pieces) == "----- attempt 1 -----\nstarting\nhalf a line … the rest ✓\n"
    end = len("".join(pieces).encode())
    assert follow(alice_client, run["id"], end) == ("", end, "0")

    report(runner, payload)
    assert follow(alice_client, run["id"], end) == ("", end, "1")
    # The plain answer is unchanged for the clients that read it whole.
    whole = alice_client.get(log_url(run["id"]))
    assert whole.content.decode() == "----- attempt 1 -----\nstarting\nhalf a line … the rest ✓\n"
    assert "X-Log-Next-Offset" not in whole


def test_a_retry_appends_its_attempt_after_the_first(alice_client, alice):
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    Task.objects.filter(run_id=run["id"]).update(max_retries=1)
    runner = online_runner(alice)
    payload = lease(runner)[0]
    log_append(runner=runner, lease_id=uuid.UUID(payload["lease_id"]), offset=0, data="no newline at the end")
    first, offset, _ = follow(alice_client, run["id"], 0)
    report(runner, payload, state="failed")
    Task.objects.filter(run_id=run["id"], node="n0").update(not_before=None)
    retry = lease(runner)[0]
    assert retry["attempt"] == 2
    log_append(runner=runner, lease_id=uuid.UUID(retry["lease_id"]), offset=0, data="second try\n")
    more, _, complete = follow(alice_client, run["id"], offset)
    assert first + more == "----- attempt 1 -----\nno newline at the end\n----- attempt 2 -----\nsecond try\n"
    assert complete == "0"


def test_a_truncated_log_says_so_after_its_last_stored_byte(alice_client, alice, settings):
    settings.MAX_LOG_BYTES = 10
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    runner = online_runner(alice)
    lease_id = uuid.UUID(lease(runner)[0]["lease_id"])
    log_append(runner=runner, lease_id=lease_id, offset=0, data="0123456")
    head, offset, _ = follow(alice_client, run["id"], 0)
    log_append(runner=runner, lease_id=lease_id, offset=7, data="789abcdef")
    tail, _, _ = follow(alice_client, run["id"], offset)
    assert head + tail == "----- attempt 1 -----\n0123456789\n[log truncated: the rest of this attempt was not stored]\n"


@pytest.mark.parametrize("offset", ["-1", "x", "1.5", "999"])
def test_bad_offsets_are_400(alice_client, alice, offset):
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    response = alice_client.get(log_url(run["id"]), {"offset": offset})
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"].startswith("offset")


def test_an_offset_inside_a_character_or_with_json_is_400(alice_client, alice):
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    runner = online_runner(alice)
    log_append(runner=runner, lease_id=uuid.UUID(lease(runner)[0]["lease_id"]), offset=0, data="✓")
    header = len("----- attempt 1 -----\n")
    inside = alice_client.get(log_url(run["id"]), {"offset": header + 1})
    assert inside.status_code == 400
    assert "inside a character" in inside.json()["detail"]
    as_json = alice_client.get(log_url(run["id"]), {"offset": 0}, HTTP_ACCEPT="application/json")
    assert as_json.status_code == 400
    assert bob_sees_nothing(run["id"])


def bob_sees_nothing(run_id: int) -> bool:
    bob = APIClient()
    bob.force_authenticate(make_user("bob"))
    return bob.get(log_url(run_id), {"offset": 0}).status_code == 404


# ---------------------------------------------------------------- runners' current tasks


def test_runner_status_names_the_workflow_and_start_of_current_tasks(alice_client, alice):
    workflow_id = published(alice_client)
    run = execute(alice_client, workflow_id)
    runner = online_runner(alice)
    lease(runner)
    started = timezone.now() - timedelta(seconds=5)
    Task.objects.filter(run_id=run["id"], node="n0").update(state=TaskState.RUNNING, started=started)
    (status,) = alice_client.get("/api/v1/runners/status").json()
    assert status["status"] == "online"
    (current,) = status["current_tasks"]
    assert current["workflow"] == workflow_id
    assert current["run"] == run["id"]
    assert current["node"] == "n0"
    assert current["state"] == "running"
    assert current["started"] is not None


def test_a_revision_whose_author_was_deleted_keeps_its_workflow_listed(alice_client, admin_client):
    workflow_id = published(alice_client)
    response = admin_client.post(f"/api/v1/workflow/publish/{workflow_id}", {"workflow": chain_workflow(2)}, format="json")
    assert response.status_code == 201
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="root").delete()
    (item,) = alice_client.get("/api/v1/workflow/").json()
    assert item["id"] == workflow_id
    assert item["latest_revision"]["sha"] == response.json()["revision"]
    assert item["latest_revision"]["author"] is None


def test_no_cross_origin_page_may_send_the_web_client_header(web):
    """The header is the CSRF defence only if a page of another origin cannot send it: the CORS
    preflight for it must not be granted, not even to the development origins CORS allows."""
    for origin in ("http://127.0.0.1:5173", "https://evil.example"):
        preflight = web.options(
            "/api/v1/token/refresh",
            HTTP_ORIGIN=origin,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-nodeworks-client, content-type",
        )
        allowed = preflight.headers.get("Access-Control-Allow-Headers", "").lower()
        if origin.endswith(":5173"):  # CORS does answer the development origin, for other headers
            assert preflight.headers.get("Access-Control-Allow-Origin") == origin
            assert "authorization" in allowed
        assert "x-nodeworks-client" not in allowed
        assert preflight.headers.get("Access-Control-Allow-Credentials") != "true"
