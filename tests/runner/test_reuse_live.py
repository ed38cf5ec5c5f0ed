"""Reuse and rerun with a real runner process (issue 13 item 4), on the real node_ex.nc sample:
power (5 ** 5) and integer (87) into multiply, root (sqrt 225) and multiply into subtract."""

from __future__ import annotations

import copy

import pytest

from tests.runner.conftest import nc_sample

NODES = {"power", "integer", "multiply", "root", "subtract"}


def ran(status: dict) -> set[str]:
    """The nodes a runner executed in this run (the others were reused)."""
    nodes = status["nodes"]
    assert all(node["state"] == "succeeded" for node in nodes.values()), nodes
    for node in nodes.values():
        assert (node["runner"] is None) == (node["reused_from"] is not None), node
    return {name for name, node in nodes.items() if node["reused_from"] is None}


def test_node_ex_reuses_what_did_not_change(start_runner, user_api, wait_run):
    start_runner("reuser")
    document = nc_sample("node_ex.nc")
    created = user_api.post("/api/v1/workflow/publish", {"name": "node_ex", "workflow": document})
    workflow_id = created["id"]

    def execute(**body) -> dict:
        run = user_api.post(f"/api/v1/workflow/execute/{workflow_id}", body)["run"]
        status = wait_run(workflow_id, run_id=run["id"], timeout=60)
        assert status["run"]["state"] == "succeeded", status
        return status

    first = execute()
    assert ran(first) == NODES
    assert first["nodes"]["subtract"]["outputs"]["result"] == pytest.approx(271860.0)

    # A revision that changes only Root's degree: Root and Subtract run, the rest keeps its outputs.
    changed = copy.deepcopy(document)
    changed["root"]["terminals"]["degree"]["value"] = 3.0
    user_api.post(f"/api/v1/workflow/publish/{workflow_id}", {"workflow": changed})
    second = execute()
    assert ran(second) == {"root", "subtract"}
    for name in ("power", "integer", "multiply"):
        assert second["nodes"][name]["outputs"] == first["nodes"][name]["outputs"]
        assert second["nodes"][name]["reused_from"] == {"task_id": first["nodes"][name]["task_id"], "run": first["run"]["id"]}
    assert second["nodes"]["root"]["outputs"]["result"] == pytest.approx(225 ** (1 / 3))
    assert second["nodes"]["subtract"]["outputs"]["result"] == pytest.approx(271875 - 225 ** (1 / 3))

    # rerun_from: Multiply and its descendant Subtract run; the rest is reused from the latest run.
    third = execute(rerun_from=["multiply"])
    assert ran(third) == {"multiply", "subtract"}
    assert third["nodes"]["subtract"]["outputs"] == second["nodes"]["subtract"]["outputs"]
    assert third["nodes"]["root"]["reused_from"]["run"] == second["run"]["id"]

    # forcerun (Nodeworks's own node key): Power runs every time; its output is unchanged, so nothing else does.
    forced = copy.deepcopy(changed)
    forced["power"]["forcerun"] = True
    user_api.post(f"/api/v1/workflow/publish/{workflow_id}", {"workflow": forced})
    assert ran(execute()) == {"power"}
    assert ran(execute()) == {"power"}

    # reuse: false runs everything.
    assert ran(execute(reuse=False)) == NODES
    # An unknown node in rerun_from is a clear 400.
    answer = user_api.call("POST", f"/api/v1/workflow/execute/{workflow_id}", {"rerun_from": ["Multiply"]}, expect=(400,))
    assert "Multiply" in answer["detail"]
