"""Plain pytest (no Django): parsing and validating Nodeworks .nc files."""

import copy
import json
from pathlib import Path

import pytest

from tests.shared_samples import SAMPLE_NAMES, WORKED_EXAMPLE, shared_file
from workflows import dag
from workflows.nodeworks_format import (
    EXECUTORS,
    Limits,
    WorkflowFormatError,
    json_depth_ok,
    parse_workflow,
    validate_requirements,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"  # the project's own files
EXAMPLES = ROOT / "examples"
# The real Nodeworks files of ../shared: skipped when missing (failed under CI=true).
REAL_FILES = [*(f"nodeworks-samples/{name}" for name in SAMPLE_NAMES), WORKED_EXAMPLE]


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def terminal(*, inp=False, out=False, multi=False) -> dict:
    return {
        "value": None,
        "flipped": False,
        "opts": {"in": inp, "out": out, "multiinput": multi},
    }


def node(name: str, **terminals: dict) -> dict:
    return {
        "type": "Node",
        "name": name.title(),
        "uniquename": name,
        "pos": [0.0, 0.0],
        "path": ["math", "Multiply"],
        "terminals": terminals,
        "tunnel": {"in": [], "out": []},
        "forcerun": False,
        "hidden": [],
        "customState": None,
        "layer": 0,
    }


def conn(name: str, source: list, destination: list, **extra) -> dict:
    return {
        "type": "Connection",
        "name": name,
        "uniquename": name,
        "input": source,
        "output": destination,
        "line": [],
        "controlpoints": [],
        **extra,
    }


def small() -> dict:
    """a.out -> b.x (plain input) -> b.out -> c.many (multiinput)."""
    return {
        "a": node("a", out=terminal(out=True)),
        "b": node("b", x=terminal(inp=True), out=terminal(out=True)),
        "c": node("c", many=terminal(inp=True, multi=True), out=terminal(out=True)),
        "c1": conn("c1", ["a", "out"], ["b", "x"]),
        "c2": conn("c2", ["b", "out"], ["c", "many"]),
    }


def raises(obj, *, match: str, named: str | None, limits: Limits | None = None):
    with pytest.raises(WorkflowFormatError, match=match) as info:
        parse_workflow(obj, limits=limits or Limits())
    assert info.value.obj == named
    assert str(info.value) == info.value.message
    return info.value


# --- real files -------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        *REAL_FILES,
        *(f"fixtures/{p.name}" for p in sorted(FIXTURES.glob("*.nc"))),
        *(f"examples/{p.name}" for p in sorted(EXAMPLES.glob("*.nc"))),
    ],
)
def test_real_files_parse(where):
    kind, name = where.split("/", 1)
    if kind == "fixtures":
        path = FIXTURES / name
    elif kind == "examples":
        path = EXAMPLES / name
    else:
        path = shared_file(where)
    obj = load(path)
    before = copy.deepcopy(obj)
    graph = parse_workflow(obj)
    assert obj == before  # validation never rewrites the file
    expected_nodes = [k for k, v in obj.items() if v["type"] == "Node"]
    expected_conns = [k for k, v in obj.items() if v["type"] == "Connection"]
    assert list(graph.nodes) == expected_nodes
    assert all(graph.nodes[k] is obj[k] for k in expected_nodes)
    assert [c.name for c in graph.connections] == expected_conns
    assert sorted(graph.plan().order) == sorted(expected_nodes)


def test_arithmetic_plan():
    graph = parse_workflow(load(FIXTURES / "arithmetic.nc"))
    connection = graph.connections[2]
    assert connection.name == "connection.1"
    assert connection.source == ("multiply", "result")
    assert connection.destination == ("subtract", "minuend")
    assert connection.feedback is False
    order = graph.plan().order
    at = order.index
    assert at("power") < at("multiply") and at("integer") < at("multiply")
    assert at("multiply") < at("subtract") and at("root") < at("subtract")
    assert graph.plan().levels == [
        ["power", "integer", "root"],
        ["multiply"],
        ["subtract"],
    ]
    assert graph.plan().critical_path["power"] == 3


def test_edges_keep_duplicates_in_file_order():
    graph = parse_workflow(load(FIXTURES / "sine_plot.nc"))
    assert graph.edges() == [
        ("range", "trig"),
        ("range", "trig.0"),
        ("trig", "plot"),
        ("trig.0", "plot"),
        ("range", "plot"),
    ]


def test_unknown_keys_and_requirements_are_kept():
    obj = small()
    obj["a"]["requirements"] = {"tags": ["gpu"], "executor": "slurm", "cpus": 4}
    obj["a"]["somethingNew"] = {"x": [1, 2]}
    obj["c1"]["feedback"] = False
    graph = parse_workflow(obj)
    assert graph.nodes["a"]["somethingNew"] == {"x": [1, 2]}
    assert graph.nodes["a"]["requirements"]["executor"] == "slurm"


def test_unconnected_node_is_fine():
    obj = small()
    obj["alone"] = node("alone", x=terminal(inp=True))
    assert "alone" in parse_workflow(obj).plan().order


# --- feedback -------------------------------------------------------------------


def test_feedback_loop_is_not_a_cycle():
    obj = small()
    obj["a"]["terminals"]["back"] = terminal(inp=True)
    obj["fb"] = conn("fb", ["c", "out"], ["a", "back"], feedback=True)
    graph = parse_workflow(obj)
    assert graph.connections[-1].feedback is True
    assert ("c", "a") not in graph.edges()
    assert graph.plan().order == ["a", "b", "c"]


def test_same_loop_without_feedback_is_a_cycle():
    obj = small()
    obj["a"]["terminals"]["back"] = terminal(inp=True)
    obj["fb"] = conn("fb", ["c", "out"], ["a", "back"])
    error = raises(obj, match="cycle among connections", named="a")
    cycle = error.message.split(": ", 1)[1].split(" -> ")
    assert cycle == ["a", "b", "c", "a"]


def test_feedback_must_be_bool():
    obj = small()
    obj["c1"]["feedback"] = "yes"
    raises(obj, match="feedback", named="c1")


def test_feedback_connection_counts_toward_single_input():
    obj = small()
    obj["fb"] = conn("fb", ["c", "out"], ["b", "x"], feedback=True)
    raises(obj, match="'b.x'.*'c1' and 'fb'", named="fb")


# --- bad shapes -------------------------------------------------------------------


@pytest.mark.parametrize("obj", [[], "x", 3, None, [small()]])
def test_not_an_object(obj):
    raises(obj, match="workflow must be a JSON object", named=None)


def test_value_not_a_dict():
    obj = small()
    obj["junk"] = [1, 2]
    raises(obj, match="'junk': must be a JSON object", named="junk")


@pytest.mark.parametrize("kind", ["Group", None, ["Node"], {"x": 1}])
def test_bad_type(kind):
    obj = small()
    obj["b"]["type"] = kind
    raises(obj, match="'b'.*'type' must be 'Node' or 'Connection'", named="b")


def test_missing_type():
    obj = small()
    del obj["c2"]["type"]
    raises(obj, match="'c2'.*'type'", named="c2")


@pytest.mark.parametrize("uniquename", ["other", None, ["b"]])
def test_uniquename_mismatch(uniquename):
    obj = small()
    obj["b"]["uniquename"] = uniquename
    raises(obj, match="'b'.*uniquename.*does not match", named="b")


@pytest.mark.parametrize("key", ["name", "path", "terminals", "uniquename"])
def test_node_missing_key(key):
    obj = small()
    del obj["b"][key]
    raises(obj, match=f"'b'.*{key}", named="b")


@pytest.mark.parametrize("key", ["input", "output", "uniquename"])
def test_connection_missing_key(key):
    obj = small()
    del obj["c1"][key]
    raises(obj, match=f"'c1'.*{key}", named="c1")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", 3),
        ("path", []),
        ("path", "math/Power"),
        ("path", 7),
        ("path", ["a", 1]),
    ],
)
def test_node_bad_fields(key, value):
    obj = small()
    obj["b"][key] = value
    raises(obj, match=f"node 'b': '{key}'", named="b")


def test_connection_to_missing_node():
    obj = small()
    obj["c2"]["input"] = ["foo", "out"]
    raises(obj, match="connection 'c2': source node 'foo' does not exist", named="c2")
    obj = small()
    obj["c2"]["output"] = ["foo", "x"]
    raises(
        obj, match="connection 'c2': destination node 'foo' does not exist", named="c2"
    )


def test_connection_to_missing_terminal():
    obj = small()
    obj["c2"]["input"] = ["b", "nope"]
    raises(obj, match="source terminal 'nope' does not exist", named="c2")
    obj = small()
    obj["c2"]["output"] = ["c", "nope"]
    raises(obj, match="destination terminal 'nope' does not exist", named="c2")


def test_wrong_direction_source_is_an_input():
    obj = small()
    obj["c2"]["input"] = ["b", "x"]
    raises(obj, match="source terminal 'b.x' is not an output", named="c2")


def test_wrong_direction_destination_is_an_output():
    obj = small()
    obj["c2"]["output"] = ["a", "out"]
    raises(obj, match="destination terminal 'a.out' is not an input", named="c2")


def test_swapped_connection():
    obj = small()
    obj["c1"]["input"], obj["c1"]["output"] = ["b", "x"], ["a", "out"]
    raises(obj, match="source terminal 'b.x' is not an output", named="c1")


def test_two_connections_into_plain_input():
    obj = small()
    obj["c3"] = conn("c3", ["c", "out"], ["b", "x"])
    raises(obj, match="'b.x' is not multiinput.*'c1' and 'c3'", named="c3")


def test_two_connections_into_multiinput_are_fine():
    obj = small()
    obj["c3"] = conn("c3", ["a", "out"], ["c", "many"])
    assert len(parse_workflow(obj).connections) == 3


def test_cycle():
    obj = {
        "a": node("a", x=terminal(inp=True), out=terminal(out=True)),
        "b": node("b", x=terminal(inp=True), out=terminal(out=True)),
        "z": node("z", out=terminal(out=True)),
        "ab": conn("ab", ["a", "out"], ["b", "x"]),
        "ba": conn("ba", ["b", "out"], ["a", "x"]),
    }
    error = raises(obj, match="cycle among connections: a -> b -> a", named="a")
    assert isinstance(error, ValueError)


def test_self_connection_is_a_cycle():
    obj = small()
    obj["b"]["terminals"]["y"] = terminal(inp=True)
    obj["self"] = conn("self", ["b", "out"], ["b", "y"])
    raises(obj, match="cycle among connections: b -> b", named="b")


# --- limits -------------------------------------------------------------------


def deep(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_json_depth_ok():
    assert json_depth_ok({}, 1)
    assert json_depth_ok(3, 1)
    assert json_depth_ok({"a": [1, {"b": 2}]}, 3)
    assert not json_depth_ok({"a": [1, {"b": 2}]}, 2)
    assert json_depth_ok(deep(64), 64)
    assert not json_depth_ok(deep(65), 64)
    assert not json_depth_ok(deep(20_000), 64)
    assert json_depth_ok(deep(20_000), 20_000)  # no recursion even when it is allowed


def test_depth_20000_is_rejected():
    obj = small()
    obj["a"]["customState"] = deep(20_000)
    raises(obj, match="nesting deeper than 64 levels", named=None)


def test_depth_limit_is_configurable():
    obj = small()
    # file 1, node 2, customState 3..5; terminals also reach 5 (terminals, one, opts)
    obj["a"]["customState"] = deep(3)
    parse_workflow(obj, limits=Limits(max_depth=5))
    raises(
        obj,
        match="nesting deeper than 4 levels",
        named=None,
        limits=Limits(max_depth=4),
    )


def test_too_many_nodes():
    obj = small()
    obj["d"] = node("d")
    parse_workflow(obj, limits=Limits(max_nodes=4))
    raises(obj, match="too many nodes: 4 > 3", named=None, limits=Limits(max_nodes=3))


# --- hostile shapes -------------------------------------------------------------


@pytest.mark.parametrize(
    "terminals",
    [
        ["out"],
        {"out": "terminal"},
        {"out": {"value": 1}},
        {"out": {"opts": "in"}},
        {"out": {"opts": ["in"]}},
        {"out": {"opts": {"out": "yes"}}},
        {"out": {"opts": {"in": 1}}},
        {"out": {"opts": {"multiinput": None}}},
    ],
)
def test_hostile_terminals(terminals):
    obj = small()
    obj["a"]["terminals"] = terminals
    raises(obj, match="node 'a'", named="a")


@pytest.mark.parametrize(
    "end",
    [
        [1, 2],
        ["a"],
        ["a", "out", "extra"],
        [],
        "a.out",
        {"a": "out"},
        [["a"], "out"],
        [{"a": 1}, {"b": 2}],
        None,
    ],
)
@pytest.mark.parametrize("field", ["input", "output"])
def test_hostile_connection_ends(field, end):
    obj = small()
    obj["c1"][field] = end
    raises(
        obj,
        match=f"connection 'c1': '{field}' must be \\[node, terminal\\]",
        named="c1",
    )


def test_hostile_values_are_not_dumped_into_messages():
    obj = small()
    obj["b"]["type"] = {"huge": "x" * 10_000}
    error = raises(obj, match="type", named="b")
    assert len(error.message) < 200


def test_missing_opts_flags_count_as_false():
    obj = small()
    obj["b"]["terminals"]["x"]["opts"] = {}
    raises(obj, match="destination terminal 'b.x' is not an input", named="c1")


# --- requirements ---------------------------------------------------------------


def test_full_requirements_are_valid():
    req = {
        "tags": ["gpu", "site:lab-1", "a.b_c"],
        "executor": "container",
        "environment": "mfix-24.1",
        "cpus": 8,
        "memory_mb": 16_000,
        "gpus": 0,
        "walltime_s": 3600,
        "retries": 3,
        "image": "ghcr.io/example/mfix:24.1",
        "env": {"OMP_NUM_THREADS": "8", "_X": ""},
    }
    assert validate_requirements(req, where="requirements.json") is req
    assert validate_requirements({}, where="x") == {}
    for executor in EXECUTORS:
        validate_requirements({"executor": executor}, where="x")


@pytest.mark.parametrize(
    ("req", "match"),
    [
        ({"cpu": 2}, "unknown key 'cpu'"),
        ({"executor": "docker"}, "executor"),
        ({"executor": ["local"]}, "executor"),
        ({"cpus": -1}, "cpus"),
        ({"cpus": 1.5}, "cpus"),
        ({"cpus": "2"}, "cpus"),
        ({"retries": True}, "retries"),
        ({"retries": 101}, "retries"),
        ({"memory_mb": 10**30}, "memory_mb"),
        ({"tags": ["ok", "bad tag"]}, "bad tag 'bad tag'"),
        ({"tags": [""]}, "bad tag"),
        ({"tags": ["x" * 65]}, "bad tag"),
        ({"tags": ["ok\n"]}, "bad tag"),
        ({"tags": [3]}, "bad tag"),
        ({"tags": "gpu"}, "tags"),
        ({"environment": 3}, "environment"),
        ({"environment": "e" * 1025}, "environment"),
        ({"image": "i" * 513}, "image"),
        ({"env": {"1BAD": "x"}}, "invalid variable name '1BAD'"),
        ({"env": {"GOOD": 1}}, "GOOD"),
        ({"env": ["A=1"]}, "env"),
        (["tags"], "must be a JSON object"),
    ],
)
def test_bad_requirements(req, match):
    with pytest.raises(WorkflowFormatError, match=match) as info:
        validate_requirements(req, where="requirements.json")
    assert info.value.message.startswith("requirements.json: ")

    obj = small()
    obj["b"]["requirements"] = req
    raises(obj, match=f"node 'b': requirements: .*{match}", named="b")


def test_cycle_error_is_dag_cycle_error_converted():
    # The format module must never let dag.CycleError escape.
    obj = small()
    obj["a"]["terminals"]["back"] = terminal(inp=True)
    obj["fb"] = conn("fb", ["b", "out"], ["a", "back"])
    with pytest.raises(WorkflowFormatError) as info:
        parse_workflow(obj)
    assert not isinstance(info.value, dag.CycleError)
