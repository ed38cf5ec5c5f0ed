"""A published `.nc` file: the bytes git stores and `get` returns, plus its validated graph."""

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from django.conf import settings

from nodeworks_server.gc_pause import gc_paused
from nodeworks_server.json_limits import JSONInputError, loads_limited
from workflows.nodeworks_format import (
    Graph,
    Limits,
    WorkflowFormatError,
    graph_of_validated,
    parse_workflow,
    validate_requirements,
)

WORKFLOW_FILE = "workflow.nc"
REQUIREMENTS_FILE = "requirements.json"


@dataclass(frozen=True)
class Document:
    content: bytes
    graph: Graph


def _limits() -> Limits:
    return Limits(max_nodes=settings.MAX_NODES, max_depth=settings.MAX_JSON_DEPTH)


# orjson writes a float below 1e-4 as 0.0000x or with a one-digit exponent (1e-5), json.dumps as 1e-05:
# the only difference in what a decoded body can hold (tests/test_ingest_paths.py compares them).
_ONE_DIGIT_EXPONENT = re.compile(rb"e-[0-9](?![0-9])")  # a literal start: searched at C speed


def _float_may_differ(text: bytes) -> bool:
    return b"0.0000" in text or _ONE_DIGIT_EXPONENT.search(text) is not None


_NUL_OR_SURROGATE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _indented(obj) -> bytes | None:
    """`json.dumps(obj, indent=2, ensure_ascii=False) + "\\n"` as UTF-8, byte for byte, at C speed: Python's
    encoder cannot indent in C (0.65 s for 12 MB). None when orjson's bytes may differ, or it refuses the
    object: an integer past 64 bits, a lone surrogate, a small float (also when a string merely looks
    like one: then the slow path is only slower, never different)."""
    try:
        content = orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return None if _float_may_differ(content) else content


def document_from_object(obj, *, depth_checked: bool = False) -> Document:
    """From a JSON body's `workflow` member; serialized with its key order kept. `depth_checked`: the
    request's JSON was decoded by loads_limited (the API's parsers), under the same depth limit and
    without NaN or Infinity (which orjson would write as null, json.dumps as NaN)."""
    with gc_paused():
        content = _indented(obj) if depth_checked and isinstance(obj, dict) else None
        # orjson refuses lone surrogates and writes a NUL as the escape \u0000: without one, all text is storable.
        storable = content is not None and b"\\u0000" not in content
        graph = parse_workflow(obj, limits=_limits(), depth_checked=depth_checked, storable_checked=storable)
        if content is None:
            content = (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return Document(content=content, graph=graph)


def document_from_bytes(raw: bytes) -> Document:
    """From an uploaded `.nc` file; the file's own bytes are what git keeps."""
    try:
        obj = loads_limited(raw)
    except JSONInputError as exc:
        raise WorkflowFormatError(f"file: {exc}") from None
    # Valid UTF-8 JSON holds a NUL or a surrogate only as an escape: without one, all its text is storable.
    storable = _NUL_OR_SURROGATE_ESCAPE.search(raw) is None
    with gc_paused():
        graph = parse_workflow(obj, limits=_limits(), depth_checked=True, storable_checked=storable)
    return Document(content=raw, graph=graph)


def graph_from_stored(read: Callable[[], bytes]) -> tuple[Graph, int]:
    """The graph of the stored file `read()` returns, and the file's size. It was validated on publish,
    so neither the limits nor the checks are applied again (a file holding text the database cannot
    store is parsed as on publish, to say where: it may be older than that check). The bytes are let
    go before the objects are built (49 MB for 100,000 nodes). Not orjson.loads: it shares fewer key
    strings (+70 MB for 100,000 nodes)."""
    unlimited = Limits(max_nodes=sys.maxsize, max_depth=sys.maxsize)
    with gc_paused():
        raw = read()
        size = len(raw)
        storable = _NUL_OR_SURROGATE_ESCAPE.search(raw) is None
        obj = json.loads(raw)
        del raw
        if not storable:  # refused on publish since issue 11, but a file published before may hold it
            return parse_workflow(obj, limits=unlimited, depth_checked=True), size
        return graph_of_validated(obj), size


def requirements_to_bytes(requirements: dict) -> bytes:
    validate_requirements(requirements, where="workflow requirements")
    return (json.dumps(requirements, indent=2, sort_keys=True) + "\n").encode("utf-8")
