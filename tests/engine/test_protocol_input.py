"""The hand-written validation of lease, heartbeat and results bodies (runners/protocol_input.py)
against the serializers that document them in the OpenAPI schema: same verdicts, same values.

Where the two differ on purpose, the hand-written side is stricter (no "5" for 5, no 5 for "5"):
those bodies are tested on their own below.
"""

import uuid
from datetime import UTC, datetime

import pytest
from rest_framework.exceptions import ValidationError

from runners import apis, protocol_input

LEASE = "00000000-0000-4000-8000-000000000001"


INVALID = object()


def _verdicts(validate, serializer_class, body):
    """(hand-written result, serializer's validated data); INVALID where one refused the body."""
    try:
        mine = validate(body)
    except ValidationError:
        mine = INVALID
    serializer = serializer_class(data=body)
    return mine, serializer.validated_data if serializer.is_valid() else INVALID


LEASE_BODIES = [
    ({"executors": ["local"]}, True),
    ({"executors": ["local", "shell"], "max_tasks": 50, "wait_s": 2.5, "last_finished": [3, 4]}, True),
    ({"executors": []}, True),
    ({}, False),
    ({"executors": ["ssh"]}, False),
    ({"executors": "local"}, False),
    ({"executors": ["local"], "max_tasks": 0}, False),
    ({"executors": ["local"], "max_tasks": 1001}, False),
    ({"executors": ["local"], "wait_s": 31}, False),
    ({"executors": ["local"], "wait_s": -1}, False),
    ({"executors": ["local"], "last_finished": [0]}, False),
    ({"executors": ["local"], "last_finished": list(range(1, 1002))}, False),
    ({"executors": ["local"] * 6}, False),
]


@pytest.mark.parametrize(("body", "valid"), LEASE_BODIES)
def test_lease_bodies(body, valid):
    mine, theirs = _verdicts(protocol_input.lease_input, apis.LeaseApi.InputSerializer, body)
    assert (mine is not INVALID, theirs is not INVALID) == (valid, valid)
    if valid:
        assert mine == dict(theirs)


HEARTBEAT_BODIES = [
    ({"lease_ids": [LEASE]}, True),
    ({"lease_ids": [LEASE], "running": {LEASE: {"progress": 0.5}}}, True),
    ({"lease_ids": []}, True),
    ({}, False),
    ({"lease_ids": ["not-a-uuid"]}, False),
    ({"lease_ids": [LEASE], "running": {"not-a-uuid": {}}}, False),
    ({"lease_ids": [LEASE], "running": {LEASE: 5}}, False),
    ({"lease_ids": [LEASE], "running": [LEASE]}, False),
]


@pytest.mark.parametrize(("body", "valid"), HEARTBEAT_BODIES)
def test_heartbeat_bodies(body, valid):
    mine, theirs = _verdicts(protocol_input.heartbeat_input, apis.HeartbeatApi.InputSerializer, body)
    assert (mine is not INVALID, theirs is not INVALID) == (valid, valid)
    if valid:
        assert mine == {"lease_ids": list(theirs["lease_ids"]), "running": dict(theirs["running"])}


def _result(**changes):
    return {"lease_id": LEASE, "state": "succeeded", **changes}


RESULTS_BODIES = [
    ({"results": [_result()]}, True),
    ({"results": [_result(outputs={"out": [1, 2]}, started="2026-11-25T10:00:00Z", finished=None)]}, True),
    ({"results": [_result(state="failed", error="boom"), _result(state="cancelled", error="")]}, True),
    ({"results": [_result()], "lease": {"max_tasks": 0, "executors": ["local"]}}, True),
    ({"results": [_result()], "lease": {"max_tasks": 1000, "executors": ["local", "slurm"]}}, True),
    ({"results": []}, False),
    ({}, False),
    ({"results": [_result(state="done")]}, False),
    ({"results": [_result(lease_id="nope")]}, False),
    ({"results": [{"state": "succeeded"}]}, False),
    ({"results": [_result(outputs=[1])]}, False),
    ({"results": [_result(error="x" * 100_001)]}, False),
    ({"results": [_result(started="yesterday")]}, False),
    ({"results": [_result()] * 1001}, False),
    ({"results": [_result()], "lease": {"executors": ["local"]}}, False),
    ({"results": [_result()], "lease": {"max_tasks": 1001, "executors": ["local"]}}, False),
    ({"results": [_result()], "lease": {"max_tasks": 1, "executors": ["ssh"]}}, False),
    ({"results": [_result()], "lease": [1]}, False),
]


@pytest.mark.parametrize(("body", "valid"), RESULTS_BODIES)
def test_results_bodies(body, valid):
    mine, theirs = _verdicts(
        lambda data: protocol_input.results_input(data, max_lease_tasks=1000), apis.ResultsApi.InputSerializer, body
    )
    assert (mine is not INVALID, theirs is not INVALID) == (valid, valid)
    if valid:
        results, lease = mine
        assert results == [dict(result) for result in theirs["results"]]
        assert lease == (dict(theirs["lease"]) if "lease" in theirs else None)


def test_results_values_are_typed_and_lease_is_capped():
    results, lease = protocol_input.results_input(
        {"results": [_result(started="2026-11-25T10:00:00", finished="2026-11-25T10:00:05+01:00")],
         "lease": {"max_tasks": 500, "executors": ["local"]}},
        max_lease_tasks=100,
    )
    assert results[0]["lease_id"] == uuid.UUID(LEASE)
    assert results[0]["started"] == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # naive: UTC
    assert results[0]["finished"].utcoffset().total_seconds() == 3600
    assert lease == {"max_tasks": 100, "executors": ["local"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"executors": ["local"], "max_tasks": "5"}, "max_tasks"),
        ({"executors": ["local"], "max_tasks": True}, "max_tasks"),
        ({"executors": ["local"], "wait_s": "1"}, "wait_s"),
        ([1, 2], "non_field_errors"),
    ],
)
def test_lease_refuses_what_is_not_json_typed_right(body, field):
    with pytest.raises(ValidationError) as caught:
        protocol_input.lease_input(body)
    assert field in caught.value.detail


def test_results_errors_name_the_item():
    with pytest.raises(ValidationError) as caught:
        protocol_input.results_input({"results": [_result(), _result(state="maybe")]}, max_lease_tasks=100)
    assert "results[1].state" in caught.value.detail
    with pytest.raises(ValidationError) as caught:
        protocol_input.results_input({"results": [_result(error=5)]}, max_lease_tasks=100)
    assert "results[0].error" in caught.value.detail
