"""Validation of the runner protocol's hottest request bodies (lease, heartbeat, results), by hand.

Every task passes through these calls, and DRF serializers cost more CPU than everything else in
a results call (fields deep-copied per serializer instance, per result). The serializers in
runners/apis.py still document the bodies in the OpenAPI schema; tests/engine/test_protocol_input.py
checks that both accept and refuse the same bodies. Unknown keys are ignored, as DRF does.
Errors are DRF's 400 body: {"field": ["message"]}, with list items named like `results[3].state`.
"""

import uuid
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from nodeworks_server.constants import EXECUTORS

RESULT_STATES = ("succeeded", "failed", "cancelled")
MAX_ERROR_CHARS = 100_000


def _fail(field: str, message: str):
    raise ValidationError({field: [message]})


def _body(data) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
    return data


def _integer(data: dict, field: str, *, low: int, high: int, default: int | None = None) -> int:
    if field not in data:
        if default is None:
            _fail(field, "This field is required.")
        return default
    value = data[field]
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(field, "A valid integer is required.")
    if not low <= value <= high:
        _fail(field, f"Must be between {low} and {high}.")
    return value


def _number(data: dict, field: str, *, low: float, high: float, default: float) -> float:
    value = data.get(field, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(field, "A valid number is required.")
    if not low <= value <= high:
        _fail(field, f"Must be between {low} and {high}.")
    return float(value)


def _list(data: dict, field: str, *, max_length: int, min_length: int = 0, default: list | None = None) -> list:
    if field not in data:
        if default is None:
            _fail(field, "This field is required.")
        return default
    value = data[field]
    if not isinstance(value, list):
        _fail(field, "Expected a list of items.")
    if len(value) > max_length:
        _fail(field, f"Ensure this field has no more than {max_length} elements.")
    if len(value) < min_length:
        _fail(field, f"Ensure this field has at least {min_length} elements.")
    return value


def _executors(data: dict, field: str = "executors") -> list[str]:
    executors = _list(data, field, max_length=len(EXECUTORS))
    for item in executors:
        if item not in EXECUTORS:
            _fail(field, f"{item!r} is not a valid choice; executors are {', '.join(EXECUTORS)}.")
    return executors


def _uuid(value, field: str) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    _fail(field, "Must be a valid UUID.")


def _datetime(value, field: str) -> datetime | None:
    if value is None:
        return None
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None:
        _fail(field, "Datetime has wrong format. Use ISO 8601, e.g. 2026-11-25T10:00:00Z.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def lease_input(data) -> dict:
    data = _body(data)
    last_finished = _list(data, "last_finished", max_length=1000, default=[])
    for item in last_finished:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            _fail("last_finished", "Task ids are positive integers.")
    return {
        "max_tasks": _integer(data, "max_tasks", low=1, high=1000, default=1),
        "wait_s": _number(data, "wait_s", low=0, high=30, default=0),
        "executors": _executors(data),
        "last_finished": last_finished,
    }


def heartbeat_input(data) -> dict:
    data = _body(data)
    lease_ids = [_uuid(value, "lease_ids") for value in _list(data, "lease_ids", max_length=10_000)]
    running = data.get("running", {})
    if not isinstance(running, dict):
        _fail("running", "Expected an object of lease id → progress.")
    if not all(isinstance(value, dict) for value in running.values()):
        _fail("running", "Each value of `running` is an object.")
    try:
        running = {uuid.UUID(key): value for key, value in running.items()}
    except ValueError:
        _fail("running", "keys of `running` must be lease ids")
    return {"lease_ids": lease_ids, "running": running}


def _result(item, index: int) -> dict:
    where = f"results[{index}]"
    if not isinstance(item, dict):
        _fail(where, "Expected an object.")
    if "lease_id" not in item:
        _fail(f"{where}.lease_id", "This field is required.")
    state = item.get("state")
    if state not in RESULT_STATES:
        _fail(f"{where}.state", f"Must be one of {', '.join(RESULT_STATES)}.")
    outputs = item.get("outputs", {})
    if not isinstance(outputs, dict):
        _fail(f"{where}.outputs", "Expected an object of output terminal → value.")
    error = item.get("error", "")
    if not isinstance(error, str):
        _fail(f"{where}.error", "Not a valid string.")
    if len(error) > MAX_ERROR_CHARS:
        _fail(f"{where}.error", f"Ensure this field has no more than {MAX_ERROR_CHARS} characters.")
    return {
        "lease_id": _uuid(item["lease_id"], f"{where}.lease_id"),
        "state": state,
        "outputs": outputs,
        "error": error,
        "started": _datetime(item.get("started"), f"{where}.started"),
        "finished": _datetime(item.get("finished"), f"{where}.finished"),
    }


def results_input(data, *, max_lease_tasks: int) -> tuple[list[dict], dict | None]:
    """(results, lease): `lease` is our compatible addition, {max_tasks (0..1000, capped), executors}."""
    data = _body(data)
    results = [_result(item, index) for index, item in enumerate(_list(data, "results", max_length=1000, min_length=1))]
    if "lease" not in data:
        return results, None
    lease = data["lease"]
    if not isinstance(lease, dict):
        _fail("lease", "Expected an object: {max_tasks, executors}.")
    try:
        max_tasks = _integer(lease, "max_tasks", low=0, high=1000)
        executors = _executors(lease)
    except ValidationError as exc:
        raise ValidationError({f"lease.{field}": messages for field, messages in exc.detail.items()}) from None
    return results, {"max_tasks": min(max_tasks, max_lease_tasks), "executors": executors}
