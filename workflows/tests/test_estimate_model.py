"""The estimate model alone: durations from samples, and the forward pass over the DAG (no database)."""

import pytest

from workflows.estimate_model import DONE, NEVER, RUNNING, Duration, Node, Runner, duration, quantile, remaining, simulate

KIND = ((), "local")


def fits(kind, runner: Runner) -> bool:
    tags, executor = kind
    return executor in runner.executors and set(tags) <= set(runner.tags)


def runner(key="r1", slots=1, tags=(), executors=("local",)) -> Runner:
    return Runner(key=key, tags=tuple(tags), executors=tuple(executors), slots=slots)


def nodes(**durations) -> list[Node]:
    return [Node(name=name, duration=seconds, kind=KIND) for name, seconds in durations.items()]


def test_quantiles_interpolate_like_numpy():
    assert quantile([1.0], 0.9) == 1.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([float(i) for i in range(1, 11)], 0.9) == pytest.approx(9.1)
    with pytest.raises(ValueError):
        quantile([], 0.5)


def test_duration_takes_the_most_specific_level_with_samples():
    assert duration([("exact", []), ("path", [3.0, 1.0, 2.0]), ("group", [9.0])], 5.0) == Duration(2.0, 2.8, 3, "path")
    assert duration([("exact", [4.0]), ("path", [1.0])], 5.0) == Duration(4.0, 4.0, 1, "exact")
    assert duration([("exact", []), ("path", []), ("group", [])], 5.0) == Duration(5.0, 5.0, 0, "default")


def test_remaining_of_a_running_task_never_drops_below_the_floor():
    assert remaining(10.0, 4.0, 0.1) == 6.0
    assert remaining(10.0, 12.0, 0.1) == 0.1


def test_a_chain_adds_up_and_is_the_critical_path():
    schedule = simulate(nodes(a=1.0, b=2.0, c=0.5), [("a", "b"), ("b", "c")], [runner(slots=4)], fits)
    assert schedule.start == {"a": 0.0, "b": 1.0, "c": 3.0}
    assert schedule.end == 3.5
    assert schedule.critical_path == ["a", "b", "c"]


def test_a_fan_out_is_limited_by_the_slots():
    graph = nodes(src=1.0, **{f"w{i}": 2.0 for i in range(4)}, sink=1.0)
    edges = [("src", f"w{i}") for i in range(4)] + [(f"w{i}", "sink") for i in range(4)]
    assert simulate(graph, edges, [runner(slots=1)], fits).end == 1 + 4 * 2 + 1
    assert simulate(graph, edges, [runner(slots=2)], fits).end == 1 + 2 * 2 + 1
    assert simulate(graph, edges, [runner("a", slots=2), runner("b", slots=2)], fits).end == 1 + 2 + 1
    assert simulate(graph, edges, [runner(slots=100)], fits).end == 1 + 2 + 1


def test_the_longest_remaining_path_goes_first_among_ready_nodes():
    graph = [
        Node("short", 1.0, KIND, priority=1.0),
        Node("long", 1.0, KIND, priority=2.0),
        Node("after", 5.0, KIND, priority=1.0),
    ]
    schedule = simulate(graph, [("long", "after")], [runner(slots=1)], fits)
    assert schedule.start["long"] == 0.0 and schedule.start["short"] == 1.0
    assert schedule.end == 7.0  # long, then short and after share one slot: 1 + 1 + 5


def test_only_fitting_runners_take_a_node_and_a_node_nobody_fits_has_no_estimate():
    gpu = ((("gpu",), "local"))
    graph = [Node("plain", 1.0, KIND), Node("heavy", 3.0, gpu), Node("after", 1.0, KIND)]
    runners = [runner("cpu", slots=1), runner("gpu-box", slots=1, tags=("gpu",))]
    schedule = simulate(graph, [("heavy", "after")], runners, fits)
    assert schedule.start["heavy"] == 0.0 and schedule.start["plain"] == 0.0  # each on its own runner
    assert schedule.end == 4.0
    alone = simulate(graph, [("heavy", "after")], [runner("cpu", slots=4)], fits)
    assert alone.start["heavy"] is None and alone.start["after"] is None and alone.start["plain"] == 0.0
    assert alone.end is None and alone.unplaced == 2


def test_running_and_done_tasks_and_the_queue_ahead_take_their_time():
    graph = [
        Node("done", 5.0, KIND, state=DONE),
        Node("running", 0.5, KIND, state=RUNNING, runner="r1"),
        Node("next", 1.0, KIND),
    ]
    # One slot: the running task holds it for what remains, then "next" (its parent "done" is over).
    schedule = simulate(graph, [("done", "next")], [runner(slots=1)], fits)
    assert schedule.start == {"done": 0.0, "running": 0.0, "next": 0.5}
    assert schedule.end == 1.5
    # Two tasks of another run queued ahead take the slot first.
    ahead = [Node(("ahead", 0), 2.0, KIND), Node(("ahead", 1), 2.0, KIND)]
    assert simulate(graph, [("done", "next")], [runner(slots=1)], fits, ahead=ahead).start["next"] == 4.5


def test_a_failed_task_never_finishes_and_its_descendants_are_not_counted():
    graph = [Node("failed", 1.0, KIND, state=NEVER), Node("child", 1.0, KIND, state=NEVER), Node("other", 2.0, KIND)]
    schedule = simulate(graph, [("failed", "child")], [runner(slots=1)], fits)
    assert schedule.start["child"] is None and schedule.end == 2.0 and schedule.unplaced == 0


def test_five_thousand_nodes_in_one_pass():
    # A 50 x 100 lattice of chains joined level to level: correctness at size (timing is in bench/estimate.py).
    graph, edges = [], []
    for level in range(100):
        for i in range(50):
            graph.append(Node(f"n{level}.{i}", 1.0, KIND, priority=100 - level))
            if level:
                edges.append((f"n{level - 1}.{i}", f"n{level}.{i}"))
                edges.append((f"n{level - 1}.{(i + 1) % 50}", f"n{level}.{i}"))
    schedule = simulate(graph, edges, [runner("a", slots=25), runner("b", slots=25)], fits)
    assert schedule.end == 100.0
    assert len(schedule.critical_path) == 100


def test_the_model_and_the_digest_import_nothing_from_django():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; import workflows.estimate_model, workflows.input_digest; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
