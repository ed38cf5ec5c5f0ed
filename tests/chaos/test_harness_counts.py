"""The chaos test's counters can fail: the proxy's bookkeeping fed with the answers a double completion
and an orphaned lease would produce (no server needed)."""

from __future__ import annotations

import json
import random

from tests.chaos.harness import Answer, FaultProxy, Request, workflow_shape


class _NoServers:
    ports = [1]


def _proxy() -> FaultProxy:
    proxy = FaultProxy(_NoServers(), random.Random(0))
    proxy.stop()
    return proxy


def _answer(body: dict, status: int = 200) -> Answer:
    return Answer(status, "OK", [("Content-Type", "application/json")], json.dumps(body).encode())


def _request(path: str) -> Request:
    return Request("POST", path, [], b"{}", keep_alive=False)


def test_a_result_accepted_twice_is_counted_and_a_resend_is_not():
    proxy = _proxy()
    lease = {"tasks": [{"task_id": 7, "lease_id": "L1"}]}
    proxy._observe(_request("/api/v1/runners/lease"), _answer(lease), delivered=True)
    accepted = {"results": [{"lease_id": "L1", "accepted": True, "state": "succeeded", "duplicate": False}]}
    resent = {"results": [{"lease_id": "L1", "accepted": True, "state": "succeeded", "duplicate": True}]}
    proxy._observe(_request("/api/v1/runners/results"), _answer(accepted), delivered=True)
    proxy._observe(_request("/api/v1/runners/results"), _answer(resent), delivered=True)
    assert proxy.accepted[7] == 1 and proxy.duplicate_acks == 1
    proxy._observe(_request("/api/v1/runners/results"), _answer(accepted), delivered=False)
    assert proxy.accepted[7] == 2, "a second acceptance counts even when its answer was never delivered"


def test_leases_in_an_answer_nobody_got_are_orphaned_and_a_cancelled_report_is_no_completion():
    proxy = _proxy()
    answer = {"results": [{"lease_id": "L1", "accepted": True, "state": "queued", "duplicate": False}],
              "next": [{"task_id": 8, "lease_id": "L2"}, {"task_id": 9, "lease_id": "L3"}]}
    proxy._observe(_request("/api/v1/runners/results"), _answer(answer), delivered=False)
    assert proxy.orphaned == {"L2", "L3"}
    assert sum(proxy.accepted.values()) == 0 and proxy.requeued_reports == 1
    heartbeat = {"leases": {"L4": "lost", "L5": "ok"}}
    proxy._observe(_request("/api/v1/runners/heartbeat"), _answer(heartbeat, 409), delivered=True)
    assert proxy.heard_lost == {"L4"}


def test_the_workflow_has_50_nodes_with_fan_out_fan_in_and_independent_ones():
    shape = workflow_shape()
    assert len(shape) == 50
    children = {}
    for child, parents in shape.items():
        for parent in parents:
            children.setdefault(parent, []).append(child)
    assert max(len(kids) for kids in children.values()) >= 8  # fan-out
    assert max(len(parents) for parents in shape.values()) >= 8  # fan-in
    assert sum(1 for name, parents in shape.items() if not parents and name not in children) == 18
