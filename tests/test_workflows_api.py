"""Publishing, getting, planning, revisions, requirements, deletion and isolation of workflows."""

import copy
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.conftest import FIXTURE_NAMES, SAMPLE_NAMES, make_user, nc_bytes, nc_file, publish
from workflows import git_store
from workflows.models import Revision, Workflow

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def key_order(value):
    """The value with every object turned into a list of (key, value) pairs, so that == also compares key order."""
    if isinstance(value, dict):
        return [(key, key_order(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [key_order(item) for item in value]
    return value


def publish_file(client, filename: str, content: bytes, url: str = "/api/v1/workflow/publish", **extra):
    upload = SimpleUploadedFile(filename, content, content_type="application/octet-stream")
    return client.post(url, {"file": upload, **extra}, format="multipart")


def published_id(response) -> int:
    assert response.status_code == 201, response.content
    return response.json()["id"]


def get_wf(client, workflow_id: int, revision: str | None = None):
    url = f"/api/v1/workflow/get/{workflow_id}"
    return client.get(url, {"revision": revision} if revision else {})


def history(client, workflow_id: int) -> list[dict]:
    response = client.get(f"/api/v1/workflow/history/{workflow_id}")
    assert response.status_code == 200, response.content
    return response.json()


def connections(workflow: dict) -> list[dict]:
    return [obj for obj in workflow.values() if obj["type"] == "Connection"]


def node_names(workflow: dict) -> list[str]:
    return [key for key, obj in workflow.items() if obj["type"] == "Node"]


# --- publish and get round trips ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", [*FIXTURE_NAMES, *SAMPLE_NAMES])
def test_publish_json_then_get_returns_the_same_object_with_key_order(alice_client, name):
    original = nc_file(name)
    response = publish(alice_client, name, original, message="first")
    workflow_id = published_id(response)
    body = response.json()
    assert body["name"] == name
    assert len(body["revision"]) == 40

    got = get_wf(alice_client, workflow_id)
    assert got.status_code == 200
    assert got["Content-Type"].startswith("application/json")
    assert got["X-Nodeworks-Revision"] == body["revision"]
    returned = json.loads(got.content)
    assert returned == original
    assert key_order(returned) == key_order(original)
    assert json.dumps(returned) == json.dumps(original)

    workflow = Workflow.objects.get(pk=workflow_id)
    assert workflow.head_revision == body["revision"]
    assert workflow.node_count == len(node_names(original))
    assert list(workflow.revisions.values_list("sha", "message")) == [(body["revision"], "first")]


@pytest.mark.django_db
@pytest.mark.parametrize("name", [*FIXTURE_NAMES, *SAMPLE_NAMES])
def test_publish_multipart_file_then_get_returns_the_file_bytes(alice_client, name):
    raw = nc_bytes(name)
    response = publish_file(alice_client, name, raw)
    workflow_id = published_id(response)
    assert response.json()["name"] == name.rsplit(".", 1)[0]  # defaults to the file's name

    got = get_wf(alice_client, workflow_id)
    assert got.status_code == 200
    assert got.content == raw
    assert key_order(json.loads(got.content)) == key_order(nc_file(name))


@pytest.mark.django_db
def test_multipart_publish_with_name_message_and_requirements(alice_client):
    response = publish_file(
        alice_client,
        "arithmetic.nc",
        nc_bytes("arithmetic.nc"),
        name="My sheet",
        message="uploaded from Nodeworks",
        requirements=json.dumps({"tags": ["cpu"], "retries": 1}),
    )
    workflow_id = published_id(response)
    assert response.json()["name"] == "My sheet"
    assert history(alice_client, workflow_id)[0]["message"] == "uploaded from Nodeworks"
    detail = alice_client.get(f"/api/v1/workflow/detail/{workflow_id}").json()
    assert detail["requirements"] == {"tags": ["cpu"], "retries": 1}


@pytest.mark.django_db
def test_unknown_keys_are_preserved(alice_client):
    original = nc_file("arithmetic.nc")
    original["power"]["my extension"] = {"z": 1, "a": [1, {"y": None, "b": True}]}
    original["power"]["requirements"] = {"tags": ["gpu"], "executor": "slurm", "cpus": 4}
    original["connection"]["feedback"] = False
    workflow_id = published_id(publish(alice_client, "ext", original))
    returned = json.loads(get_wf(alice_client, workflow_id).content)
    assert key_order(returned) == key_order(original)


@pytest.mark.django_db
def test_list_shows_own_workflows(alice_client):
    a = published_id(publish(alice_client, "first", nc_file("sine_plot.nc")))
    b = published_id(publish(alice_client, "second", nc_file("product.nc")))
    listed = alice_client.get("/api/v1/workflow/")
    assert listed.status_code == 200
    rows = {row["id"]: row for row in listed.json()}
    assert set(rows) == {a, b}
    assert rows[a]["name"] == "first"
    assert rows[a]["owner"] == "alice"
    assert rows[a]["node_count"] == 4
    assert rows[a]["revision"] == Workflow.objects.get(pk=a).head_revision


@pytest.mark.django_db
def test_workflow_calls_need_authentication(alice_client):
    workflow_id = published_id(publish(alice_client, "x", nc_file("sine_plot.nc")))
    anon = APIClient()
    assert anon.get("/api/v1/workflow/").status_code == 401
    assert anon.get(f"/api/v1/workflow/get/{workflow_id}").status_code == 401
    assert publish(anon, "y", nc_file("sine_plot.nc")).status_code == 401
    assert anon.delete(f"/api/v1/workflow/delete/{workflow_id}").status_code == 401
    assert Workflow.objects.count() == 1


# --- plan ---------------------------------------------------------------------------------------


def assert_plan_consistent(plan: dict, workflow: dict) -> None:
    nodes = node_names(workflow)
    order = plan["order"]
    assert sorted(order) == sorted(nodes)
    assert len(order) == len(set(order))
    position = {name: i for i, name in enumerate(order)}
    level_of = {}
    for index, level in enumerate(plan["levels"]):
        assert level, "no empty levels"
        for name in level:
            assert name not in level_of
            level_of[name] = index
    assert set(level_of) == set(nodes)
    for conn in connections(workflow):
        if conn.get("feedback", False):
            continue
        source, destination = conn["input"][0], conn["output"][0]
        assert position[source] < position[destination], (source, destination)
        assert level_of[source] < level_of[destination], (source, destination)
    # A node on level k > 0 has a parent on level k - 1.
    parents = {name: set() for name in nodes}
    for conn in connections(workflow):
        if not conn.get("feedback", False):
            parents[conn["output"][0]].add(conn["input"][0])
    for name, level in level_of.items():
        if level == 0:
            assert not parents[name]
        else:
            assert max(level_of[p] for p in parents[name]) == level - 1
    assert set(plan["critical_path"]) == set(nodes)
    for conn in connections(workflow):
        if not conn.get("feedback", False):
            source, destination = conn["input"][0], conn["output"][0]
            assert plan["critical_path"][source] >= plan["critical_path"][destination] + 1


@pytest.mark.django_db
@pytest.mark.parametrize("name", [*FIXTURE_NAMES, *SAMPLE_NAMES])
def test_plan_orders_every_sample(alice_client, name):
    workflow = nc_file(name)
    publish_response = publish(alice_client, name, workflow)
    workflow_id = published_id(publish_response)
    response = alice_client.get(f"/api/v1/workflow/plan/{workflow_id}")
    assert response.status_code == 200, response.content
    plan = response.json()
    assert plan["workflow"] == workflow_id
    assert plan["revision"] == publish_response.json()["revision"]
    assert_plan_consistent(plan, workflow)


@pytest.mark.django_db
def test_plan_of_node_ex(alice_client):
    workflow = nc_file("arithmetic.nc")
    workflow_id = published_id(publish(alice_client, "node_ex", workflow))
    plan = alice_client.get(f"/api/v1/workflow/plan/{workflow_id}").json()
    assert plan["critical_path"]["power"] == 3  # power -> multiply -> subtract
    assert plan["critical_path"]["integer"] == 3
    assert plan["critical_path"]["root"] == 2
    assert plan["critical_path"]["multiply"] == 2
    assert plan["critical_path"]["subtract"] == 1
    assert plan["order"][-1] == "subtract"
    assert [sorted(level) for level in plan["levels"]] == [["integer", "power", "root"], ["multiply"], ["subtract"]]


@pytest.mark.django_db
def test_plan_includes_unconnected_nodes(alice_client):
    workflow = nc_file("arithmetic.nc")
    lonely = copy.deepcopy(workflow["integer"])
    lonely["uniquename"] = "lonely"
    lonely["name"] = "Lonely"
    workflow["lonely"] = lonely
    workflow_id = published_id(publish(alice_client, "with lonely", workflow))
    plan = alice_client.get(f"/api/v1/workflow/plan/{workflow_id}").json()
    assert "lonely" in plan["order"]
    assert "lonely" in plan["levels"][0]
    assert plan["critical_path"]["lonely"] == 1
    assert_plan_consistent(plan, workflow)


@pytest.mark.django_db
def test_plan_ignores_feedback_connections_for_order(alice_client):
    workflow = nc_file("arithmetic.nc")
    # subtract.result feeds power.base from the previous run: not a cycle.
    workflow["connection.fb"] = {
        "type": "Connection",
        "name": "Connection",
        "uniquename": "connection.fb",
        "input": ["subtract", "result"],
        "output": ["power", "base"],
        "line": [],
        "controlpoints": [],
        "feedback": True,
    }
    workflow_id = published_id(publish(alice_client, "feedback", workflow))
    plan = alice_client.get(f"/api/v1/workflow/plan/{workflow_id}").json()
    assert plan["critical_path"]["power"] == 3
    assert_plan_consistent(plan, workflow)


@pytest.mark.django_db
def test_plan_of_an_older_revision(alice_client):
    first = nc_file("arithmetic.nc")
    response = publish(alice_client, "grows", first)
    workflow_id = published_id(response)
    old_sha = response.json()["revision"]
    second = nc_file("product.nc")
    assert alice_client.post(f"/api/v1/workflow/publish/{workflow_id}", {"workflow": second}, format="json").status_code == 201
    assert set(alice_client.get(f"/api/v1/workflow/plan/{workflow_id}").json()["order"]) == set(node_names(second))
    old = alice_client.get(f"/api/v1/workflow/plan/{workflow_id}", {"revision": old_sha}).json()
    assert old["revision"] == old_sha
    assert set(old["order"]) == set(node_names(first))


# --- revisions ----------------------------------------------------------------------------------


def publish_revision(client, workflow_id: int, workflow: dict, **extra):
    return client.post(f"/api/v1/workflow/publish/{workflow_id}", {"workflow": workflow, **extra}, format="json")


@pytest.fixture
def two_revisions(alice_client):
    first = nc_file("arithmetic.nc")
    created = publish(alice_client, "node_ex", first, message="initial import")
    workflow_id = published_id(created)
    second = copy.deepcopy(first)
    second["integer"]["terminals"]["int"]["value"] = 88
    updated = publish_revision(alice_client, workflow_id, second, message="integer is 88")
    assert updated.status_code == 201, updated.content
    assert updated.json()["id"] == workflow_id
    return workflow_id, (created.json()["revision"], first), (updated.json()["revision"], second)


@pytest.mark.django_db
def test_history_lists_revisions_newest_first(alice_client, alice, two_revisions):
    workflow_id, (sha1, _), (sha2, _) = two_revisions
    assert sha1 != sha2
    entries = history(alice_client, workflow_id)
    assert [entry["revision"] for entry in entries] == [sha2, sha1]
    assert [entry["message"].strip() for entry in entries] == ["integer is 88", "initial import"]
    for entry in entries:
        assert entry["author"] == "alice"
        assert entry["email"] == alice.email
        assert entry["time"]
    assert entries[0]["time"] >= entries[1]["time"]
    assert history(alice_client, workflow_id)[0] == entries[0]
    limited = alice_client.get(f"/api/v1/workflow/history/{workflow_id}", {"limit": 1}).json()
    assert [entry["revision"] for entry in limited] == [sha2]
    assert alice_client.get(f"/api/v1/workflow/history/{workflow_id}", {"limit": 0}).status_code == 400
    assert list(Revision.objects.filter(workflow_id=workflow_id).values_list("sha", flat=True)) == [sha2, sha1]


@pytest.mark.django_db
def test_each_revision_is_retrievable_by_sha_and_prefix(alice_client, two_revisions):
    workflow_id, *revisions = two_revisions
    for sha, content in revisions:
        for ref in (sha, sha[:7], sha[:12], sha.upper()):
            got = get_wf(alice_client, workflow_id, ref)
            assert got.status_code == 200, (ref, got.content)
            assert got["X-Nodeworks-Revision"] == sha
            assert key_order(json.loads(got.content)) == key_order(content)
        detail = alice_client.get(f"/api/v1/workflow/detail/{workflow_id}", {"revision": sha[:7]}).json()
        assert detail["revision"] == sha
    latest_sha, latest = revisions[-1]
    got = get_wf(alice_client, workflow_id)
    assert got["X-Nodeworks-Revision"] == latest_sha
    assert json.loads(got.content) == latest


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["0" * 40, "deadbeef", "f" * 7])
def test_unknown_revision_is_404(alice_client, two_revisions, ref):
    workflow_id, (sha1, _), (sha2, _) = two_revisions
    if sha1.startswith(ref) or sha2.startswith(ref):
        pytest.skip("the random sha happens to start with this prefix")
    for url in ("get", "detail", "plan"):
        response = alice_client.get(f"/api/v1/workflow/{url}/{workflow_id}", {"revision": ref})
        assert response.status_code == 404
        assert ref in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "ref",
    ["abc", "xyz1234567", "../../etc", "a" * 41, "HEAD", "main", "HEAD~1", "%%%%%%%", "_______", "abcdef0\x00", "\x00" * 8],
)
def test_malformed_revision_is_a_clear_4xx(alice_client, two_revisions, ref):
    workflow_id = two_revisions[0]
    alice_client.raise_request_exception = False  # a server error must show as a failed status check
    for url in ("get", "detail", "plan"):
        response = alice_client.get(f"/api/v1/workflow/{url}/{workflow_id}", {"revision": ref})
        assert response.status_code in (400, 404)
        assert "revision" in response.json()["detail"]


@pytest.mark.django_db
def test_revision_of_another_workflow_is_404(alice_client, two_revisions):
    workflow_id, (sha1, _), _ = two_revisions
    other_id = published_id(publish(alice_client, "other", nc_file("sine_plot.nc")))
    other_sha = Workflow.objects.get(pk=other_id).head_revision
    assert get_wf(alice_client, workflow_id, other_sha).status_code == 404
    assert get_wf(alice_client, other_id, sha1).status_code == 404


@pytest.mark.django_db
def test_stale_base_revision_is_409_and_stores_nothing(alice_client, two_revisions):
    workflow_id, (sha1, _), (sha2, second) = two_revisions
    before = history(alice_client, workflow_id)
    revisions_before = Revision.objects.count()

    third = nc_file("sine_plot.nc")
    response = publish_revision(alice_client, workflow_id, third, base_revision=sha1, message="stale")
    assert response.status_code == 409
    assert sha1 in response.json()["detail"]
    assert history(alice_client, workflow_id) == before
    assert Revision.objects.count() == revisions_before
    assert Workflow.objects.get(pk=workflow_id).head_revision == sha2
    assert json.loads(get_wf(alice_client, workflow_id).content) == second

    response = publish_revision(alice_client, workflow_id, third, base_revision=sha2.upper(), message="fresh")
    assert response.status_code == 201, response.content
    sha3 = response.json()["revision"]
    assert [entry["revision"] for entry in history(alice_client, workflow_id)] == [sha3, sha2, sha1]
    assert json.loads(get_wf(alice_client, workflow_id).content) == third


@pytest.mark.django_db
def test_base_revision_must_be_a_full_sha(alice_client, two_revisions):
    workflow_id, _, (sha2, _) = two_revisions
    response = publish_revision(alice_client, workflow_id, nc_file("sine_plot.nc"), base_revision=sha2[:7])
    assert response.status_code == 400
    assert response.json()["detail"].startswith("base_revision")
    assert Revision.objects.filter(workflow_id=workflow_id).count() == 2


@pytest.mark.django_db
def test_base_revision_on_a_new_workflow_is_400(alice_client):
    response = publish(alice_client, "x", nc_file("sine_plot.nc"), base_revision="a" * 40)
    assert response.status_code == 400
    assert "base_revision" in response.json()["detail"]
    assert Workflow.objects.count() == 0


@pytest.mark.django_db
def test_revision_publish_may_rename(alice_client, two_revisions):
    workflow_id = two_revisions[0]
    response = publish_revision(alice_client, workflow_id, nc_file("sine_plot.nc"), name="renamed")
    assert response.status_code == 201
    assert response.json()["name"] == "renamed"
    assert Workflow.objects.get(pk=workflow_id).name == "renamed"


@pytest.mark.django_db
def test_revision_published_as_multipart_file(alice_client, two_revisions):
    workflow_id, _, (sha2, _) = two_revisions
    raw = nc_bytes("custom_string.nc")
    url = f"/api/v1/workflow/publish/{workflow_id}"
    response = publish_file(alice_client, "custom_string.nc", raw, url=url, base_revision=sha2)
    assert response.status_code == 201, response.content
    assert get_wf(alice_client, workflow_id).content == raw
    assert Workflow.objects.get(pk=workflow_id).name == "node_ex"  # the file name does not rename


# --- requirements -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_requirements_are_versioned_with_the_workflow(alice_client):
    response = publish(alice_client, "gpu job", nc_file("arithmetic.nc"), requirements={"tags": ["gpu"], "retries": 2})
    workflow_id = published_id(response)
    sha1 = response.json()["revision"]
    detail = alice_client.get(f"/api/v1/workflow/detail/{workflow_id}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["requirements"] == {"tags": ["gpu"], "retries": 2}
    assert body["revision"] == sha1
    assert body["name"] == "gpu job"
    assert body["node_count"] == 5

    # A later revision without `requirements` keeps them.
    sha2 = publish_revision(alice_client, workflow_id, nc_file("arithmetic.nc")).json()["revision"]
    body = alice_client.get(f"/api/v1/workflow/detail/{workflow_id}").json()
    assert body["revision"] == sha2
    assert body["requirements"] == {"tags": ["gpu"], "retries": 2}

    # A revision with new requirements replaces them; the old revision keeps its own.
    sha3 = publish_revision(alice_client, workflow_id, nc_file("arithmetic.nc"), requirements={"executor": "slurm"}).json()[
        "revision"
    ]
    assert alice_client.get(f"/api/v1/workflow/detail/{workflow_id}").json()["requirements"] == {"executor": "slurm"}
    old = alice_client.get(f"/api/v1/workflow/detail/{workflow_id}", {"revision": sha1}).json()
    assert old["requirements"] == {"tags": ["gpu"], "retries": 2}
    assert len({sha1, sha2, sha3}) == 3


@pytest.mark.django_db
def test_new_workflow_without_requirements_has_empty_requirements(alice_client):
    workflow_id = published_id(publish(alice_client, "plain", nc_file("sine_plot.nc")))
    assert alice_client.get(f"/api/v1/workflow/detail/{workflow_id}").json()["requirements"] == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "requirements",
    [
        {"tags": "gpu"},
        {"tags": ["has space"]},
        {"retries": -1},
        {"retries": 1000},
        {"retries": "2"},
        {"cpus": True},
        {"executor": "magic"},
        {"unknown": 1},
        {"env": {"1BAD": "x"}},
        {"env": {"GOOD": 1}},
        ["gpu"],
        "not json",
        42,
    ],
)
def test_bad_requirements_are_400_and_store_nothing(alice_client, requirements):
    response = publish(alice_client, "bad", nc_file("arithmetic.nc"), requirements=requirements)
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("requirements")
    assert Workflow.objects.count() == 0
    assert Revision.objects.count() == 0


@pytest.mark.django_db
def test_bad_requirements_on_a_revision_store_nothing(alice_client, two_revisions):
    workflow_id, _, (sha2, _) = two_revisions
    response = publish_revision(alice_client, workflow_id, nc_file("sine_plot.nc"), requirements={"gpus": -3})
    assert response.status_code == 400
    assert "gpus" in response.json()["detail"]
    assert Workflow.objects.get(pk=workflow_id).head_revision == sha2
    assert len(history(alice_client, workflow_id)) == 2


@pytest.mark.django_db
def test_bad_node_requirements_are_400_naming_the_node(alice_client):
    workflow = nc_file("arithmetic.nc")
    workflow["root"]["requirements"] = {"executor": "teleport"}
    response = publish(alice_client, "bad node", workflow)
    assert response.status_code == 400
    assert "root" in response.json()["detail"]
    assert response.json().get("object") == "root"
    assert Workflow.objects.count() == 0


# --- delete -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_delete_removes_the_workflow_and_its_repository(alice_client):
    workflow_id = published_id(publish(alice_client, "doomed", nc_file("arithmetic.nc")))
    publish_revision(alice_client, workflow_id, nc_file("sine_plot.nc"))
    repo = git_store.repo_path(str(Workflow.objects.get(pk=workflow_id).repo_key))
    assert repo.is_dir()

    response = alice_client.delete(f"/api/v1/workflow/delete/{workflow_id}")
    assert response.status_code == 204
    assert get_wf(alice_client, workflow_id).status_code == 404
    assert alice_client.get(f"/api/v1/workflow/history/{workflow_id}").status_code == 404
    assert alice_client.delete(f"/api/v1/workflow/delete/{workflow_id}").status_code == 404
    assert alice_client.get("/api/v1/workflow/").json() == []
    assert not Workflow.objects.filter(pk=workflow_id).exists()
    assert not Revision.objects.filter(workflow_id=workflow_id).exists()
    assert not repo.exists()


@pytest.mark.django_db
def test_delete_keeps_other_workflows(alice_client, django_capture_on_commit_callbacks):
    keep = published_id(publish(alice_client, "keep", nc_file("sine_plot.nc")))
    drop = published_id(publish(alice_client, "drop", nc_file("product.nc")))
    keep_repo = git_store.repo_path(str(Workflow.objects.get(pk=keep).repo_key))
    drop_repo = git_store.repo_path(str(Workflow.objects.get(pk=drop).repo_key))
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.delete(f"/api/v1/workflow/delete/{drop}").status_code == 204
    assert not drop_repo.exists()
    assert keep_repo.is_dir()
    assert json.loads(get_wf(alice_client, keep).content) == nc_file("sine_plot.nc")


@pytest.mark.django_db
def test_workflow_id_out_of_range_is_404(alice_client):
    huge = 10**30
    assert alice_client.get(f"/api/v1/workflow/get/{huge}").status_code == 404
    assert alice_client.get(f"/api/v1/workflow/plan/{huge}").status_code == 404
    assert alice_client.delete(f"/api/v1/workflow/delete/{huge}").status_code == 404
    assert publish_revision(alice_client, huge, nc_file("sine_plot.nc")).status_code == 404


@pytest.mark.django_db
def test_unknown_workflow_is_404(alice_client):
    for method, url in (
        ("get", "/api/v1/workflow/get/999"),
        ("get", "/api/v1/workflow/detail/999"),
        ("get", "/api/v1/workflow/history/999"),
        ("get", "/api/v1/workflow/plan/999"),
        ("delete", "/api/v1/workflow/delete/999"),
    ):
        response = getattr(alice_client, method)(url)
        assert response.status_code == 404
        assert "999" in response.json()["detail"]
    assert publish_revision(alice_client, 999, nc_file("sine_plot.nc")).status_code == 404
    assert Workflow.objects.count() == 0


# --- isolation between users --------------------------------------------------------------------


@pytest.mark.django_db
def test_another_user_gets_404_for_everything(alice_client, bob_client, django_capture_on_commit_callbacks):
    original = nc_file("arithmetic.nc")
    response = publish(alice_client, "alices", original, requirements={"tags": ["gpu"]})
    workflow_id = published_id(response)
    sha = response.json()["revision"]
    workflow = Workflow.objects.get(pk=workflow_id)
    repo = git_store.repo_path(str(workflow.repo_key))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for method, url, params in (
            ("get", f"/api/v1/workflow/get/{workflow_id}", {}),
            ("get", f"/api/v1/workflow/get/{workflow_id}", {"revision": sha}),
            ("get", f"/api/v1/workflow/detail/{workflow_id}", {}),
            ("get", f"/api/v1/workflow/history/{workflow_id}", {}),
            ("get", f"/api/v1/workflow/plan/{workflow_id}", {}),
            ("delete", f"/api/v1/workflow/delete/{workflow_id}", {}),
        ):
            response = getattr(bob_client, method)(url, params)
            assert response.status_code == 404, (url, response.status_code)
            assert "gpu" not in response.content.decode()
            assert "alices" not in response.content.decode()
        for extra in ({}, {"base_revision": sha}, {"name": "stolen"}):
            response = publish_revision(bob_client, workflow_id, nc_file("sine_plot.nc"), **extra)
            assert response.status_code == 404, extra
        url = f"/api/v1/workflow/publish/{workflow_id}"
        response = publish_file(bob_client, "sine_plot.nc", nc_bytes("sine_plot.nc"), url=url)
        assert response.status_code == 404
    assert callbacks == []

    assert bob_client.get("/api/v1/workflow/").json() == []
    # Alice's workflow is untouched.
    workflow.refresh_from_db()
    assert workflow.name == "alices"
    assert workflow.head_revision == sha
    assert workflow.revisions.count() == 1
    assert repo.is_dir()
    got = get_wf(alice_client, workflow_id)
    assert got.status_code == 200
    assert key_order(json.loads(got.content)) == key_order(original)
    assert [entry["revision"] for entry in history(alice_client, workflow_id)] == [sha]
    assert [row["id"] for row in alice_client.get("/api/v1/workflow/").json()] == [workflow_id]


@pytest.mark.django_db
def test_lists_are_per_user_and_admins_see_all(alice_client, bob_client):
    alices = published_id(publish(alice_client, "alices", nc_file("arithmetic.nc")))
    bobs = published_id(publish(bob_client, "bobs", nc_file("sine_plot.nc")))
    assert [row["id"] for row in alice_client.get("/api/v1/workflow/").json()] == [alices]
    assert [row["id"] for row in bob_client.get("/api/v1/workflow/").json()] == [bobs]

    admin = APIClient()
    admin.force_authenticate(make_user("root", staff=True))
    assert {row["id"] for row in admin.get("/api/v1/workflow/").json()} == {alices, bobs}
    got = get_wf(admin, alices)
    assert got.status_code == 200
    assert json.loads(got.content) == nc_file("arithmetic.nc")
    assert admin.get(f"/api/v1/workflow/history/{alices}").status_code == 200
    assert admin.get(f"/api/v1/workflow/plan/{alices}").status_code == 200
    assert admin.get(f"/api/v1/workflow/detail/{alices}").json()["owner"] == "alice"
