"""The fast paths of publish and execute (docs/bench-notes/ingest.md) keep what the slow ones did:
the stored file byte for byte, the same 400s, the same task rows, on both databases."""

import gc
import json
import random

import pytest

from nodeworks_server.gc_pause import gc_paused
from nodeworks_server.json_limits import _decoded_depth_ok, json_depth_ok, loads_limited
from tests.conftest import publish
from workflows import git_store, selectors
from workflows.documents import WORKFLOW_FILE, document_from_bytes, document_from_object
from workflows.models import Task, TaskDependency

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def node(name: str, value=1, *, has_input: bool = False, **extra) -> dict:
    terminals = {"a" if has_input else "v": {"value": value, "opts": {"in": True}}, "o": {"value": None, "opts": {"out": True}}}
    return {"type": "Node", "name": name, "uniquename": name, "path": ["math", "Add"], "terminals": terminals, **extra}


def link(name: str, source: str, destination: str) -> dict:
    return {"type": "Connection", "uniquename": name, "input": [source, "o"], "output": [destination, "a"]}


def stored_as_json_dumps(obj) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


TRICKY_VALUES = [
    0.5, 1.0, -0.0, 320.0, 1e16, 1e22, 1.5e300, 1e-4, 0.00012, 1e-5, 1.5e-7, 5e-324, -2.2250738585072014e-308,
    2**63 - 1, -(2**63), 2**64, 10**30, -(10**40),
    "", "é ü 中文 \U0001f600", "tab\tnew\nline\r", "\x01\x1f\x7f", "quote \" back \\ slash", "\u2028\u2029",
    "looks like a float: 1e-5, 0.00001", "[{,}]", True, False, None, [], {}, [[[]]], {"k": {"k": {}}},
]


@pytest.mark.parametrize("value", TRICKY_VALUES, ids=repr)
def test_a_json_body_is_stored_byte_for_byte_as_json_dumps_indent_2(value):
    obj = {"x": node("x", value, pos=[1.5, -2e-9], extra={"nested": [value, {"v": value}]})}
    decoded = json.loads(json.dumps(obj))  # as the API's parser hands it over
    assert document_from_object(decoded, depth_checked=True).content == stored_as_json_dumps(decoded)


def test_random_documents_are_stored_byte_for_byte():
    from workflows.input_digest import _canonical, _canonical_bytes

    rng = random.Random(12)
    scalars = [lambda: rng.uniform(-1e6, 1e6), lambda: rng.random() * 10 ** rng.randrange(-12, 25),
               lambda: rng.randrange(-(2**70), 2**70), lambda: "".join(chr(rng.randrange(1, 0x3000)) for _ in range(5)),
               lambda: rng.choice([True, False, None])]

    def value(depth: int):
        kind = rng.random()
        if depth > 5 or kind < 0.5:
            return rng.choice(scalars)()
        if kind < 0.75:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {f"k{i}": value(depth + 1) for i in range(rng.randrange(4))}

    for _ in range(200):
        obj = json.loads(json.dumps({"x": node("x", value(0), custom=value(0))}))
        assert document_from_object(obj, depth_checked=True).content == stored_as_json_dumps(obj)
        assert _canonical_bytes(obj) == _canonical(obj).encode("utf-8")  # the reuse digest's text


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ('"a\\u0000b"', "NUL"),
        ('"\\ud800"', "lone surrogate"),
        ('"\\uDFFF x"', "lone surrogate"),
    ],
)
def test_unstorable_text_is_still_refused_on_both_ways_in(text, detail):
    raw = ('{"x": ' + json.dumps(node("x")).replace('"value": 1', f'"value": {text}') + "}").encode()
    for make in (lambda: document_from_bytes(raw), lambda: document_from_object(loads_limited(raw), depth_checked=True)):
        with pytest.raises(ValueError, match=detail) as caught:
            make()
        assert "node 'x', terminal 'v'" in str(caught.value)


def test_text_that_only_looks_unstorable_is_published():
    # An escaped backslash before "u0000", and a surrogate pair: both storable.
    raw = ('{"x": ' + json.dumps(node("x", "\\u0000 \U0001f600"), ensure_ascii=True) + "}").encode()
    assert "\\u0000" in raw.decode() and "\\ud83d" in raw.decode()
    assert document_from_bytes(raw).graph.nodes["x"]["terminals"]["v"]["value"] == "\\u0000 \U0001f600"
    document = document_from_object(loads_limited(raw), depth_checked=True)
    assert document.content == stored_as_json_dumps(loads_limited(raw))


def test_the_depth_check_of_a_decoded_body_agrees_with_the_walk():
    rng = random.Random(3)

    def value(depth: int):
        kind = rng.random()
        if depth > 10 or kind < 0.3:
            return rng.choice([1, "s", None, 1.5, True])
        if kind < 0.55:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {f"k{i}": value(depth + 1) for i in range(rng.randrange(4))}

    for _ in range(3000):
        decoded = json.loads(json.dumps(value(0)))
        for limit in range(12):
            assert _decoded_depth_ok(decoded, limit) == json_depth_ok(decoded, limit)
    assert _decoded_depth_ok(json.loads("[" * 64 + "]" * 64), 64)
    assert not _decoded_depth_ok(json.loads("[" * 65 + "]" * 65), 64)
    assert not _decoded_depth_ok(json.loads('{"a":' * 64 + '{"leaf": 1}' + "}" * 64), 64)


def test_gc_pauses_nest_and_the_last_one_out_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # off before: stays off
    finally:
        gc.enable()


@pytest.mark.django_db  # request_finished also closes old database connections
def test_a_large_pause_owes_a_full_collection_paid_when_a_request_finishes(monkeypatch):
    from django.core.signals import request_finished

    from nodeworks_server import gc_pause

    collections = []
    monkeypatch.setattr(gc_pause.gc, "collect", lambda *args: collections.append(args) or 0)
    monkeypatch.setattr(gc_pause, "LARGE_PAUSE_OBJECTS", 1_000)
    with gc_paused():
        kept = [[] for _ in range(100)]  # too few: nothing owed
    request_finished.send(sender=None)
    assert collections == []
    with gc_paused():
        kept = [[] for _ in range(5_000)]
        request_finished.send(sender=None)  # another request, while the pause runs: not yet
    assert collections == []
    request_finished.send(sender=None)
    request_finished.send(sender=None)
    assert len(collections) == 1 and len(kept) == 5_000


# ---------------------------------------------------------------- execute


def workflow_with_awkward_names() -> dict:
    names = ["plain", "tab\there", "new\nline", "back\\slash", "cr\rhere", "uni é 中", "\\N"]
    obj = {}
    for i, name in enumerate(names):
        obj[name] = node(name, f"value with \\ and \t and \"{i}\"", has_input=i > 0)
        if i:
            obj[f"c{i}"] = link(f"c{i}", names[i - 1], name)
    return obj


@pytest.mark.django_db
def test_execute_stores_each_task_as_the_file_says(alice_client):
    obj = workflow_with_awkward_names()
    response = publish(alice_client, "awkward", obj)
    assert response.status_code == 201, response.content
    workflow_id = response.json()["id"]
    response = alice_client.post(f"/api/v1/workflow/execute/{workflow_id}", {}, format="json")
    assert response.status_code == 201, response.content
    run_id = response.json()["run"]["id"]
    tasks = {task.node: task for task in Task.objects.filter(run_id=run_id)}
    nodes = [key for key, value in obj.items() if value["type"] == "Node"]
    assert sorted(tasks) == sorted(nodes)
    for name in nodes:
        task = tasks[name]
        assert task.node_data == obj[name]
        assert task.path == ["math", "Add"]
        assert (task.state, task.pending_parents, task.queued_at is not None) == (
            ("queued", 0, True) if name == "plain" else ("pending", 1, False)
        )
        assert (task.attempt, task.failures, task.lost_leases, task.cancel_requested, task.error) == (1, 0, 0, False, "")
        assert task.requirements["executor"] == "local"
    pairs = set(TaskDependency.objects.filter(run_id=run_id).values_list("parent__node", "child__node"))
    assert pairs == {(nodes[i - 1], nodes[i]) for i in range(1, len(nodes))}
    assert tasks["tab\there"].input_sources == {"a": [["plain", "o", False]]}


@pytest.mark.django_db
def test_execute_after_publish_does_not_read_the_file_again_and_another_process_does(alice_client, monkeypatch):
    obj = {f"n{i}": node(f"n{i}") for i in range(3)}
    response = publish(alice_client, "cached", obj)
    workflow_id = response.json()["id"]
    reads = []
    read_file = git_store.read_file
    monkeypatch.setattr(git_store, "read_file", lambda **kw: reads.append(kw["name"]) or read_file(**kw))

    for _ in range(2):
        assert alice_client.post(f"/api/v1/workflow/execute/{workflow_id}", {}, format="json").status_code == 201
        assert alice_client.get(f"/api/v1/workflow/plan/{workflow_id}").status_code == 200
    assert WORKFLOW_FILE not in reads

    selectors.graph_cache.clear()  # a graph too large to keep: its plan is kept apart
    assert alice_client.get(f"/api/v1/workflow/plan/{workflow_id}").json()["order"] == ["n0", "n1", "n2"]
    assert WORKFLOW_FILE not in reads

    selectors.graph_cache.clear()  # as a server process that did not serve the publish
    selectors.plan_cache.clear()
    response = alice_client.post(f"/api/v1/workflow/execute/{workflow_id}", {}, format="json")
    assert response.status_code == 201
    assert reads.count(WORKFLOW_FILE) == 1
    assert Task.objects.filter(run_id=response.json()["run"]["id"]).count() == 3


def test_the_revision_caches_keep_what_fits_their_bound():
    cache = type(selectors.graph_cache)(max_weight=100)
    graphs = [object() for _ in range(4)]
    cache.put(("r", "a"), graphs[0], 40)
    cache.put(("r", "b"), graphs[1], 40)
    assert cache.get(("r", "a")) is graphs[0]  # now the most recent
    cache.put(("r", "c"), graphs[2], 40)  # 120 > 100: the least recent (b) goes
    assert cache.get(("r", "b")) is None
    assert cache.get(("r", "a")) is graphs[0] and cache.get(("r", "c")) is graphs[2]
    cache.put(("r", "d"), graphs[3], 101)  # larger than the whole bound: not kept, nothing evicted
    assert cache.get(("r", "d")) is None and cache.get(("r", "a")) is graphs[0]


@pytest.mark.django_db
def test_no_reuse_lookup_before_the_workflows_first_success(alice_client, monkeypatch):
    from workflows.lifecycle import reuse

    calls = []
    monkeypatch.setattr(reuse, "_reuse_ready", lambda **kw: calls.append(kw) or {"reused": [], "released": []})
    workflow_id = publish(alice_client, "fresh", {"n": node("n")}).json()["id"]
    assert alice_client.post(f"/api/v1/workflow/execute/{workflow_id}", {}, format="json").status_code == 201
    assert calls == []
    Task.objects.filter(run__workflow_id=workflow_id).update(state="succeeded")
    assert alice_client.post(f"/api/v1/workflow/execute/{workflow_id}", {}, format="json").status_code == 201
    assert len(calls) == 1


@pytest.mark.parametrize(
    "value", [*TRICKY_VALUES, "\ud800 lone", {"b": 1, "a": {"d": [1e-7], "c": None}}, {"é": 1, "z": 2, "E": 3}]
)
def test_the_digests_canonical_text_is_json_dumps_byte_for_byte(value):
    from workflows.input_digest import _canonical, _canonical_bytes

    recipe = {"recipe": 1, "path": ["types", "Integer"], "inputs": {"a": value}, "emitted": {"v": [value, "<class 'int'>"]}}
    assert _canonical_bytes(recipe) == _canonical(recipe).encode("utf-8", "surrogatepass")


@pytest.mark.django_db
def test_a_published_body_is_let_go_without_the_cyclic_collector(alice_client):
    obj = {"marker_n0": node("marker_n0"), "marker_n1": node("marker_n1", has_input=True),
           "marker_c1": link("marker_c1", "marker_n0", "marker_n1")}
    gc.disable()  # what is left now waits for a collection (DRF's request and view are a cycle)
    try:
        assert publish(alice_client, "let go", obj).status_code == 201
        bodies = [o for o in gc.get_objects() if type(o) is dict and "marker_c1" in o and "marker_n0" in o]
    finally:
        gc.enable()
    assert bodies == [obj]  # only this test's own
