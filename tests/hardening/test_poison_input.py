"""Issue 11, item 2: inputs that published, then answered 500 at every execute or read. Each is now a 400
(or a 404/405) with a message, on SQLite and PostgreSQL alike; nothing is stored half-way."""

import json

import pytest

from tests.runner.conftest import make_node, workflow_of
from workflows.models import Run, Workflow

pytestmark = pytest.mark.django_db


def shell_workflow(command="echo hi") -> dict:
    return workflow_of(make_node("t1", ["shell", "Command"], inputs={"command": command},
                                 outputs=("stdout",), requirements={"executor": "shell"}))


def post_json(client, path: str, body) -> tuple[int, dict]:
    """ASCII JSON, as any client's json.dumps sends it (DRF's test client cannot encode a lone surrogate)."""
    response = client.post(path, data=json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


@pytest.mark.parametrize("bad", ["x\u0000y", "\ud800", ["ok", {"deep": "n\u0000l"}]], ids=["nul", "surrogate", "nested"])
def test_unstorable_node_value_is_refused_at_publish_naming_node_and_terminal(alice_client, bad):
    status, answer = post_json(alice_client, "/api/v1/workflow/publish", {"name": "poison", "workflow": shell_workflow(bad)})
    assert status == 400, answer
    message = json.dumps(answer)
    assert "t1" in message and "command" in message and "cannot be stored" in message, answer
    assert not Workflow.objects.exists()


def test_unstorable_requirement_is_refused_at_publish(alice_client):
    workflow = shell_workflow()
    workflow["t1"]["requirements"] = {"executor": "shell", "environment": "a\u0000b"}
    status, answer = post_json(alice_client, "/api/v1/workflow/publish", {"name": "poison", "workflow": workflow})
    assert status == 400 and "cannot be stored" in json.dumps(answer), answer


def test_unstorable_node_key_is_refused_at_publish(alice_client):
    workflow = shell_workflow()
    workflow["t1"]["terminals"]["command"]["opts"]["x\u0000"] = True
    status, answer = post_json(alice_client, "/api/v1/workflow/publish", {"name": "poison", "workflow": workflow})
    assert status == 400 and "cannot be stored" in json.dumps(answer), answer


@pytest.mark.parametrize("bad", ["x\u0000y", "\udfff"], ids=["nul", "surrogate"])
def test_unstorable_override_is_refused_at_execute(alice_client, bad):
    status, created = post_json(alice_client, "/api/v1/workflow/publish", {"name": "fine", "workflow": shell_workflow()})
    assert status == 201, created
    status, answer = post_json(alice_client, f"/api/v1/workflow/execute/{created['id']}", {"inputs": {"t1.command": bad}})
    assert status == 400, answer
    assert "t1.command" in json.dumps(answer) and "cannot be stored" in json.dumps(answer), answer
    assert not Run.objects.exists()
    status, answer = post_json(alice_client, f"/api/v1/workflow/execute/{created['id']}", {"inputs": {"t1.command": "ok"}})
    assert status == 201, answer


@pytest.mark.parametrize("path", ["/api/v1/runs/1/logs/%00", "/api/v1/runs/1/logs/a%00b", "/api/v1/workflow/?q=%00"])
def test_nul_in_url_is_400_not_500(alice_client, path):
    response = alice_client.get(path)
    assert response.status_code == 400 and "NUL" in response.json()["detail"], response.content
    if "?q=" in path:
        assert response.json()["errors"] == {"q": ["holds a NUL character (%00), which no value can hold"]}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/workflow/publish", "/api/v1/token", "/api/v1/login", "/api/v1/runners/register"],
)
def test_integer_past_python_digit_limit_is_400(alice_client, path):
    body = b'{"name": ' + b"9" * 5000 + b', "workflow": {}}'
    response = alice_client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "digits" in response.json()["detail"], response.content


def test_integer_past_digit_limit_in_runner_protocol_is_400(owner_runner):
    _, client = owner_runner
    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in client.headers.items()}
    for call in ("lease", "heartbeat", "results", "logs"):
        body = b'{"max_tasks": ' + b"1" * 4301 + b"}"
        response = client.client.post(f"/api/v1/runners/{call}", data=body, content_type="application/json", **extra)
        assert response.status_code == 400, (call, response.content)
        assert "digits" in response.json()["detail"], (call, response.content)


def test_token_detail_answers_405_to_get_and_post(alice_client):
    created = alice_client.post("/api/v1/token", {"name": "t"}, format="json").json()
    for method in ("get", "post", "put", "patch"):
        response = getattr(alice_client, method)(f"/api/v1/token/{created['id']}")
        assert response.status_code == 405, (method, response.content)
    assert alice_client.delete(f"/api/v1/token/{created['id']}").status_code == 204
    assert alice_client.delete(f"/api/v1/token/{created['id']}").status_code == 404


@pytest.mark.parametrize("number", [b"1e400", b"-1e400"])
def test_float_out_of_range_is_400_not_infinity_stored(alice_client, number):
    workflow = json.dumps({"name": "big", "workflow": shell_workflow("PLACEHOLDER")}).encode()
    body = workflow.replace(b'"PLACEHOLDER"', number)
    response = alice_client.post("/api/v1/workflow/publish", data=body, content_type="application/json")
    assert response.status_code == 400 and "range" in response.json()["detail"], response.content
    assert not Workflow.objects.exists()
