"""A runner that goes away while its lease call waits is handed nothing (gunicorn, as deployed).

Before: the server went on waiting and, when a task was queued, leased it to nobody; the task sat
leased until its lease expired and counted as a lost lease (seen in bench/e2e.py between scenarios).
"""

import json
import socket
import time
from urllib.parse import urlsplit

from nodeworks_runner.http import PROTOCOL_VERSION

from tests.runner.conftest import make_node, workflow_of


def _send_waiting_lease(base_url: str, token: str, wait_s: float) -> socket.socket:
    parts = urlsplit(base_url)
    body = json.dumps({"max_tasks": 1, "wait_s": wait_s, "executors": ["local"]}).encode()
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    sock.sendall(
        f"POST /api/v1/runners/lease HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n".encode()
        + f"Content-Type: application/json\r\nX-Nodeworks-Protocol: {PROTOCOL_VERSION}\r\n".encode()
        + f"Authorization: Runner {token}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return sock


def _tasks_state(api, workflow_id: int) -> str:
    return api.get(f"/api/v1/workflow/status/{workflow_id}")["nodes"]["one"]["state"]


def test_a_lease_call_whose_runner_closed_its_connection_claims_nothing(live_server_url, user_api):
    token = user_api.post("/api/v1/runners/register", {"name": "gone", "tags": [], "executors": ["local"]})["token"]
    sock = _send_waiting_lease(live_server_url, token, wait_s=8)
    time.sleep(1.0)  # the call is waiting now (no work)
    sock.close()  # the runner stops: its process exit closes the socket the same way
    time.sleep(0.5)

    document = workflow_of(make_node("one", ["types", "Integer"], outputs=("int",)))
    created = user_api.post("/api/v1/workflow/publish", {"name": "after-gone", "workflow": document})
    user_api.post(f"/api/v1/workflow/execute/{created['id']}", {"reuse": False})

    deadline = time.monotonic() + 10  # past the call's wait_s: whatever it would do, it has done
    while time.monotonic() < deadline:
        assert _tasks_state(user_api, created["id"]) == "queued", "a task was leased to a runner that had gone"
        time.sleep(0.5)


def test_a_waiting_runner_still_connected_gets_the_task(live_server_url, user_api):
    token = user_api.post("/api/v1/runners/register", {"name": "here", "tags": [], "executors": ["local"]})["token"]
    sock = _send_waiting_lease(live_server_url, token, wait_s=8)
    time.sleep(1.0)
    document = workflow_of(make_node("one", ["types", "Integer"], outputs=("int",)))
    created = user_api.post("/api/v1/workflow/publish", {"name": "still-here", "workflow": document})
    user_api.post(f"/api/v1/workflow/execute/{created['id']}", {"reuse": False})
    sock.settimeout(15)
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    sock.close()
    assert b" 200 " in answer.split(b"\r\n", 1)[0]
    tasks = json.loads(answer.split(b"\r\n\r\n", 1)[1])["tasks"]
    assert [task["node"]["name"] for task in tasks] == ["one"]
    assert _tasks_state(user_api, created["id"]) in ("leased", "running")
