"""Estimates against real runs (issue 13 item 3): a history made by real runner processes running
`shell/Command` nodes that sleep known times, then the estimate of a new run is compared with the
run itself: the predicted finish of the workflow is within 20% of the measured one, on one runner
(one slot) and on two."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.runner.conftest import connect, make_node, workflow_of

TOLERANCE = 0.20


def sleeper(name: str, seconds: float, *, after: bool = False, multi: bool = False) -> dict:
    inputs = {"command": f"sleep {seconds}"}
    if after:
        inputs["after"] = None  # only orders the node: Command ignores inputs it does not know
    return make_node(name, ["shell", "Command"], inputs=inputs, outputs=("stdout", "stderr", "returncode"),
                     multi=("after",) if multi else (), requirements={"executor": "local"})


def chain() -> dict:
    nodes = [sleeper("a", 0.5), sleeper("b", 1.0, after=True), sleeper("c", 0.7, after=True)]
    document = workflow_of(*nodes)
    connect(document, ("a", "returncode"), ("b", "after"))
    connect(document, ("b", "returncode"), ("c", "after"))
    return document


def fan_out(width: int = 4) -> dict:
    nodes = [sleeper("src", 0.3)]
    nodes += [sleeper(f"w{i}", 1.0, after=True) for i in range(width)]
    nodes.append(sleeper("sink", 0.3, after=True, multi=True))
    document = workflow_of(*nodes)
    for i in range(width):
        connect(document, ("src", "returncode"), (f"w{i}", "after"))
        connect(document, (f"w{i}", "returncode"), ("sink", "after"))
    return document


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def measured(status: dict) -> float:
    return (_time(status["run"]["finished"]) - _time(status["run"]["created"])).total_seconds()


def run_once(api, workflow_id: int, wait_run) -> dict:
    run = api.post(f"/api/v1/workflow/execute/{workflow_id}", {"reuse": False})["run"]
    status = wait_run(workflow_id, run_id=run["id"], timeout=60)
    assert status["run"]["state"] == "succeeded", status
    return status


def check_prediction(api, wait_run, workflow_id: int, *, history_runs: int = 2) -> tuple[float, float, dict]:
    for _ in range(history_runs):
        run_once(api, workflow_id, wait_run)
    estimate = api.get(f"/api/v1/workflow/estimate/{workflow_id}")
    status = run_once(api, workflow_id, wait_run)
    return estimate["finish_s"], measured(status), estimate


@pytest.mark.parametrize("runners", [1, 2])
def test_predicted_finish_is_within_20_percent_of_a_real_run(runners, start_runner, user_api, wait_run):
    for i in range(runners):
        start_runner(f"est-{runners}-{i}", executors=("local",), concurrency=1)
    # The fan-out first: its middle tasks go to every runner, so each has a history of its own slots.
    # A chain runs on one runner now (its links are leased with the task above them: chain segments),
    # and a runner with no finished task counts NODEWORKS_ESTIMATE_RUNNER_SLOTS (2) slots.
    for document, name in [(fan_out(), "fan-out"), (chain(), "chain")]:
        created = user_api.post("/api/v1/workflow/publish", {"name": f"{name}-{runners}", "workflow": document})
        predicted, actual, estimate = check_prediction(user_api, wait_run, created["id"])
        assert estimate["runners"] == runners and estimate["slots"] == runners, estimate
        assert all(node["basis"] == "node" and node["samples"] == 2 for node in estimate["nodes"].values()), estimate
        assert abs(predicted - actual) <= TOLERANCE * actual, (name, runners, predicted, actual, estimate)


def test_the_status_payload_counts_down_a_running_run(start_runner, user_api, wait_run):
    start_runner("est-live", executors=("local",), concurrency=1)
    created = user_api.post("/api/v1/workflow/publish", {"name": "live-chain", "workflow": chain()})
    run_once(user_api, created["id"], wait_run)
    run = user_api.post(f"/api/v1/workflow/execute/{created['id']}", {"reuse": False})["run"]
    seen = []
    while True:
        status = user_api.get(f"/api/v1/workflow/status/{created['id']}?run={run['id']}")
        if status["run"]["state"] != "running":
            break
        if status["run"]["estimated_finish"] is not None:
            seen.append(_time(status["run"]["estimated_finish"]))
            nodes = status["nodes"]
            pending = [n for n in nodes.values() if n["state"] in ("pending", "queued")]
            assert all(n["estimated_start"] is not None for n in pending), nodes
        time.sleep(0.2)
    assert status["run"]["state"] == "succeeded"
    assert status["run"]["estimated_finish"] is None  # a finished run has its `finished`
    assert len(seen) >= 3
    finished = _time(status["run"]["finished"])
    # Every live estimate was close to the real finish (2.2 s of sleeping in all).
    assert all(abs((estimate - finished).total_seconds()) < 0.2 * 2.2 + 0.3 for estimate in seen), (seen, finished)
