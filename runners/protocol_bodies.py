"""The runner protocol's hottest request bodies (lease, heartbeat, results), described once.

Each description is both the OpenAPI schema of its call (runners/apis.py: `extend_schema(request=...)`)
and, compiled by nodeworks_server/json_body.py, the validator the call runs: what the schema
documents is what the server checks. tests/engine/test_protocol_input.py holds bodies against the
schema with jsonschema and against the validator, and requires the same verdicts.
"""

from nodeworks_server.constants import EXECUTORS
from nodeworks_server.json_body import body_validator

RESULT_STATES = ("succeeded", "failed", "cancelled")
MAX_ERROR_CHARS = 100_000

_EXECUTORS = {
    "type": "array",
    "items": {"type": "string", "enum": list(EXECUTORS)},
    "maxItems": len(EXECUTORS),
    "description": "the executors this runner offers in this call",
}

LEASE = {
    "type": "object",
    "properties": {
        "max_tasks": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1},
        "wait_s": {"type": "number", "minimum": 0, "maximum": 30, "default": 0, "description": "long-poll up to this long"},
        "executors": _EXECUTORS,
        "last_finished": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},  # a database id (else a 500)
            "maxItems": 1000,
            "default": [],
            "description": "task ids just finished: their queued successors are claimed first",
        },
    },
    "required": ["executors"],
}

HEARTBEAT = {
    "type": "object",
    "properties": {
        "lease_ids": {"type": "array", "items": {"type": "string", "format": "uuid"}, "maxItems": 10_000},
        "running": {
            "type": "object",
            "x-key-format": "uuid",
            "additionalProperties": {"type": "object", "description": "progress, e.g. {pid} or {slurm_job_id}"},
            "default": {},
            "description": "lease id → progress, for the tasks started (leased → running)",
        },
    },
    "required": ["lease_ids"],
}

_WHEN = "ISO 8601; without an offset it is read as UTC"

_RESULT = {
    "type": "object",
    "properties": {
        "lease_id": {"type": "string", "format": "uuid"},
        "state": {"type": "string", "enum": list(RESULT_STATES)},
        "outputs": {"type": "object", "default": {}, "description": "output terminal → value"},
        "error": {"type": "string", "maxLength": MAX_ERROR_CHARS, "default": ""},
        "started": {"type": "string", "format": "date-time", "nullable": True, "default": None, "description": _WHEN},
        "finished": {"type": "string", "format": "date-time", "nullable": True, "default": None, "description": _WHEN},
        "after": {
            "type": "string", "format": "uuid", "nullable": True, "default": None,
            "description": "a chain link's parent lease (its payload's after.lease_id): applied with or after it",
        },
    },
    "required": ["lease_id", "state"],
}

RESULTS = {
    "type": "object",
    "properties": {
        "results": {"type": "array", "items": _RESULT, "minItems": 1, "maxItems": 1000},
        "lease": {
            "type": "object",
            "properties": {
                "max_tasks": {"type": "integer", "minimum": 0, "maximum": 1000},
                "executors": _EXECUTORS,
                "segment_max": {
                    "type": "integer", "minimum": 0, "maximum": 1000, "default": 0,
                    "description": "chain links leased below each task at once (0: none; the server may cap it)",
                },
            },
            "required": ["max_tasks", "executors"],
            "description": "optional: lease up to max_tasks more tasks in the same call (never waits)",
        },
    },
    "required": ["results"],
}

lease_input = body_validator(LEASE)
heartbeat_input = body_validator(HEARTBEAT)
_results_input = body_validator(RESULTS)


def results_input(data, *, max_lease_tasks: int, max_segment: int = 0) -> tuple[list[dict], dict | None]:
    """(results, lease): `lease` is our compatible addition, {max_tasks (0..1000, capped), executors,
    segment_max (capped)}."""
    body = _results_input(data)
    lease = body.get("lease")
    if lease is not None:
        lease = {
            "max_tasks": min(lease["max_tasks"], max_lease_tasks), "executors": lease["executors"],
            "segment_max": min(lease.get("segment_max") or 0, max_segment),
        }
    return body["results"], lease
