"""Which runner takes which task: tags and owners, against a live server and real runner processes."""

from __future__ import annotations

import time

from tests.runner.conftest import nc_sample, node


def test_tasks_run_only_on_runners_whose_tags_fit(start_runner, publish_and_execute, wait_run):
    workflow = nc_sample("product.nc")
    workflow["float"]["requirements"] = {"tags": ["alpha"]}
    workflow["float.0"]["requirements"] = {"tags": ["beta"]}
    workflow["multiply"]["requirements"] = {"tags": ["alpha", "big"]}
    start_runner("r-alpha", tags=("alpha", "big"))
    start_runner("r-beta", tags=("beta",))
    workflow_id, run_id = publish_and_execute(workflow)
    status = wait_run(workflow_id, run_id=run_id)
    assert status["run"]["state"] == "succeeded", status
    assert node(status, "float")["runner"] == "r-alpha"
    assert node(status, "float.0")["runner"] == "r-beta"
    assert node(status, "multiply")["runner"] == "r-alpha"
    assert node(status, "multiply")["outputs"]["result"] == 18


def test_a_runner_never_takes_another_users_task(start_runner, make_api_user, publish_and_execute, wait_run):
    alice, bob = make_api_user("alice"), make_api_user("bob")
    bobs = start_runner("r-bob", api=bob)
    workflow_id, run_id = publish_and_execute(nc_sample("product.nc"), api=alice)
    time.sleep(2.5)  # bob's runner long-polls all along
    status = wait_run(workflow_id, run_id=run_id, api=alice, timeout=5, states=("running", "queued", "pending"))
    assert {n["state"] for n in status["nodes"].values()} <= {"queued", "pending"}, status
    assert node(status, "float")["waiting"]["reason"] == "no_runner", status
    assert "leased" not in bobs.log()

    start_runner("r-alice", api=alice)
    status = wait_run(workflow_id, run_id=run_id, api=alice)
    assert status["run"]["state"] == "succeeded", status
    assert {n["runner"] for n in status["nodes"].values()} == {"r-alice"}
    assert "leased" not in bobs.log()
