"""Request bodies validated by the same schema that documents them.

A body is described once, as an OpenAPI 3.0 schema (a dict: what drf-spectacular puts in the API's
schema through `extend_schema(request=...)`), and `body_validator(schema)` compiles it into plain
Python closures: as fast as validation written by hand, a fraction of what DRF serializers cost on
the hottest calls. The validator returns the body's values typed (uuid.UUID, aware datetimes) with
the schema's defaults filled in, and ignores unknown keys, as DRF does.

The subset understood (anything else is refused when compiling, so schema and validator cannot drift):
type object (properties, required, additionalProperties as a schema, `x-key-format: uuid`), array
(items, minItems, maxItems), integer and number (minimum, maximum; booleans are not numbers, and an
integer may be written 5.0 as JSON Schema allows), string (maxLength, enum, format uuid or date-time:
ISO 8601, read as UTC without an offset), nullable, default, and description/title/example.
Errors are DRF's 400 body: {"field": ["message"]}, nested names like `results[3].state`.
"""

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

_DOC_KEYS = {"description", "title", "example", "default", "nullable"}
_KNOWN = {
    "object": {"type", "properties", "required", "additionalProperties", "x-key-format"},
    "array": {"type", "items", "minItems", "maxItems"},
    "integer": {"type", "minimum", "maximum"},
    "number": {"type", "minimum", "maximum"},
    "string": {"type", "maxLength", "enum", "format"},
}

Check = Callable[[Any, str], Any]


def fail(field: str, message: str):
    raise ValidationError({field: [message]})


def body_validator(schema: dict) -> Callable[[Any], dict]:
    """The validator of a request body: a JSON object described by `schema`."""
    if schema.get("type") != "object":
        raise ValueError("a request body is described as an object")
    check = _compile(schema)

    def validate(data):
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["Expected a JSON object."]})
        return check(data, "")

    return validate


def _compile(schema: dict) -> Check:
    kind = schema.get("type")
    if kind is None and "enum" in schema:
        kind = "string"
    unknown = set(schema) - _KNOWN.get(kind, set()) - _DOC_KEYS
    if kind not in _KNOWN or unknown:
        raise ValueError(f"schema not understood by body_validator: type {kind!r}, keys {sorted(unknown)}")
    check = {"object": _object, "array": _array, "integer": _integer, "number": _number, "string": _string}[kind](schema)
    if schema.get("nullable"):
        inner = check

        def check(value, field):
            return None if value is None else inner(value, field)

    return check


def _object(schema: dict) -> Check:
    fields = [(name, _compile(sub), "default" in sub, sub.get("default")) for name, sub in schema.get("properties", {}).items()]
    required = set(schema.get("required", ()))
    values = schema.get("additionalProperties")
    value_check = _compile(values) if isinstance(values, dict) else None
    key_is_uuid = schema.get("x-key-format") == "uuid"
    if not fields and value_check is None:
        return _free_object

    def check(value, field):
        if not isinstance(value, dict):
            fail(field, "Expected an object.")
        out = {}
        for name, sub, has_default, default in fields:
            where = f"{field}.{name}" if field else name
            if name in value:
                out[name] = sub(value[name], where)
            elif name in required:
                fail(where, "This field is required.")
            elif has_default:
                out[name] = copy.copy(default)  # a fresh list or dict per body
        if value_check is not None:
            for key, item in value.items():
                if key_is_uuid:
                    key = _uuid(key, field, message="Keys must be UUIDs.")
                out[key] = value_check(item, field)
        return out

    return check


def _free_object(value, field):
    """An object without properties described: any JSON object, kept as it is."""
    if not isinstance(value, dict):
        fail(field, "Expected an object.")
    return value


def _array(schema: dict) -> Check:
    item_check = _compile(schema["items"])
    low, high = schema.get("minItems", 0), schema.get("maxItems")

    def check(value, field):
        if not isinstance(value, list):
            fail(field, "Expected a list of items.")
        if high is not None and len(value) > high:
            fail(field, f"Ensure this field has no more than {high} elements.")
        if len(value) < low:
            fail(field, f"Ensure this field has at least {low} elements.")
        return [item_check(item, f"{field}[{index}]") for index, item in enumerate(value)]

    return check


def _bounded(value, field: str, low, high):
    if (low is not None and value < low) or (high is not None and value > high):
        fail(field, f"Must be between {low} and {high}." if None not in (low, high) else f"Must be within [{low}, {high}].")
    return value


def _integer(schema: dict) -> Check:
    low, high = schema.get("minimum"), schema.get("maximum")

    def check(value, field):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            fail(field, "A valid integer is required.")
        return _bounded(value, field, low, high)

    return check


def _number(schema: dict) -> Check:
    low, high = schema.get("minimum"), schema.get("maximum")

    def check(value, field):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(field, "A valid number is required.")
        return float(_bounded(value, field, low, high))

    return check


def _string(schema: dict) -> Check:
    fmt, longest, choices = schema.get("format"), schema.get("maxLength"), schema.get("enum")
    if fmt not in (None, "uuid", "date-time"):
        raise ValueError(f"string format {fmt!r} not understood by body_validator")
    if choices is not None:
        allowed = set(choices)

        def check(value, field):
            if not isinstance(value, str) or value not in allowed:
                fail(field, f"{value!r} is not a valid choice; one of {', '.join(choices)}.")
            return value

        return check

    def check(value, field):
        if not isinstance(value, str):
            fail(field, "Not a valid string.")
        if longest is not None and len(value) > longest:
            fail(field, f"Ensure this field has no more than {longest} characters.")
        if fmt == "uuid":
            return _uuid(value, field)
        if fmt == "date-time":
            return _datetime(value, field)
        return value

    return check


def _uuid(value: str, field: str, *, message: str = "Must be a valid UUID.") -> uuid.UUID:
    # The RFC 4122 string form only (JSON Schema's "uuid"): uuid.UUID() alone also takes 32 bare hex
    # digits, braces and "urn:uuid:".
    if len(value) == 36 and value[8] == value[13] == value[18] == value[23] == "-":
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    fail(field, message)


def _datetime(value: str, field: str) -> datetime:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        fail(field, "Datetime has wrong format. Use ISO 8601, e.g. 2026-11-25T10:00:00Z.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
