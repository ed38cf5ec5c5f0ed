"""Issue 11, item 11: schemathesis over /api/v1/schema against a live server (gunicorn, the runner tests'
server), as an authenticated user on the user API and as a runner on the runner protocol, with a bounded
number of generated requests per operation: no answer may be a server error (5xx).

Every 5xx is collected, then reported together with the request that caused it. Bounded by
NODEWORKS_SCHEMATHESIS_EXAMPLES (generated requests per operation; ~1-2 minutes at the default on a
2-core machine); a longer hunt: NODEWORKS_SCHEMATHESIS_EXAMPLES=200 pytest tests/hardening/test_schemathesis.py.
"""

from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402 (schemathesis brings hypothesis)

from tests.runner.conftest import make_node, workflow_of  # noqa: E402

EXAMPLES = int(os.environ.get("NODEWORKS_SCHEMATHESIS_EXAMPLES", "10"))
RUNNER_PROTOCOL = {"lease", "heartbeat", "logs", "artifacts", "results", "library"}
# Calls that would end this test's own credentials: the rest of the run would then test 401s only.
SKIPPED = {("DELETE", "/api/v1/token/{token_id}"), ("POST", "/api/v1/logout")}


def is_runner_call(path: str) -> bool:
    parts = path.strip("/").split("/")  # api, v1, runners, lease[, {artifact_id}]
    return len(parts) >= 4 and parts[2] == "runners" and parts[3] in RUNNER_PROTOCOL


def fuzz(operation, *, base_url: str, headers: dict, label: str, tried: dict, server_errors: list) -> None:
    """EXAMPLES generated requests of one operation; each 5xx is noted with its curl command."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy())
    def call(case):
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        tried[label] = tried.get(label, 0) + 1
        if response.status_code >= 500:
            server_errors.append(f"{label} -> {response.status_code}: {case.as_curl_command(headers)}\n"
                                 f"    {response.text[:300]!r}")

    call()


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(live_server_url, make_api_user):
    user = make_api_user("fuzz")
    registered = user.post("/api/v1/runners/register", {"name": "fuzz-runner", "executors": ["local", "shell"]})
    # Real objects for generated ids to find: a workflow, a run with its tasks, a runner.
    node = make_node("t1", ["shell", "Command"], inputs={"command": "echo hi"}, outputs=("stdout",))
    created = user.post("/api/v1/workflow/publish", {"name": "fuzzed", "workflow": workflow_of(node)})
    user.post(f"/api/v1/workflow/execute/{created['id']}", {})

    user_headers = {"Authorization": f"Token {user.token}"}
    runner_headers = {"Authorization": f"Runner {registered['token']}", "X-Nodeworks-Protocol": "1"}
    schema = schemathesis.openapi.from_url(live_server_url + "/api/v1/schema?format=json")

    server_errors: list[str] = []
    tried: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        headers = runner_headers if is_runner_call(operation.path) else user_headers
        label = f"{operation.method.upper()} {operation.path}"

        fuzz(operation, base_url=live_server_url, headers=headers, label=label, tried=tried, server_errors=server_errors)

    assert len(tried) >= 30, sorted(tried)  # every part of the API was reached
    assert server_errors == [], "\n".join(server_errors[:30])
