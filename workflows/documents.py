"""A published `.nc` file: the bytes git stores and `get` returns, plus its validated graph."""

import json
from dataclasses import dataclass

from django.conf import settings

from nodeworks_server.json_limits import JSONInputError, loads_limited
from workflows.nodeworks_format import Graph, Limits, WorkflowFormatError, parse_workflow, validate_requirements

WORKFLOW_FILE = "workflow.nc"
REQUIREMENTS_FILE = "requirements.json"


@dataclass(frozen=True)
class Document:
    content: bytes
    graph: Graph


def _limits() -> Limits:
    return Limits(max_nodes=settings.MAX_NODES, max_depth=settings.MAX_JSON_DEPTH)


def document_from_object(obj, *, depth_checked: bool = False) -> Document:
    """From a JSON body's `workflow` member; serialized with its key order kept. `depth_checked`: the
    request's JSON was decoded by loads_limited (the API's parsers), under the same depth limit."""
    graph = parse_workflow(obj, limits=_limits(), depth_checked=depth_checked)
    content = (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return Document(content=content, graph=graph)


def document_from_bytes(raw: bytes) -> Document:
    """From an uploaded `.nc` file; the file's own bytes are what git keeps."""
    try:
        obj = loads_limited(raw)
    except JSONInputError as exc:
        raise WorkflowFormatError(f"file: {exc}") from None
    return Document(content=raw, graph=parse_workflow(obj, limits=_limits(), depth_checked=True))


def requirements_to_bytes(requirements: dict) -> bytes:
    validate_requirements(requirements, where="workflow requirements")
    return (json.dumps(requirements, indent=2, sort_keys=True) + "\n").encode("utf-8")
