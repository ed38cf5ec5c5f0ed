"""Input overrides read from an event's payload: `{"node.terminal": "payload.key.path"}`."""

import re

from nodeworks_server.errors import InvalidInput

# "payload", then dot-separated keys (or list indices); no empty segment.
PATH_RE = re.compile(r"payload(\.[^.]+)*")
MAX_MAPPINGS = 200
MAX_KEY_CHARS = 500


class MissingPayloadKey(LookupError):
    pass


def mapping_validate(mapping) -> dict[str, str]:
    if not isinstance(mapping, dict):
        raise InvalidInput('must be an object {"node.terminal": "payload.key"}', field="inputs")
    if len(mapping) > MAX_MAPPINGS:
        raise InvalidInput(f"at most {MAX_MAPPINGS} mappings", field="inputs")
    for key, path in mapping.items():
        if not key or len(key) > MAX_KEY_CHARS or "." not in key:
            raise InvalidInput(f"{key[:60]!r} is not 'node.terminal'", field="inputs")
        if not isinstance(path, str) or len(path) > MAX_KEY_CHARS or not PATH_RE.fullmatch(path):
            raise InvalidInput(
                f"{key!r}: {str(path)[:60]!r} is not a payload path such as 'payload.key' or 'payload.a.0.b'",
                field="inputs",
            )
    return mapping


def payload_value(payload, path: str):
    """The value at `path` ("payload" is the whole payload; a digit segment indexes a list)."""
    current = payload
    walked = "payload"
    for part in path.split(".")[1:]:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise MissingPayloadKey(f"the payload has no {path!r} ({walked} has no {part!r})")
        walked += "." + part
    return current


def mapped_inputs(mapping: dict[str, str], payload) -> dict:
    return {key: payload_value(payload, path) for key, path in mapping.items()}
