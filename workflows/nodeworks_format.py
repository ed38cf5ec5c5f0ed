"""Parsing and validation of MFIX Nodeworks ``.nc`` files (already JSON-decoded).

The input may be hostile: nothing here recurses on user data, and every bad shape is
reported as a WorkflowFormatError naming the offending object, never as a KeyError or
TypeError leaking out. Objects are validated, not rewritten: unknown keys stay as
they are, so what is published is what ``get`` returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nodeworks_server.constants import EXECUTORS
from nodeworks_server.gc_pause import gc_paused
from nodeworks_server.json_limits import json_depth_ok
from nodeworks_server.storable_text import storable_free_text, unstorable_text

from . import dag

__all__ = [
    "EXECUTORS",
    "Connection",
    "Graph",
    "Limits",
    "WorkflowFormatError",
    "graph_of_validated",
    "json_depth_ok",
    "parse_workflow",
    "validate_requirements",
]

_TAG_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT_REQUIREMENTS = ("cpus", "memory_mb", "gpus", "walltime_s", "retries")
_REQUIREMENT_KEYS = (
    "tags",
    "executor",
    "environment",
    *_INT_REQUIREMENTS,
    "image",
    "env",
)
# Requirement numbers end up in integer database columns.
_MAX_INT = 2**31 - 1


class WorkflowFormatError(ValueError):
    def __init__(self, message: str, *, obj: str | None = None):
        super().__init__(message)
        self.message = message
        self.obj = obj

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Limits:
    max_nodes: int = 100_000
    max_depth: int = 64


@dataclass(frozen=True)
class Connection:
    name: str
    source: tuple[str, str]
    destination: tuple[str, str]
    feedback: bool


@dataclass(frozen=True)
class Graph:
    nodes: dict[str, dict]
    connections: list[Connection]
    _plan: dag.Plan | None = field(default=None, init=False, repr=False, compare=False)

    def edges(self) -> list[tuple[str, str]]:
        return [
            (c.source[0], c.destination[0]) for c in self.connections if not c.feedback
        ]

    def plan(self) -> dag.Plan:
        # Validation already planned once; large workflows should not pay for it twice.
        if self._plan is None:
            with gc_paused():  # 100,000 nodes make 100,000 lists, next to the file's objects (gc_pause.py)
                object.__setattr__(self, "_plan", dag.plan(self.nodes, self.edges()))
        assert self._plan is not None
        return self._plan


def _q(value: Any) -> str:
    """A short, safe rendering of a user value for messages (never reprs containers)."""
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return f"<{type(value).__name__}>"


def _error(key: str, kind: str, message: str) -> WorkflowFormatError:
    return WorkflowFormatError(f"{kind} {_q(key)}: {message}", obj=key)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_requirements(req: Any, *, where: str) -> dict:
    def fail(message: str) -> WorkflowFormatError:
        return WorkflowFormatError(f"{where}: requirements: {message}")

    if not isinstance(req, dict):
        raise fail("must be a JSON object")
    problem = unstorable_text(req, "")
    if problem is not None:
        raise fail(problem)
    for key, value in req.items():
        if key not in _REQUIREMENT_KEYS:
            raise fail(
                f"unknown key {_q(key)} (allowed: {', '.join(_REQUIREMENT_KEYS)})"
            )
        if key == "tags":
            if not isinstance(value, list):
                raise fail("'tags' must be a list of strings")
            for tag in value:
                if not (isinstance(tag, str) and _TAG_RE.fullmatch(tag)):
                    raise fail(f"bad tag {_q(tag)}: 1-64 of A-Z a-z 0-9 _ . : -")
        elif key == "executor":
            if value not in EXECUTORS:
                raise fail(
                    f"'executor' must be one of {', '.join(EXECUTORS)}, got {_q(value)}"
                )
        elif key in ("environment", "image"):
            limit = 1024 if key == "environment" else 512
            if not isinstance(value, str) or len(value) > limit:
                raise fail(f"{key!r} must be a string of at most {limit} characters")
        elif key in _INT_REQUIREMENTS:
            limit = 100 if key == "retries" else _MAX_INT
            if not _is_int(value) or not 0 <= value <= limit:
                raise fail(
                    f"{key!r} must be an integer from 0 to {limit}, got {_q(value)}"
                )
        elif key == "env":
            if not isinstance(value, dict):
                raise fail("'env' must be an object of strings")
            for name, setting in value.items():
                if not isinstance(name, str) or not _ENV_NAME_RE.fullmatch(name):
                    raise fail(f"'env' has an invalid variable name {_q(name)}")
                if not isinstance(setting, str):
                    raise fail(f"'env' value of {name!r} must be a string")
    return req


def _check_node(key: str, node: dict) -> None:
    def fail(message: str) -> WorkflowFormatError:
        return _error(key, "node", message)

    for required in ("name", "path", "terminals"):
        if required not in node:
            raise fail(f"missing required key {required!r}")
    if not isinstance(node.get("name"), str):
        raise fail("'name' must be a string")
    path = node.get("path")
    if not (_is_str_list(path) and path):
        raise fail("'path' must be a non-empty list of strings")
    terminals = node.get("terminals")
    if not isinstance(terminals, dict):
        raise fail("'terminals' must be an object")
    for name, terminal in terminals.items():
        if not isinstance(name, str):
            raise fail(f"terminal name {_q(name)} must be a string")
        opts = terminal.get("opts") if isinstance(terminal, dict) else None
        if not isinstance(opts, dict):
            raise fail(f"terminal {_q(name)} must be an object with an 'opts' object")
        for flag in ("in", "out", "multiinput"):
            if not isinstance(opts.get(flag, False), bool):
                raise fail(f"terminal {_q(name)}: opts.{flag} must be a boolean")
    if "requirements" in node:
        try:
            validate_requirements(node["requirements"], where=f"node {_q(key)}")
        except WorkflowFormatError as exc:
            raise WorkflowFormatError(exc.message, obj=key) from None


def _plain_node_ok(node: dict) -> bool:
    """What _check_node accepts, for a node without requirements, in fewer steps (the publish of 100,000
    nodes checks 100,000); False sends the node to _check_node, which names what is wrong."""
    if "requirements" in node or type(node.get("name")) is not str:
        return False
    path, terminals = node.get("path"), node.get("terminals")
    if type(path) is not list or not path or type(terminals) is not dict:
        return False
    for item in path:
        if type(item) is not str:
            return False
    for name, terminal in terminals.items():
        if type(name) is not str or type(terminal) is not dict:
            return False
        opts = terminal.get("opts")
        if (
            type(opts) is not dict or type(opts.get("in", False)) is not bool or type(opts.get("out", False)) is not bool
            or type(opts.get("multiinput", False)) is not bool
        ):
            return False
    return True


def _plain_connection(key: str, conn: dict, nodes: dict[str, dict]) -> Connection | None:
    """What _check_connection accepts, in fewer steps; None sends it there, to name what is wrong."""
    source, destination, feedback = conn.get("input"), conn.get("output"), conn.get("feedback", False)
    if type(source) is not list or type(destination) is not list or len(source) != 2 or len(destination) != 2:
        return None
    (src_node, src_term), (dst_node, dst_term) = source, destination
    if type(src_node) is not str or type(src_term) is not str or type(dst_node) is not str or type(dst_term) is not str:
        return None
    if type(feedback) is not bool or src_node not in nodes or dst_node not in nodes:
        return None
    out, into = nodes[src_node]["terminals"].get(src_term), nodes[dst_node]["terminals"].get(dst_term)
    if out is None or into is None or out["opts"].get("out", False) is not True or into["opts"].get("in", False) is not True:
        return None
    return Connection(key, (src_node, src_term), (dst_node, dst_term), feedback)


def _end(key: str, conn: dict, field_name: str) -> tuple[str, str]:
    if field_name not in conn:
        raise _error(key, "connection", f"missing required key {field_name!r}")
    end = conn[field_name]
    if not (_is_str_list(end) and len(end) == 2):
        raise _error(key, "connection", f"{field_name!r} must be [node, terminal]")
    return end[0], end[1]


def _check_connection(key: str, conn: dict, nodes: dict[str, dict]) -> Connection:
    source = _end(key, conn, "input")
    destination = _end(key, conn, "output")
    # Nodeworks names the ends from the nodes' side: "input" is the source.
    for role, (node_name, term_name), flag, kind in (
        ("source", source, "out", "an output"),
        ("destination", destination, "in", "an input"),
    ):
        if node_name not in nodes:
            msg = f"{role} node {_q(node_name)} does not exist"
            raise _error(key, "connection", msg)
        terminal = nodes[node_name]["terminals"].get(term_name)
        if terminal is None:
            msg = f"{role} terminal {_q(term_name)} does not exist on {_q(node_name)}"
            raise _error(key, "connection", msg)
        if not terminal["opts"].get(flag, False):
            msg = f"{role} terminal {_q(f'{node_name}.{term_name}')} is not {kind}"
            raise _error(key, "connection", msg)
    feedback = conn.get("feedback", False)
    if not isinstance(feedback, bool):
        raise _error(key, "connection", "'feedback' must be a boolean")
    return Connection(key, source, destination, feedback)


def _check_storable(obj: dict) -> None:
    """A value the database cannot store (NUL, a lone surrogate) would publish, then fail every execute:
    refused here, naming the node and terminal. Never echoes the bad text (a lone surrogate cannot
    even be rendered into the answer)."""
    if unstorable_text(obj, "") is None:
        return
    for key, value in obj.items():
        name = storable_free_text(str(key))
        terminals = value.get("terminals") if isinstance(value, dict) else None
        for terminal, spec in (terminals.items() if isinstance(terminals, dict) else ()):
            problem = unstorable_text(spec, "")
            if problem is not None:
                raise WorkflowFormatError(
                    f"node {_q(name)}, terminal {_q(storable_free_text(str(terminal)))}: {problem}", obj=name
                )
        problem = unstorable_text({key: value}, "")
        if problem is not None:
            raise WorkflowFormatError(f"object {_q(name)}: {problem}", obj=name)


def parse_workflow(
    obj: Any, *, limits: Limits = Limits(), depth_checked: bool = False, storable_checked: bool = False
) -> Graph:
    """`depth_checked`: the caller decoded `obj` with nodeworks_server.json_limits.loads_limited (under
    limits.max_depth), so the walk over every value is not done twice (0.3 s for a 12 MB workflow).
    `storable_checked`: the caller knows all its text is storable (from the text it encoded or decoded),
    so it is not encoded once more to find out (0.17 s)."""
    if not isinstance(obj, dict):
        raise WorkflowFormatError("workflow must be a JSON object")
    if not depth_checked and not json_depth_ok(obj, limits.max_depth):
        raise WorkflowFormatError(f"nesting deeper than {limits.max_depth} levels")
    if not storable_checked:
        _check_storable(obj)

    node_items: list[tuple[str, dict]] = []
    conn_items: list[tuple[str, dict]] = []
    for key, value in obj.items():
        if not isinstance(key, str):
            raise WorkflowFormatError(f"object key {_q(key)} must be a string")
        if not isinstance(value, dict):
            raise _error(key, "object", "must be a JSON object")
        kind = value.get("type")
        if kind == "Node":
            node_items.append((key, value))
        elif kind == "Connection":
            conn_items.append((key, value))
        else:
            msg = f"'type' must be 'Node' or 'Connection', got {_q(kind)}"
            raise _error(key, "object", msg)
        if value.get("uniquename") != key:
            msg = f"'uniquename' {_q(value.get('uniquename'))} does not match its key"
            raise _error(key, "object", msg)
    # Counted before the per-node checks so an oversized upload fails fast.
    if len(node_items) > limits.max_nodes:
        msg = f"too many nodes: {len(node_items)} > {limits.max_nodes}"
        raise WorkflowFormatError(msg)

    for key, node in node_items:
        if not _plain_node_ok(node):
            _check_node(key, node)
    nodes = dict(node_items)

    connections: list[Connection] = []
    first_into: dict[tuple[str, str], str] = {}
    for key, conn in conn_items:
        connection = _plain_connection(key, conn, nodes) or _check_connection(key, conn, nodes)
        node_name, term_name = dest = connection.destination
        opts = nodes[node_name]["terminals"][term_name]["opts"]
        if not opts.get("multiinput", False):
            if dest in first_into:
                msg = (
                    f"input terminal {_q(f'{node_name}.{term_name}')} is not multiinput"
                    f" but has two connections: {_q(first_into[dest])} and {_q(key)}"
                )
                raise WorkflowFormatError(msg, obj=key)
            first_into[dest] = key
        connections.append(connection)

    graph = Graph(nodes=nodes, connections=connections)
    try:
        graph.plan()
    except dag.CycleError as exc:
        msg = "cycle among connections: " + " -> ".join(exc.cycle)
        raise WorkflowFormatError(msg, obj=exc.cycle[0]) from None
    return graph


def graph_of_validated(obj: dict) -> Graph:
    """The graph of a file that parse_workflow accepted when it was published (a stored revision):
    split into nodes and connections without checking every object again, which was two thirds of
    reading a stored file of 100,000 nodes (GET plan, execute). Its plan is made when first asked for."""
    nodes: dict[str, dict] = {}
    connections: list[Connection] = []
    for key, value in obj.items():
        if value["type"] == "Node":
            nodes[key] = value
        else:
            (source, out), (destination, into) = value["input"], value["output"]
            connections.append(Connection(key, (source, out), (destination, into), value.get("feedback", False)))
    return Graph(nodes=nodes, connections=connections)
