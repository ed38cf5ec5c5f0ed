"""Diamond, chain, fan-out 1→100→1 and unconnected nodes, driven by a runner speaking the HTTP protocol.

Each task's inputs must be computed from its parents' reported outputs (multiinput lists in connection
file order, unconnected inputs keeping their saved value), never from the junk saved in the file, and
no task may reach a runner before all its parents succeeded.
"""

import threading

import pytest

from tests.engine.conftest import (
    ProtocolRunner,
    Trace,
    chain,
    diamond,
    expected_values,
    fan_out,
    graph_parents,
    register,
    start_run,
    tasks_by_node,
    unconnected,
)
from workflows.models import Run, Task, TaskDependency

pytestmark = pytest.mark.usefixtures("engine_settings")


def assert_execution(workflow: dict, run, trace: Trace) -> None:
    expected = expected_values(workflow)
    parents = graph_parents(workflow)
    seen = [r.node for r in trace.received]
    assert sorted(seen) == sorted(expected), "every node runs exactly once"
    for received in trace.received:
        assert received.attempt == 1
        assert received.inputs == expected[received.node]["inputs"], received.node
        for parent in parents[received.node]:
            assert parent in trace.accepted and trace.accepted[parent] < received.seq, (
                f"{received.node} reached the runner before its parent {parent} succeeded"
            )
    run.refresh_from_db()
    assert run.state == "succeeded"
    assert run.started is not None and run.finished is not None
    tasks = tasks_by_node(run)
    for name, values in expected.items():
        assert tasks[name].state == "succeeded"
        assert tasks[name].outputs == values["outputs"]
    assert_db_order(run)


def assert_db_order(run) -> None:
    """Independent of the runner's own bookkeeping: no child was leased before a parent finished."""
    tasks = {t.pk: t for t in Task.objects.filter(run=run)}
    for parent_id, child_id in TaskDependency.objects.filter(run=run).values_list("parent_id", "child_id"):
        parent, child = tasks[parent_id], tasks[child_id]
        assert parent.finished is not None and child.leased_at is not None
        assert child.leased_at >= parent.finished, f"{child.node} leased before {parent.node} finished"


BUILDERS = {"diamond": diamond, "chain": chain, "fan_out": fan_out, "unconnected": unconnected}


@pytest.mark.django_db
@pytest.mark.parametrize("max_tasks", [1, 10])
@pytest.mark.parametrize("shape", list(BUILDERS))
def test_runs_in_order_with_upstream_values(owner, owner_runner, shape, max_tasks):
    workflow = BUILDERS[shape]()
    run = start_run(owner, workflow, name=shape)
    _, client = owner_runner
    trace = client.drive(run.pk, max_tasks=max_tasks)
    assert_execution(workflow, run, trace)


@pytest.mark.django_db
def test_multiinput_order_survives_the_database(owner, owner_runner):
    """The fan-in node receives its 100 values in the shuffled file order of its connections."""
    workflow = fan_out(100)
    run = start_run(owner, workflow)
    _, client = owner_runner
    trace = client.drive(run.pk, max_tasks=5)
    sink = next(r for r in trace.received if r.node == "sink")
    file_order = [obj["input"][0] for obj in workflow.values() if obj["type"] == "Connection" and obj["output"][0] == "sink"]
    assert file_order != sorted(file_order), "the test needs a shuffled order"
    outputs = {name: t.outputs["out"] for name, t in tasks_by_node(run).items()}
    assert sink.inputs["a"] == [outputs[name] for name in file_order]


@pytest.mark.django_db
def test_chain_follows_next(owner, owner_runner):
    """A chain runs on one runner through `next`: after the first lease, every successor comes with the result."""
    workflow = chain(8)
    run = start_run(owner, workflow)
    _, client = owner_runner
    trace = client.drive(run.pk)
    assert [r.via for r in trace.received] == ["lease"] + ["next"] * 7
    assert [r.node for r in trace.received] == [f"c{i}" for i in range(8)]


@pytest.mark.django_db
def test_fan_out_releases_children_once(owner, owner_runner):
    """The source's result releases all 100 children at once (one comes back in `next`), the sink last."""
    workflow = fan_out(100)
    run = start_run(owner, workflow)
    tasks = tasks_by_node(run)
    assert tasks["src"].state == "queued"
    assert all(tasks[f"m{i:03d}"].state == "pending" and tasks[f"m{i:03d}"].pending_parents == 1 for i in range(100))
    assert tasks["sink"].pending_parents == 100
    _, client = owner_runner
    [src] = client.lease(max_tasks=10)
    assert src["node"]["uniquename"] == "src"
    status, answer = client.result(src["lease_id"], "succeeded", {"out": 2})
    assert status == 200 and answer["results"][0]["accepted"]
    assert len(answer["next"]) == 1
    states = {t.node: t.state for t in Task.objects.filter(run=run)}
    assert sum(1 for i in range(100) if states[f"m{i:03d}"] == "queued") == 99
    assert states["sink"] == "pending"


@pytest.mark.django_db(transaction=True)
def test_fan_out_with_four_concurrent_runners_over_live_http(live_server, owner):
    """Four runner threads over real HTTP share one fan-out run: each task once, in order, right values."""
    workflow = fan_out(100)
    run = start_run(owner, workflow)
    clients = [ProtocolRunner(register(owner, f"r{i}")[1], base_url=live_server.url) for i in range(4)]
    traces = [Trace() for _ in clients]
    errors = []

    def work(client, trace):
        try:
            client.drive(run.pk, trace=trace, max_tasks=3, heartbeat=False)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
        finally:
            from django.db import connections

            connections.close_all()

    threads = [threading.Thread(target=work, args=pair) for pair in zip(clients, traces, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    received = [r for trace in traces for r in trace.received]
    assert sorted(r.node for r in received) == sorted(expected_values(workflow))
    expected = expected_values(workflow)
    for r in received:
        assert r.inputs == expected[r.node]["inputs"], r.node
    assert Run.objects.get(pk=run.pk).state == "succeeded"
    assert_db_order(run)
    assert sum(1 for trace in traces if trace.received) >= 2, "the work was shared"


@pytest.mark.django_db
def test_longest_remaining_critical_path_goes_first(owner, owner_runner):
    from tests.engine.conftest import add_node, connection, workflow_of

    workflow = workflow_of(
        [
            add_node("single1", a=1),
            add_node("single2", a=1),
            add_node("head", a=1),
            add_node("mid", a=[0]),
            add_node("tail", a=[0]),
            add_node("short", a=1),
            add_node("short_child", a=[0]),
        ],
        [connection("head", "mid"), connection("mid", "tail"), connection("short", "short_child")],
    )
    run = start_run(owner, workflow)
    assert run.started is None
    _, client = owner_runner
    order = [t["node"]["uniquename"] for t in client.lease(max_tasks=10)]
    assert order == ["head", "short", "single1", "single2"]
    run.refresh_from_db()
    assert run.started is not None, "the first lease starts the run"


@pytest.mark.django_db
def test_last_finished_successors_come_first(owner, owner_runner):
    """Chain affinity through `last_finished`: the successor of what this runner finished beats higher priorities."""
    from tests.engine.conftest import add_node, connection, workflow_of

    workflow = workflow_of(
        [
            add_node("p", a=1),
            add_node("p_child", a=[0]),
            add_node("long1", a=1),
            add_node("long2", a=[0]),
            add_node("long3", a=[0]),
        ],
        [connection("p", "p_child"), connection("long1", "long2"), connection("long2", "long3")],
    )
    start_run(owner, workflow)
    _, client = owner_runner
    leased = client.lease(max_tasks=2)
    assert [t["node"]["uniquename"] for t in leased] == ["long1", "p"]
    p = leased[1]
    status, answer = client.result(p["lease_id"], "succeeded", {"out": 2})
    assert status == 200
    [child] = answer["next"]
    assert child["node"]["uniquename"] == "p_child"
    # Both successors come in `next`; put them back in the queue, as if this runner had not taken them.
    Task.objects.filter(pk=child["task_id"]).update(state="queued", lease_id=None, runner=None)
    _, answer = client.result(leased[0]["lease_id"], "succeeded", {"out": 2})
    [long2] = answer["next"]
    Task.objects.filter(pk=long2["task_id"]).update(state="queued", lease_id=None, runner=None)
    # long2 has the longer remaining critical path, but p_child follows what this runner just finished.
    [first] = client.lease(max_tasks=1, last_finished=[p["task_id"]])
    assert first["node"]["uniquename"] == "p_child"
    [second] = client.lease(max_tasks=1)
    assert second["node"]["uniquename"] == "long2"
