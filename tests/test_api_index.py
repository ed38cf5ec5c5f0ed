"""Everything under /api/ answers JSON: the index at /api/v1/, JSON 404s for unknown paths (naming the
other slash form when that one exists), and JSON for errors Django would answer with an HTML page."""

import logging
import re
from unittest import mock

import pytest
from django.test import RequestFactory
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from nodeworks_server import api_errors

pytestmark = pytest.mark.django_db

GROUPS = {"about", "accounts", "workflows", "runs", "queue", "runners", "events", "timers", "admin", "runner protocol"}


def concrete(path: str) -> str:
    """An index path with its parameters filled in: {workflow_id} → 1, {artifact_id} → a UUID."""
    path = path.replace("{artifact_id}", "00000000-0000-0000-0000-000000000000")
    return re.sub(r"{node}", "some.node", re.sub(r"{\w+_id}", "1", path))


@pytest.fixture
def index() -> dict:
    response = APIClient().get("/api/v1/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_index_links_schema_and_docs_and_groups_every_endpoint(index):
    assert index["version"]
    client = APIClient()
    for link in ("schema", "docs", "redoc"):
        assert client.get(index[link]).status_code == 200
    assert set(index["endpoints"]) == GROUPS
    paths = {endpoint["path"]: endpoint for group in index["endpoints"].values() for endpoint in group}
    for expected in (
        "/api/v1/login",
        "/api/v1/logout",
        "/api/v1/token/refresh",
        "/api/v1/workflow/",
        "/api/v1/workflow",
        "/api/v1/workflow/runs/{workflow_id}",
        "/api/v1/workflow/status/{workflow_id}",
        "/api/v1/runs/{run_id}/logs/{node}",
        "/api/v1/runners/lease",
        "/api/v1/queue/status",
    ):
        assert expected in paths, expected
    assert paths["/api/v1/workflow/execute/{workflow_id}"]["methods"] == ["POST"]
    assert paths["/api/v1/workflow/delete/{workflow_id}"]["methods"] == ["DELETE"]
    assert paths["/api/v1/login"]["access"] == "public"
    assert paths["/api/v1/admin/cancel_all"]["access"] == "admin"
    assert paths["/api/v1/runners/lease"]["access"] == "runner"
    assert paths["/api/v1/workflow/runs/{workflow_id}"]["access"] == "user"
    assert all(endpoint["summary"] for endpoint in paths.values())
    assert {endpoint["path"] for endpoint in index["endpoints"]["runner protocol"]} >= {
        "/api/v1/runners/lease",
        "/api/v1/runners/results",
    }


def test_every_indexed_path_is_a_real_endpoint_and_in_the_schema(index):
    schema = APIClient().get("/api/v1/schema", {"format": "json"}).json()["paths"]
    for group in index["endpoints"].values():
        for endpoint in group:
            match = resolve(concrete(endpoint["path"]))
            assert match.url_name != api_errors.NOT_FOUND_URL_NAME, endpoint["path"]
            if endpoint["path"] not in ("/api/v1/", "/api/v1/schema", "/api/v1/docs", "/api/v1/redoc"):
                assert endpoint["path"] in schema, endpoint["path"]


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
@pytest.mark.parametrize("path", ["/api", "/api/", "/api/v1/nosuch", "/api/v2/workflow/", "/api/v1/workflow/nosuch/1"])
def test_unknown_api_paths_are_json_404s_for_every_method(path, method):
    # A session-less POST would be a CSRF 403 on a plain Django view: the catch-all is exempt.
    response = getattr(APIClient(enforce_csrf_checks=True), method)(path)
    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["path"] == path
    assert "No API endpoint" in body["detail"]
    assert body["index"] == "/api/v1/"


def test_unknown_api_paths_are_json_in_debug_too(settings):
    settings.DEBUG = True
    response = APIClient().get("/api/v1/nosuch")
    assert response.status_code == 404
    assert response.json()["path"] == "/api/v1/nosuch"
    assert b"<html" not in response.content.lower()


def test_the_wrong_slash_names_the_right_path(index):
    client = APIClient()
    indexed = {endpoint["path"] for group in index["endpoints"].values() for endpoint in group}
    for group in index["endpoints"].values():
        for endpoint in group:
            path = concrete(endpoint["path"])
            if path.endswith("/") or path + "/" in indexed:
                continue  # /api/v1/ and the workflow list, whose forms are tested below
            if endpoint["path"].endswith("{node}"):
                continue  # node names are free text, slashes included: "some.node/" is a node
            response = client.get(path + "/")
            assert response.status_code == 404, path
            body = response.json()
            assert body["did_you_mean"] == path
            assert f"the endpoint is {path} (without the trailing slash)" in body["detail"]


def test_both_forms_of_the_workflow_list_work(alice_client):
    assert alice_client.get("/api/v1/workflow").status_code == 200
    assert alice_client.get("/api/v1/workflow/").status_code == 200
    to_index = APIClient().get("/api/v1")
    assert to_index.status_code == 404
    assert to_index.json()["did_you_mean"] == "/api/v1/"


def test_errors_drf_already_answers_stay_json(alice_client):
    wrong_method = alice_client.delete("/api/v1/workflow/status/1")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["detail"]
    anonymous = APIClient().get("/api/v1/workflow/")
    assert anonymous.status_code == 401
    assert anonymous.json()["detail"]


@pytest.mark.parametrize("debug", [False, True])
def test_an_exception_in_an_api_view_is_a_json_500_and_is_logged(alice_client, settings, caplog, debug):
    settings.DEBUG = debug
    with (
        mock.patch("workflows.web_selectors.workflow_list_with_activity", side_effect=RuntimeError("database on fire")),
        caplog.at_level(logging.ERROR, logger="django.request"),
    ):
        response = alice_client.get("/api/v1/workflow/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert "Internal server error" in body["detail"]
    assert body["path"] == "/api/v1/workflow/"
    # Only a developer's server says what broke.
    assert ("exception" in body) is debug
    if debug:
        assert body["exception"] == "RuntimeError: database on fire"
    assert any(record.exc_info and "database on fire" in str(record.exc_info[1]) for record in caplog.records)


def test_django_error_handlers_answer_json_under_api_and_html_elsewhere():
    factory = RequestFactory()
    api = factory.get("/api/v1/something")
    page = factory.get("/some/page")
    for handler, status in (
        (api_errors.handler400, 400),
        (api_errors.handler403, 403),
        (api_errors.handler404, 404),
    ):
        assert handler(api, Exception()).status_code == status
        assert handler(api, Exception())["Content-Type"] == "application/json"
        assert handler(page, Exception())["Content-Type"].startswith("text/html")
    assert api_errors.handler500(api).status_code == 500
    assert api_errors.handler500(api)["Content-Type"] == "application/json"
    assert api_errors.handler500(page)["Content-Type"].startswith("text/html")


def test_a_bad_host_under_api_is_a_json_400():
    response = APIClient().get("/api/v1/status", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


def test_unknown_paths_outside_api_are_not_api_404s():
    # The admin keeps its own 404 handling (its catch-all view, or none).
    try:
        admin_match = resolve("/admin/nosuch/deeper/").url_name
    except Resolver404:
        admin_match = None
    assert admin_match not in ("web-app", api_errors.NOT_FOUND_URL_NAME)
    assert resolve("/anything/else").url_name == "web-app"
