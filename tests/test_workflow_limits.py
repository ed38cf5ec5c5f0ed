"""Bad inputs to publish: each is a clear 4xx with a message in `detail`, never a 500, and stores nothing."""

import copy
import io
import itertools
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from nodeworks_server.middleware import BodySizeLimitMiddleware
from tests.conftest import nc_bytes, nc_file, publish
from workflows import git_store
from workflows.models import Revision, Workflow

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

NEW = "/api/v1/workflow/publish"


@pytest.fixture
def existing(alice_client):
    """A published arithmetic.nc, so that each bad input is also tried as a new revision of it."""
    response = publish(alice_client, "node_ex", nc_file("arithmetic.nc"))
    assert response.status_code == 201, response.content
    workflow = Workflow.objects.get(pk=response.json()["id"])
    return workflow


def snapshot(workflow: Workflow) -> dict:
    workflow.refresh_from_db()
    return {
        "workflows": Workflow.objects.count(),
        "revisions": Revision.objects.count(),
        "head": workflow.head_revision,
        "history": [
            info.sha for info in git_store.history(repo_key=str(workflow.repo_key), head=workflow.head_revision, limit=100)
        ],
        "branch": _branch_head(workflow),
        "repos": sorted(p.name for p in git_store.repo_path("x").parent.iterdir()),
    }


def _branch_head(workflow: Workflow) -> str:
    from git import Repo

    repo = Repo(git_store.repo_path(str(workflow.repo_key)))
    try:
        return repo.heads.main.commit.hexsha
    finally:
        repo.close()


def assert_rejected(response, status: int = 400, *words: str) -> str:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert detail
    for word in words:
        assert word in detail, (word, detail)
    return detail


def both_urls(workflow: Workflow) -> list[str]:
    return [NEW, f"/api/v1/workflow/publish/{workflow.pk}"]


def post_json(client, url: str, body) -> object:
    return client.post(url, body, format="json")


def post_raw(client, url: str, raw: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", url, raw, content_type=content_type)


def post_file(client, url: str, content: bytes, **extra):
    upload = SimpleUploadedFile("sheet.nc", content, content_type="application/octet-stream")
    return client.post(url, {"file": upload, **extra}, format="multipart")


def check_all(client, workflow: Workflow, send, status: int = 400, *words: str) -> list[str]:
    """Sends the same bad input as a new workflow and as a revision; nothing may change."""
    before = snapshot(workflow)
    details = []
    for url in both_urls(workflow):
        details.append(assert_rejected(send(url), status, *words))
        assert snapshot(workflow) == before, url
    return details


# --- not JSON, or not the right JSON ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw",
    [b"this is not json", b'{"name": "x", "workflow": {', b"", b"\xff\xfe\x00garbage", b'{"name": "x"} trailing'],
)
def test_body_not_json(alice_client, existing, raw):
    check_all(alice_client, existing, lambda url: post_raw(alice_client, url, raw))


@pytest.mark.django_db
@pytest.mark.parametrize("body", [[1, 2, 3], "a string", 42, None])
def test_body_json_but_not_an_object(alice_client, existing, body):
    check_all(alice_client, existing, lambda url: post_raw(alice_client, url, json.dumps(body)))


@pytest.mark.django_db
@pytest.mark.parametrize("value", [[], [nc_file("arithmetic.nc")], "a string", json.dumps(nc_file("arithmetic.nc")), 7, True])
def test_workflow_member_not_an_object(alice_client, existing, value):
    details = check_all(alice_client, existing, lambda url: post_json(alice_client, url, {"name": "x", "workflow": value}))
    assert all("object" in detail for detail in details)


@pytest.mark.django_db
def test_workflow_null_is_400(alice_client, existing):
    check_all(alice_client, existing, lambda url: post_json(alice_client, url, {"name": "x", "workflow": None}))


# --- the .nc structure --------------------------------------------------------------------------


def broken(mutate) -> dict:
    workflow = nc_file("arithmetic.nc")
    mutate(workflow)
    return workflow


def _connection(name: str, source: list, destination: list) -> dict:
    return {
        "type": "Connection",
        "name": "Connection",
        "uniquename": name,
        "line": [],
        "controlpoints": [],
        "input": source,
        "output": destination,
    }


STRUCTURE_ERRORS = {
    "node without path": (lambda w: w["power"].pop("path"), ["power", "path"]),
    "node without terminals": (lambda w: w["root"].pop("terminals"), ["root", "terminals"]),
    "node without name": (lambda w: w["integer"].pop("name"), ["integer", "name"]),
    "path not a list": (lambda w: w["power"].__setitem__("path", "math/Power"), ["power", "path"]),
    "terminals not an object": (lambda w: w["power"].__setitem__("terminals", []), ["power", "terminals"]),
    "terminal without opts": (lambda w: w["power"]["terminals"]["base"].pop("opts"), ["power", "base"]),
    "opts.in not a boolean": (lambda w: w["power"]["terminals"]["base"]["opts"].__setitem__("in", "yes"), ["power", "base"]),
    "object not an object": (lambda w: w.__setitem__("junk", [1, 2]), ["junk"]),
    "unknown type": (lambda w: w["power"].__setitem__("type", "Widget"), ["power", "Widget"]),
    "uniquename differs from key": (lambda w: w["power"].__setitem__("uniquename", "pow"), ["power", "uniquename"]),
    "connection to a missing node": (
        lambda w: w["connection"].__setitem__("output", ["nowhere", "input"]),
        ["connection", "nowhere"],
    ),
    "connection from a missing node": (
        lambda w: w["connection"].__setitem__("input", ["ghost", "result"]),
        ["connection", "ghost"],
    ),
    "connection to a missing terminal": (
        lambda w: w["connection"].__setitem__("output", ["multiply", "nosuch"]),
        ["connection", "nosuch", "multiply"],
    ),
    "connection from a missing terminal": (
        lambda w: w["connection"].__setitem__("input", ["power", "nosuch"]),
        ["connection", "nosuch"],
    ),
    "connection in the wrong direction": (
        lambda w: w["connection"].update(input=["multiply", "input"], output=["power", "result"]),
        ["connection", "multiply.input"],
    ),
    "connection from an input": (
        lambda w: w["connection"].__setitem__("input", ["root", "radicand"]),
        ["connection", "root.radicand", "output"],
    ),
    "connection into an output": (
        lambda w: w["connection"].__setitem__("output", ["subtract", "result"]),
        ["connection", "subtract.result", "input"],
    ),
    "connection end not a pair": (lambda w: w["connection"].__setitem__("input", ["power"]), ["connection", "input"]),
    "connection without output": (lambda w: w["connection"].pop("output"), ["connection", "output"]),
    "feedback not a boolean": (lambda w: w["connection"].__setitem__("feedback", "no"), ["connection", "feedback"]),
    "two connections into a plain input": (
        lambda w: w.update(
            {
                "c.a": _connection("c.a", ["integer", "int"], ["root", "radicand"]),
                "c.b": _connection("c.b", ["power", "result"], ["root", "radicand"]),
            }
        ),
        ["root.radicand", "multiinput", "c.a", "c.b"],
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(STRUCTURE_ERRORS))
def test_invalid_structure(alice_client, existing, case):
    mutate, words = STRUCTURE_ERRORS[case]
    workflow = broken(mutate)
    check_all(alice_client, existing, lambda url: post_json(alice_client, url, {"name": "x", "workflow": workflow}), 400, *words)
    # The same file uploaded as multipart is refused with the same message.
    raw = json.dumps(workflow).encode()
    check_all(alice_client, existing, lambda url: post_file(alice_client, url, raw), 400, *words)


def test_root_radicand_is_a_plain_input_in_the_sample():
    """The premise of the two-connections case above."""
    opts = nc_file("arithmetic.nc")["root"]["terminals"]["radicand"]["opts"]
    assert opts["in"] is True
    assert opts.get("multiinput", False) is False


@pytest.mark.django_db
def test_two_connections_into_a_multiinput_are_fine(alice_client):
    workflow = nc_file("arithmetic.nc")
    workflow["c.a"] = _connection("c.a", ["root", "result"], ["multiply", "input"])
    response = publish(alice_client, "ok", workflow)
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_cycle_is_400_listing_the_cycle(alice_client, existing):
    workflow = nc_file("arithmetic.nc")
    # subtract -> power closes power -> multiply -> subtract.
    workflow["loop"] = _connection("loop", ["subtract", "result"], ["power", "base"])
    details = check_all(
        alice_client, existing, lambda url: post_json(alice_client, url, {"name": "x", "workflow": workflow}), 400, "cycle"
    )
    for detail in details:
        listed = detail.split(":", 1)[1].strip().split(" -> ")
        assert listed[0] == listed[-1]
        assert sorted(set(listed)) == ["multiply", "power", "subtract"]
        assert len(listed) == 4
        # The list follows the connections' direction.
        edges = {("power", "multiply"), ("multiply", "subtract"), ("subtract", "power")}
        assert all(pair in edges for pair in itertools.pairwise(listed))


@pytest.mark.django_db
def test_self_loop_is_a_cycle(alice_client, existing):
    workflow = nc_file("arithmetic.nc")
    workflow["self"] = _connection("self", ["power", "result"], ["power", "exponent"])
    check_all(
        alice_client,
        existing,
        lambda url: post_json(alice_client, url, {"name": "x", "workflow": workflow}),
        400,
        "cycle",
        "power",
    )


@pytest.mark.django_db
def test_feedback_loop_is_not_a_cycle(alice_client):
    workflow = nc_file("arithmetic.nc")
    workflow["loop"] = {**_connection("loop", ["subtract", "result"], ["power", "base"]), "feedback": True}
    assert publish(alice_client, "ok", workflow).status_code == 201


# --- hostile JSON -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_nesting_20000_deep_is_400_not_500(alice_client, existing):
    raw = '{"name":"x","workflow":' + "[" * 20000 + "]" * 20000 + "}"
    details = check_all(alice_client, existing, lambda url: post_raw(alice_client, url, raw))
    assert all("nesting" in detail for detail in details)
    objects = '{"name":"x","workflow":' + '{"a":' * 20000 + "1" + "}" * 20000 + "}"
    check_all(alice_client, existing, lambda url: post_raw(alice_client, url, objects), 400, "nesting")


@pytest.mark.django_db
def test_nesting_20000_deep_in_a_file_is_400(alice_client, existing):
    raw = ("[" * 20000 + "]" * 20000).encode()
    check_all(alice_client, existing, lambda url: post_file(alice_client, url, raw), 400, "nesting")


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["workflow", "requirements"])
def test_nesting_20000_deep_in_a_multipart_text_field_is_400(alice_client, existing, field):
    """Multipart sends `workflow` and `requirements` as text fields, which must meet the same limits."""
    alice_client.raise_request_exception = False  # a server error must show as a failed status check
    deep = "[" * 20000 + "]" * 20000
    fields = {"name": "x", "workflow": json.dumps(nc_file("arithmetic.nc")), field: deep}
    check_all(alice_client, existing, lambda url: alice_client.post(url, fields, format="multipart"), 400, field)


@pytest.mark.django_db
def test_workflow_as_a_multipart_text_field_is_accepted(alice_client):
    fields = {"name": "as text", "workflow": json.dumps(nc_file("arithmetic.nc")), "requirements": json.dumps({"gpus": 1})}
    response = alice_client.post(NEW, fields, format="multipart")
    assert response.status_code == 201, response.content
    got = alice_client.get(f"/api/v1/workflow/get/{response.json()['id']}")
    assert json.dumps(json.loads(got.content)) == json.dumps(nc_file("arithmetic.nc"))


@pytest.mark.django_db
@pytest.mark.parametrize("constant", ["NaN", "Infinity"])
def test_nan_in_a_multipart_text_field_is_400(alice_client, existing, constant):
    text = json.dumps(nc_file("arithmetic.nc")).replace('"value": 5.0', f'"value": {constant}', 1)
    fields = {"name": "x", "workflow": text}
    check_all(alice_client, existing, lambda url: alice_client.post(url, fields, format="multipart"), 400, "workflow")


@pytest.mark.django_db
def test_nesting_over_the_limit_inside_a_node_is_400(alice_client, existing, settings):
    settings.MAX_JSON_DEPTH = 10
    workflow = nc_file("arithmetic.nc")
    deep = "leaf"
    for _ in range(12):
        deep = [deep]
    workflow["power"]["customState"] = deep
    check_all(alice_client, existing, lambda url: post_json(alice_client, url, {"name": "x", "workflow": workflow}), 400, "10")
    # Within the limit the same shape is accepted.
    settings.MAX_JSON_DEPTH = 64
    assert publish(alice_client, "deep but fine", workflow).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_in_body_is_400(alice_client, existing, constant):
    text = json.dumps({"name": "x", "workflow": nc_file("arithmetic.nc")})
    raw = text.replace('"value": 5.0', f'"value": {constant}', 1)
    assert raw != text
    check_all(alice_client, existing, lambda url: post_raw(alice_client, url, raw), 400, constant)
    file_raw = json.dumps(nc_file("arithmetic.nc")).replace('"value": 5.0', f'"value": {constant}', 1).encode()
    check_all(alice_client, existing, lambda url: post_file(alice_client, url, file_raw), 400, constant)


# --- size and count limits ----------------------------------------------------------------------


@pytest.mark.django_db
def test_body_over_the_limit_is_413(alice_client, existing, settings):
    settings.MAX_BODY_BYTES = 1000
    body = {"name": "x", "workflow": nc_file("arithmetic.nc")}
    assert len(json.dumps(body)) > 1000
    details = check_all(alice_client, existing, lambda url: post_json(alice_client, url, body), 413, "1000")
    assert details
    check_all(alice_client, existing, lambda url: post_file(alice_client, url, nc_bytes("arithmetic.nc")), 413, "1000")
    # A small request still passes the middleware.
    assert alice_client.get("/api/v1/workflow/").status_code == 200


class ExplodingStream(io.RawIOBase):
    """A request body that must never be read."""

    def __init__(self):
        self.reads = 0

    def readable(self):
        return True

    def read(self, *args, **kwargs):
        self.reads += 1
        raise AssertionError("the request body was read")

    readline = readinto = read

    def readlines(self, *args, **kwargs):
        return self.read()


def test_oversized_body_is_rejected_without_reading_it(settings):
    settings.MAX_BODY_BYTES = 1000
    stream = ExplodingStream()
    request = RequestFactory().generic(
        "POST",
        NEW,
        content_type="application/json",
        CONTENT_LENGTH=str(2 * 1024**3),
        **{"wsgi.input": stream},
    )

    def view(_request):
        raise AssertionError("the view must not be reached")

    assert request.META["wsgi.input"] is stream
    response = BodySizeLimitMiddleware(view)(request)
    assert response.status_code == 413
    assert str(2 * 1024**3) in json.loads(response.content)["detail"]
    assert stream.reads == 0

    # Control: the same stream under the limit does reach a view, which does read it.
    small = RequestFactory().generic("POST", NEW, content_type="application/json", CONTENT_LENGTH="10", **{"wsgi.input": stream})
    with pytest.raises(AssertionError, match="was read"):
        BodySizeLimitMiddleware(lambda req: req.body)(small)
    assert stream.reads == 1


@pytest.mark.parametrize("length, status", [("abc", 400), ("-5", 400), ("1001", 413)])
def test_bad_content_length_is_refused_before_the_view(settings, length, status):
    settings.MAX_BODY_BYTES = 1000
    stream = ExplodingStream()
    request = RequestFactory().generic(
        "POST", NEW, content_type="application/json", CONTENT_LENGTH=length, **{"wsgi.input": stream}
    )
    response = BodySizeLimitMiddleware(lambda _request: pytest.fail("view reached"))(request)
    assert response.status_code == status
    assert json.loads(response.content)["detail"]
    assert stream.reads == 0


def test_body_at_the_limit_reaches_the_view(settings):
    settings.MAX_BODY_BYTES = 1000
    request = RequestFactory().generic("POST", NEW, b"x" * 1000, content_type="application/json")
    sentinel = object()
    assert BodySizeLimitMiddleware(lambda _request: sentinel)(request) is sentinel


@pytest.mark.django_db
def test_too_many_nodes_is_400_naming_the_limit(alice_client, existing, settings):
    settings.MAX_NODES = 3
    workflow = nc_file("arithmetic.nc")
    details = check_all(
        alice_client, existing, lambda url: post_json(alice_client, url, {"name": "x", "workflow": workflow}), 400, "3"
    )
    assert all("nodes" in detail and "5" in detail for detail in details)
    check_all(alice_client, existing, lambda url: post_file(alice_client, url, nc_bytes("arithmetic.nc")), 400, "nodes", "3")
    settings.MAX_NODES = 5
    assert publish(alice_client, "exactly at the limit", workflow).status_code == 201


# --- multipart shapes ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("content", [b"not json at all", b"", b"[1, 2, 3]", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_multipart_file_not_a_workflow(alice_client, existing, content):
    check_all(alice_client, existing, lambda url: post_file(alice_client, url, content))


@pytest.mark.django_db
def test_both_workflow_and_file_is_400(alice_client, existing):
    def send(url):
        upload = SimpleUploadedFile("sheet.nc", nc_bytes("sine_plot.nc"))
        return alice_client.post(
            url, {"file": upload, "workflow": json.dumps(nc_file("product.nc")), "name": "both"}, format="multipart"
        )

    check_all(alice_client, existing, send, 400, "workflow", "file")


@pytest.mark.django_db
def test_neither_workflow_nor_file_is_400(alice_client, existing):
    check_all(alice_client, existing, lambda url: post_json(alice_client, url, {"name": "x"}), 400, "workflow", "file")
    check_all(alice_client, existing, lambda url: alice_client.post(url, {"name": "x"}, format="multipart"), 400, "workflow")


@pytest.mark.django_db
def test_new_workflow_without_name_is_400(alice_client, existing):
    before = snapshot(existing)
    response = post_json(alice_client, NEW, {"workflow": nc_file("sine_plot.nc")})
    assert_rejected(response, 400, "name")
    assert snapshot(existing) == before


@pytest.mark.django_db
def test_name_too_long_is_400(alice_client, existing):
    check_all(
        alice_client,
        existing,
        lambda url: post_json(alice_client, url, {"name": "n" * 201, "workflow": nc_file("sine_plot.nc")}),
        400,
        "name",
    )


@pytest.mark.django_db
def test_unsupported_content_type_is_415(alice_client, existing):
    check_all(alice_client, existing, lambda url: post_raw(alice_client, url, "name=x", "text/plain"), 415)


@pytest.mark.django_db
def test_rejections_leave_a_usable_workflow(alice_client, existing):
    """After a string of bad publishes the next good one lands on top of the same head."""
    head = existing.head_revision
    for body in ({"name": "x"}, {"workflow": []}, {"workflow": broken(lambda w: w["power"].pop("path"))}):
        assert post_json(alice_client, f"/api/v1/workflow/publish/{existing.pk}", body).status_code == 400
    good = copy.deepcopy(nc_file("arithmetic.nc"))
    response = post_json(alice_client, f"/api/v1/workflow/publish/{existing.pk}", {"workflow": good, "base_revision": head})
    assert response.status_code == 201, response.content
    existing.refresh_from_db()
    history = git_store.history(repo_key=str(existing.repo_key), head=existing.head_revision, limit=10)
    assert [info.sha for info in history] == [response.json()["revision"], head]
