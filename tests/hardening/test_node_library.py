"""Issue 11 item 9 and issue 14 item 4: runners report the node library they offer; the server keeps it
per runner, serves the union for a user's runners (GET /api/v1/nodes/library), and publish warns about
node paths that none of the user's runners offers (instead of the run failing later)."""

from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from runners.models import RunnerLibrary
from tests.conftest import make_user, publish
from tests.engine.conftest import ProtocolRunner, add_node, register, workflow_of
from tests.runner.conftest import make_node, plugin_file
from tests.runner.conftest import workflow_of as nc_of


def terminal(name: str, dtype: str = "<class 'float'>", *, is_in=False, out=False, multi=False) -> dict:
    return {"name": name, "dtype": dtype, "in": is_in, "out": out, "multiinput": multi}


ADD = {"path": ["math", "Add"], "source": "builtin", "doc": "Add",
       "terminals": [terminal("input", is_in=True, multi=True), terminal("result", out=True)]}
WORD_COUNT = {"path": ["my nodes", "Word Count"], "source": "plugin", "doc": "",
              "terminals": [terminal("text", "<class 'str'>", is_in=True), terminal("words", "<class 'int'>", out=True)]}


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def report(protocol: ProtocolRunner, *nodes: dict):
    status, answer = protocol.post("library", {"nodes": list(nodes)})
    assert status == 200, answer
    return answer


def strange_node(name: str = "x") -> dict:
    node = add_node(name)
    node["path"] = ["foo", "Bar"]
    return node


@pytest.fixture
def reported(owner):
    runner, token = register(owner, "lib-runner")
    protocol = ProtocolRunner(token, runner_id=runner.pk)
    report(protocol, ADD)
    return runner, protocol


# ---------------------------------------------------------------- publish's warning


def test_publish_warns_about_a_path_no_runner_offers(owner, reported):
    response = publish(client_of(owner), "wf", workflow_of([add_node("a"), strange_node("x")], []))
    assert response.status_code == 201, response.content
    (warning,) = response.json()["warnings"]
    assert warning.startswith("node 'x' uses path 'foo/Bar' that none of your runners offers")
    assert "lib-runner" in warning


def test_publish_of_known_paths_has_no_warning_and_a_new_revision_warns_too(owner, reported):
    client = client_of(owner)
    created = publish(client, "wf", workflow_of([add_node("a"), add_node("b")], []))
    assert created.status_code == 201 and created.json()["warnings"] == []
    revision = client.post(f"/api/v1/workflow/publish/{created.json()['id']}",
                           {"workflow": workflow_of([strange_node("y")], [])}, format="json")
    assert revision.status_code == 201
    assert revision.json()["warnings"][0].startswith("node 'y' uses path 'foo/Bar'")


def test_without_any_reported_library_publish_says_nothing_of_paths(owner):
    register(owner, "old-runner")  # an older runner: never reports
    response = publish(client_of(owner), "wf", workflow_of([strange_node("x")], []))
    assert response.status_code == 201 and response.json()["warnings"] == []


def test_another_users_runner_does_not_count_for_publish(owner, reported):
    other = make_user("other")
    _, token = register(other, "other-runner")
    report(ProtocolRunner(token), ADD, {**WORD_COUNT, "path": ["foo", "Bar"]})
    response = publish(client_of(owner), "wf", workflow_of([strange_node("x")], []))
    assert [w[:40] for w in response.json()["warnings"]] == ["node 'x' uses path 'foo/Bar' that none o"]


def test_many_unknown_nodes_are_summed_up(owner, reported):
    nodes = [strange_node(f"n{i}") for i in range(60)]
    warnings = publish(client_of(owner), "wf", workflow_of(nodes, [])).json()["warnings"]
    assert len(warnings) == 51 and warnings[-1].startswith("... and 10 more nodes")


# ---------------------------------------------------------------- the report and the union


def test_an_unchanged_library_is_not_written_again(reported):
    runner, protocol = reported
    before = RunnerLibrary.objects.get(runner=runner)
    assert report(protocol, ADD) == {"changed": False, "nodes": 1}
    after = RunnerLibrary.objects.get(runner=runner)
    assert after.digest == before.digest and after.reported >= before.reported
    assert report(protocol, ADD, WORD_COUNT) == {"changed": True, "nodes": 2}
    assert RunnerLibrary.objects.get(runner=runner).digest != before.digest


@pytest.mark.parametrize(
    "body",
    [
        {"nodes": [{"path": []}]},
        {"nodes": [{"path": ["a\u0000b", "c"]}]},
        {"nodes": [{"path": ["math", "Add"], "terminals": [{"dtype": "x"}]}]},
        {"nodes": "all of them"},
        {},
    ],
)
def test_a_bad_library_is_400(reported, body):
    _, protocol = reported
    status, answer = protocol.post("library", body)
    assert status == 400, answer
    assert "nodes" in json.dumps(answer)


def test_a_library_past_the_size_limit_is_413(reported, engine_settings):
    engine_settings.RUNNER_LIBRARY_MAX_BYTES = 2000
    _, protocol = reported
    nodes = [{**ADD, "path": ["big", f"Node{i}"]} for i in range(30)]
    status, answer = protocol.post("library", {"nodes": nodes})
    assert status == 413 and "node library" in answer["detail"]


def test_the_library_call_takes_only_runner_tokens(owner):
    response = client_of(owner).post("/api/v1/runners/library", {"nodes": [ADD]}, format="json")
    assert response.status_code in (401, 403)


def test_the_union_of_a_users_runners_and_never_another_users(owner, reported):
    runner, _ = reported
    _, token2 = register(owner, "second")
    report(ProtocolRunner(token2), ADD, WORD_COUNT)
    other = make_user("other")
    _, other_token = register(other, "theirs")
    report(ProtocolRunner(other_token), {**WORD_COUNT, "path": ["secret", "Thing"]})

    mine = client_of(owner).get("/api/v1/nodes/library").json()
    paths = [node["path"] for node in mine["nodes"]]
    assert ["math", "Add"] in paths and ["my nodes", "Word Count"] in paths
    assert ["secret", "Thing"] not in paths
    assert sorted(r["name"] for r in mine["runners"]) == ["lib-runner", "second"]
    add = next(node for node in mine["nodes"] if node["path"] == ["math", "Add"])
    assert add["group"] == "math" and add["name"] == "Add"
    assert add["terminals"] == ADD["terminals"]
    assert len(add["runners"]) == 2

    theirs = client_of(other).get("/api/v1/nodes/library").json()
    assert ["secret", "Thing"] in [node["path"] for node in theirs["nodes"]]
    assert [r["name"] for r in theirs["runners"]] == ["theirs"]
    assert not any(runner.pk in node["runners"] for node in theirs["nodes"])


def test_an_admins_shared_runner_is_in_everyones_union(owner):
    admin = make_user("boss", staff=True)
    _, token = register(admin, "shared", shared_with_all=True)
    report(ProtocolRunner(token), WORD_COUNT)
    paths = [node["path"] for node in client_of(owner).get("/api/v1/nodes/library").json()["nodes"]]
    assert ["my nodes", "Word Count"] in paths


def test_without_an_online_runner_the_built_in_groups_are_the_fallback(owner):
    answer = client_of(owner).get("/api/v1/nodes/library").json()
    assert answer["source"] == "builtin" and answer["runners"] == []
    power = next(node for node in answer["nodes"] if node["path"] == ["math", "Power"])
    assert {t["name"] for t in power["terminals"]} == {"base", "exponent", "result"}
    assert power["online"] is False and power["runners"] == []


def test_the_servers_built_in_copy_is_what_the_runner_reports():
    from nodeworks_runner.library import builtin_library

    from runners.node_library import builtin_nodes

    assert list(builtin_nodes()) == builtin_library()


def test_the_library_endpoint_is_in_the_schema(owner):
    schema = client_of(owner).get("/api/v1/schema?format=json").json()
    assert "/api/v1/nodes/library" in schema["paths"] and "/api/v1/runners/library" in schema["paths"]


# ---------------------------------------------------------------- a real runner process


PLUGIN = '''
from nodeworks import Node

NAME = "lib test nodes"


def returnNodes():
    return [Shout]


class Shout(Node):
    name = "Shout"

    def __init__(self, parent=None):
        self.terminalOpts = {
            "text": {"in": True, "dtype": str, "multiinput": True},
            "loud": {"out": True, "dtype": str},
        }
        Node.__init__(self, parent)

    def process(self):
        self.terminals["loud"].value = str(self.terminals["text"].value).upper()
'''


def wait_library(api, predicate, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    answer = {}
    while time.monotonic() < deadline:
        answer = api.get("/api/v1/nodes/library")
        if predicate(answer):
            return answer
        time.sleep(0.2)
    raise AssertionError(f"library not as expected after {timeout}s: {json.dumps(answer)[:2000]}")


@pytest.mark.slow
def test_a_real_runner_reports_its_library_and_publish_uses_it(start_runner, user_api, make_api_user, tmp_path):
    folder = tmp_path / "plugins"
    plugin_file(folder, "shout.py", PLUGIN)
    start_runner("r-library", extra_args=("--node-path", str(folder)))
    answer = wait_library(user_api, lambda a: a["source"] == "runners")
    nodes = {"/".join(node["path"]): node for node in answer["nodes"]}
    assert nodes["math/Add"]["terminals"] == [
        {"name": "input", "dtype": "<class 'float'>", "in": True, "out": False, "multiinput": True},
        {"name": "result", "dtype": "<class 'float'>", "in": False, "out": True, "multiinput": False},
    ]
    assert nodes["math/Add"]["online"] is True
    shout = nodes["lib test nodes/Shout"]
    assert shout["source"] == "plugin"
    assert shout["terminals"] == [
        {"name": "text", "dtype": "<class 'str'>", "in": True, "out": False, "multiinput": True},
        {"name": "loud", "dtype": "<class 'str'>", "in": False, "out": True, "multiinput": False},
    ]
    assert [runner["name"] for runner in answer["runners"]] == ["r-library"]

    known = make_node("s", ["lib test nodes", "Shout"], inputs={"text": "hi"}, outputs=("loud",))
    unknown = make_node("u", ["lib test nodes", "Whisper"], inputs={"text": "hi"}, outputs=("quiet",))
    assert user_api.post("/api/v1/workflow/publish", {"name": "ok", "workflow": nc_of(known)})["warnings"] == []
    warned = user_api.post("/api/v1/workflow/publish", {"name": "warned", "workflow": nc_of(known, unknown)})
    assert warned["warnings"] == [
        "node 'u' uses path 'lib test nodes/Whisper' that none of your runners offers "
        "(runners that reported their node library: r-library)"
    ]

    stranger = make_api_user("stranger")
    theirs = stranger.get("/api/v1/nodes/library")
    assert theirs["runners"] == [] and theirs["source"] == "builtin"
    assert "lib test nodes/Shout" not in {"/".join(node["path"]) for node in theirs["nodes"]}


# ---------------------------------------------------------------- the runner's reporter


class FakeClient:
    def __init__(self, error=None):
        self.sent: list[dict] = []
        self.error = error

    def post(self, path, body, **kwargs):
        assert path == "/api/v1/runners/library"
        self.sent.append(body)
        if self.error is not None:
            raise self.error
        return {"changed": True, "nodes": len(body["nodes"])}


def test_the_reporter_sends_once_per_change_and_stops_on_a_server_without_the_call(tmp_path):
    from nodeworks_runner.http import ClientError
    from nodeworks_runner.library import LibraryReporter
    from nodeworks_runner.nodes import plugins

    plugins.reset_cache()
    client = FakeClient()
    reporter = LibraryReporter(client, [str(tmp_path)])
    assert reporter.report_if_changed() and reporter.report_if_changed()
    assert len(client.sent) == 1
    assert ["math", "Add"] in [node["path"] for node in client.sent[0]["nodes"]]
    plugin_file(tmp_path, "shout.py", PLUGIN)  # a plug-in dropped in: the library changed
    assert reporter.report_if_changed()
    assert len(client.sent) == 2 and ["lib test nodes", "Shout"] in [n["path"] for n in client.sent[1]["nodes"]]

    old_server = FakeClient(ClientError("404", 404))
    assert LibraryReporter(old_server, []).report_if_changed() is False  # never asked again
    plugins.reset_cache()
