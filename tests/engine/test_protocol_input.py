"""The runner protocol's lease, heartbeat and results bodies: the validator the server runs
(compiled from runners/protocol_bodies.py by nodeworks_server/json_body.py) against the same
description read as a JSON Schema by jsonschema, the way any client of the OpenAPI schema reads it:
same verdicts on every body. The schema says `format: date-time` with the description "ISO 8601;
without an offset it is read as UTC", which is the format checker registered here.
"""

import copy
import uuid
from datetime import UTC, datetime

import jsonschema
import pytest
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from nodeworks_server.json_body import body_validator
from runners import protocol_bodies

LEASE = "00000000-0000-4000-8000-000000000001"


INVALID = object()

_formats = jsonschema.FormatChecker(["uuid"])


@_formats.checks("date-time", raises=ValueError)
def _iso_8601(value) -> bool:
    return not isinstance(value, str) or parse_datetime(value) is not None


def as_json_schema(openapi: dict) -> dict:
    """OpenAPI 3.0's dialect to JSON Schema's: `nullable` becomes a "null" type, `x-key-format` propertyNames."""
    schema = copy.deepcopy(openapi)

    def convert(node):
        if isinstance(node, dict):
            if node.pop("nullable", False):
                node["type"] = [node["type"], "null"]
            if "x-key-format" in node:
                node["propertyNames"] = {"format": node.pop("x-key-format")}
            for value in node.values():
                convert(value)
        elif isinstance(node, list):
            for value in node:
                convert(value)

    convert(schema)
    return schema


def _verdicts(validate, schema, body):
    """(the server's result, the schema's verdict); INVALID where one refused the body."""
    try:
        mine = validate(body)
    except ValidationError:
        mine = INVALID
    checker = jsonschema.Draft202012Validator(as_json_schema(schema), format_checker=_formats)
    return mine, INVALID if list(checker.iter_errors(body)) else body


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
    ({"executors": ["local"], "max_tasks": 5.0}, True),  # JSON has numbers: 5.0 is the integer 5
    ({"executors": ["local"], "max_tasks": 5.5}, False),
    ({"executors": ["local"], "max_tasks": "5"}, False),
    ({"executors": ["local"], "max_tasks": True}, False),
    ({"executors": ["local"], "wait_s": "1"}, False),
    ({"executors": ["local"], "unknown": 1}, True),  # unknown keys are ignored
]


@pytest.mark.parametrize(("body", "valid"), LEASE_BODIES)
def test_lease_bodies(body, valid):
    mine, theirs = _verdicts(protocol_bodies.lease_input, protocol_bodies.LEASE, body)
    assert (mine is not INVALID, theirs is not INVALID) == (valid, valid)


HEARTBEAT_BODIES = [
    ({"lease_ids": [LEASE]}, True),
    ({"lease_ids": [LEASE], "running": {LEASE: {"progress": 0.5}}}, True),
    ({"lease_ids": []}, True),
    ({}, False),
    ({"lease_ids": ["not-a-uuid"]}, False),
    ({"lease_ids": [LEASE], "running": {"not-a-uuid": {}}}, False),
    ({"lease_ids": [LEASE], "running": {LEASE: 5}}, False),
    ({"lease_ids": [LEASE], "running": [LEASE]}, False),
    ({"lease_ids": [LEASE.replace("-", "")]}, False),  # RFC 4122's string form only
    ({"lease_ids": [LEASE] * 10_001}, False),
]


@pytest.mark.parametrize(("body", "valid"), HEARTBEAT_BODIES)
def test_heartbeat_bodies(body, valid):
    mine, theirs = _verdicts(protocol_bodies.heartbeat_input, protocol_bodies.HEARTBEAT, body)
    assert (mine is not INVALID, theirs is not INVALID) == (valid, valid)


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
    ({"results": [_result(started="2026-11-25T10:00:00")]}, True),  # no offset: UTC
    ({"results": [_result(started=5)]}, False),
    ({"results": [_result(error=None)]}, False),
    ({"results": [_result(state=None)]}, False),
]


@pytest.mark.parametrize(("body", "valid"), RESULTS_BODIES)
def test_results_bodies(body, valid):
    mine, theirs = _verdicts(
        lambda data: protocol_bodies.results_input(data, max_lease_tasks=1000), protocol_bodies.RESULTS, body
    )
    assert (mine is not INVALID, theirs is not INVALID) == (valid, valid)


def test_defaults_come_from_the_schema():
    assert protocol_bodies.lease_input({"executors": ["local"]}) == {
        "max_tasks": 1, "wait_s": 0, "executors": ["local"], "last_finished": []
    }
    assert protocol_bodies.heartbeat_input({"lease_ids": [LEASE], "running": {LEASE: {"pid": 3}}}) == {
        "lease_ids": [uuid.UUID(LEASE)], "running": {uuid.UUID(LEASE): {"pid": 3}}
    }
    assert protocol_bodies.heartbeat_input({"lease_ids": []})["running"] == {}
    results, lease = protocol_bodies.results_input({"results": [_result()]}, max_lease_tasks=10)
    assert results == [
        {"lease_id": uuid.UUID(LEASE), "state": "succeeded", "outputs": {}, "error": "", "started": None, "finished": None,
         "after": None}
    ]
    assert lease is None
    first = protocol_bodies.lease_input({"executors": []})
    first["last_finished"].append(1)
    assert protocol_bodies.lease_input({"executors": []})["last_finished"] == [], "defaults are not shared"


def test_the_openapi_schema_serves_the_same_descriptions():
    from rest_framework.test import APIClient

    schema = APIClient().get("/api/v1/schema", {"format": "json"}).json()
    for path, body in (("lease", protocol_bodies.LEASE), ("heartbeat", protocol_bodies.HEARTBEAT),
                       ("results", protocol_bodies.RESULTS)):
        documented = schema["paths"][f"/api/v1/runners/{path}"]["post"]["requestBody"]["content"]["application/json"]
        assert documented["schema"] == body


def test_the_compiler_refuses_what_it_does_not_understand():
    with pytest.raises(ValueError, match="not understood"):
        body_validator({"type": "object", "properties": {"x": {"type": "string", "pattern": "^a"}}})
    with pytest.raises(ValueError, match="not understood"):
        body_validator({"type": "object", "properties": {"x": {"oneOf": [{"type": "string"}]}}})


def test_results_values_are_typed_and_lease_is_capped():
    results, lease = protocol_bodies.results_input(
        {"results": [_result(started="2026-11-25T10:00:00", finished="2026-11-25T10:00:05+01:00")],
         "lease": {"max_tasks": 500, "executors": ["local"]}},
        max_lease_tasks=100,
    )
    assert results[0]["lease_id"] == uuid.UUID(LEASE)
    assert results[0]["started"] == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # naive: UTC
    assert results[0]["finished"].utcoffset().total_seconds() == 3600
    assert lease == {"max_tasks": 100, "executors": ["local"], "segment_max": 0}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"executors": ["local"], "max_tasks": "5"}, "max_tasks"),
        ({"executors": ["local"], "max_tasks": True}, "max_tasks"),
        ({"executors": ["local"], "last_finished": [1, 0]}, "last_finished[1]"),
        ({"executors": ["local"], "wait_s": "1"}, "wait_s"),
        ([1, 2], "non_field_errors"),
    ],
)
def test_lease_refuses_what_is_not_json_typed_right(body, field):
    with pytest.raises(ValidationError) as caught:
        protocol_bodies.lease_input(body)
    assert field in caught.value.detail


def test_results_errors_name_the_item():
    with pytest.raises(ValidationError) as caught:
        protocol_bodies.results_input({"results": [_result(), _result(state="maybe")]}, max_lease_tasks=100)
    assert "results[1].state" in caught.value.detail
    with pytest.raises(ValidationError) as caught:
        protocol_bodies.results_input({"results": [_result(error=5)]}, max_lease_tasks=100)
    assert "results[0].error" in caught.value.detail
