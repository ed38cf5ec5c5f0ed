"""Plain pytest (no Django): the DAG solver's ordering, levels and critical path."""

import itertools
import json
import random

import pytest

from workflows import dag


def assert_respects(order: list[str], edges) -> None:
    position = {name: i for i, name in enumerate(order)}
    for source, destination in edges:
        assert position[source] < position[destination], (source, destination)


def test_diamond():
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    plan = dag.plan(["a", "b", "c", "d"], edges)
    assert plan.order == ["a", "b", "c", "d"]
    assert plan.levels == [["a"], ["b", "c"], ["d"]]
    assert plan.critical_path == {"a": 3, "b": 2, "c": 2, "d": 1}


def test_order_breaks_ties_by_input_order_and_respects_edges():
    nodes = ["z", "y", "x", "w"]
    edges = [("x", "z"), ("w", "y")]
    plan = dag.plan(nodes, edges)
    assert_respects(plan.order, edges)
    # x is the first ready node given, and it frees z, which comes before w in input.
    assert plan.order == ["x", "z", "w", "y"]
    assert plan.levels == [["x", "w"], ["z", "y"]]


def test_chain_given_backwards():
    nodes = ["c", "b", "a"]
    plan = dag.plan(nodes, [("a", "b"), ("b", "c")])
    assert plan.order == ["a", "b", "c"]
    assert plan.levels == [["a"], ["b"], ["c"]]
    assert plan.critical_path == {"a": 3, "b": 2, "c": 1}


def test_fan_out_and_in():
    middle = [f"m{i}" for i in range(100)]
    edges = [("src", m) for m in middle] + [(m, "sink") for m in middle]
    plan = dag.plan(["src", *middle, "sink"], edges)
    assert plan.order == ["src", *middle, "sink"]
    assert plan.levels == [["src"], middle, ["sink"]]
    assert plan.critical_path["src"] == 3
    assert all(plan.critical_path[m] == 2 for m in middle)
    assert plan.critical_path["sink"] == 1


def test_weights_drive_critical_path():
    edges = [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    plan = dag.plan("abcd", edges, weights={"b": 10, "c": 0.5})
    assert plan.critical_path == {"a": 12.0, "b": 11.0, "c": 1.5, "d": 1.0}


def test_unconnected_nodes_are_planned():
    plan = dag.plan(["lonely", "a", "b", "other"], [("a", "b")])
    assert plan.order == ["lonely", "a", "b", "other"]
    assert plan.levels == [["lonely", "a", "other"], ["b"]]
    assert plan.critical_path == {"lonely": 1, "a": 2, "b": 1, "other": 1}


def test_empty():
    plan = dag.plan([], [])
    assert plan.as_dict() == {"order": [], "levels": [], "critical_path": {}}


def test_duplicate_edges_count_once():
    edges = [("a", "b"), ("a", "b"), ("b", "c"), ("b", "c")]
    plan = dag.plan(["a", "b", "c"], edges)
    assert plan.order == ["a", "b", "c"]
    assert plan.levels == [["a"], ["b"], ["c"]]
    assert plan.critical_path == {"a": 3, "b": 2, "c": 1}


def test_as_dict_is_json_ready():
    plan = dag.plan(["a", "b"], [("a", "b")])
    assert json.loads(json.dumps(plan.as_dict())) == {
        "order": ["a", "b"],
        "levels": [["a"], ["b"]],
        "critical_path": {"a": 2.0, "b": 1.0},
    }


def test_unknown_node_in_edge():
    with pytest.raises((KeyError, ValueError)):
        dag.plan(["a"], [("a", "ghost")])


def assert_real_cycle(cycle: list[str], edges) -> None:
    assert len(cycle) >= 2
    assert cycle[0] == cycle[-1]
    edge_set = set(edges)
    for pair in itertools.pairwise(cycle):
        assert pair in edge_set, pair


def test_cycle_is_reported():
    edges = [("start", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "end")]
    with pytest.raises(dag.CycleError) as info:
        dag.plan(["start", "a", "b", "c", "end", "free"], edges)
    cycle = info.value.cycle
    assert_real_cycle(cycle, edges)
    assert set(cycle) == {"a", "b", "c"}
    assert str(info.value) == "cycle: " + " -> ".join(cycle)
    assert isinstance(info.value, ValueError)


def test_self_loop_is_a_cycle():
    with pytest.raises(dag.CycleError) as info:
        dag.plan(["a", "b"], [("a", "b"), ("b", "b")])
    assert info.value.cycle == ["b", "b"]


def test_long_cycle_behind_a_long_chain():
    n = 20_000
    nodes = [f"n{i}" for i in range(n)]
    edges = [(nodes[i], nodes[i + 1]) for i in range(n - 1)] + [(nodes[-1], nodes[5])]
    with pytest.raises(dag.CycleError) as info:
        dag.plan(nodes, edges)
    assert_real_cycle(info.value.cycle, edges)
    assert len(info.value.cycle) == n - 5 + 1


def test_large_chain_and_random_dag_plan_correctly():
    n = 50_000
    chain = [f"c{i}" for i in range(n)]
    chain_edges = [(chain[i], chain[i + 1]) for i in range(n - 1)]

    rng = random.Random(42)
    nodes = [f"r{i}" for i in range(n)]
    # Edges always go from a lower to a higher index, so the graph is acyclic.
    dag_edges = []
    for _ in range(100_000):
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            dag_edges.append((nodes[min(a, b)], nodes[max(a, b)]))
    shuffled = nodes[:]
    rng.shuffle(shuffled)

    # The recursion-free algorithms must get through 50,000 levels; how fast they do is measured by
    # bench/dag_plan.py, not here (a wall-clock bound failed on a loaded 2-core machine).
    chain_plan = dag.plan(reversed(chain), chain_edges)
    random_plan = dag.plan(shuffled, dag_edges)

    assert chain_plan.order == chain
    assert len(chain_plan.levels) == n
    assert chain_plan.critical_path["c0"] == n
    assert chain_plan.critical_path[chain[-1]] == 1

    assert sorted(random_plan.order) == sorted(nodes)
    assert_respects(random_plan.order, dag_edges)
    # Check levels and critical path against their definitions.
    level_of = {name: i for i, level in enumerate(random_plan.levels) for name in level}
    parent_level: dict[str, int] = {}
    child_path: dict[str, float] = {}
    cp = random_plan.critical_path
    for a, b in dag_edges:
        parent_level[b] = max(parent_level.get(b, -1), level_of[a])
        child_path[a] = max(child_path.get(a, 0), cp[b])
    assert all(level_of[name] == parent_level.get(name, -1) + 1 for name in nodes)
    assert all(cp[name] == 1 + child_path.get(name, 0) for name in nodes)


def test_closure_follows_parents_and_children_that_pass_their_filters():
    # a -> b -> c -> d, and e -> c
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("e", "c")]
    broken = {"b", "d"}
    found = dag.closure(edges, ["c"], up=lambda n: n in broken, down=lambda n: n in broken)
    assert found == {"c", "b", "d"}  # a and e do not pass `up`


def test_closure_of_a_deep_chain_does_not_recurse():
    edges = [(i, i + 1) for i in range(50_000)]
    assert len(dag.closure(edges, [50_000], up=lambda n: True, down=lambda n: False)) == 50_001
