"""The digest that decides reuse: what a node computes from, hashed (pure; no Django).

Two tasks with the same digest are expected to produce the same outputs: same node kind (`path`),
same requirements (where and how it runs), same input values (upstream outputs it consumes, after
the value rules of workflows/inputs.py, and its unconnected saved values), and, for nodes without
inputs (types/*), the saved output values they emit. Values not part of the computation are left
out on purpose: the node's name, position, layer, and the stale saved outputs of nodes with inputs
(Nodeworks refreshes them whenever a sheet is saved after a run, which must not defeat reuse).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

import orjson

# Requirements that change how often a node is tried, not what it computes.
_NOT_COMPUTING = ("retries",)
# Bumped when the digest's recipe changes, so old digests never match new ones.
_RECIPE = 1


def _canonical(value) -> str:
    # sort_keys: PostgreSQL's jsonb does not keep key order, so a value read back may be reordered.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True, default=str)


# Anything but plain JSON values goes to _canonical: orjson would write a datetime its own way.
_FAST = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)
# orjson writes a float below 1e-4 as 0.0000x or with a one-digit exponent (1e-5), json.dumps as 1e-05.
_ONE_DIGIT_EXPONENT = re.compile(rb"e-[0-9](?![0-9])")  # a literal start: searched at C speed


def _float_may_differ(text: bytes) -> bool:
    return b"0.0000" in text or _ONE_DIGIT_EXPONENT.search(text) is not None


def _canonical_bytes(value) -> bytes:
    """_canonical's text as UTF-8 (surrogates passed), byte for byte: by orjson, 6 times faster (a run of
    20,000 roots digests each), unless it refuses the value (a lone surrogate, an integer past 64 bits,
    a non-JSON object) or its text may differ (a small float, or a string that looks like one)."""
    try:
        text = orjson.dumps(value, option=_FAST)
    except TypeError:
        text = None
    if text is None or _float_may_differ(text):
        return _canonical(value).encode("utf-8", "surrogatepass")
    return text


def input_digest(*, node: Mapping, requirements: Mapping, inputs: Mapping) -> str:
    """`node`: the task's node object (input overrides applied); `inputs`: {terminal: value} as the
    runner receives them (workflows.inputs.assemble_inputs)."""
    terminals = node.get("terminals") or {}
    has_inputs = any((terminal.get("opts") or {}).get("in", False) for terminal in terminals.values())
    emitted = {}
    if not has_inputs:
        # A types/* node emits its saved output values cast to the terminal's dtype.
        for name, terminal in terminals.items():
            opts = terminal.get("opts") or {}
            emitted[name] = [terminal.get("value"), opts.get("dtype")]
    recipe = {
        "recipe": _RECIPE,
        "path": list(node.get("path") or []),
        "requirements": {key: value for key, value in requirements.items() if key not in _NOT_COMPUTING},
        "inputs": dict(inputs),
        "emitted": emitted,
        # Plug-in nodes may keep their settings here (Nodeworks's own customState).
        "state": node.get("customState"),
    }
    return hashlib.sha256(_canonical_bytes(recipe)).hexdigest()


def forcerun(node: Mapping) -> bool:
    """Nodeworks's own node key: the node runs every time, whatever its inputs."""
    return node.get("forcerun") is True
