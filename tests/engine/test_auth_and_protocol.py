"""Who may call what, whose tasks a runner takes, and the logs/artifacts/heartbeat calls."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import make_user
from tests.engine.conftest import ProtocolRunner, add_node, register, start_run, workflow_of
from workflows.models import Task, TaskLog

pytestmark = pytest.mark.usefixtures("engine_settings")

RUNNER_CALLS = [
    ("POST", "lease", {"max_tasks": 1, "wait_s": 0, "executors": ["local"]}),
    ("POST", "heartbeat", {"lease_ids": []}),
    ("POST", "logs", {"lease_id": "00000000-0000-4000-8000-000000000000", "offset": 0, "data": "x"}),
    ("POST", "results", {"results": [{"lease_id": "00000000-0000-4000-8000-000000000000", "state": "succeeded"}]}),
    ("GET", "artifacts/00000000-0000-4000-8000-000000000000", None),
]


def one_node() -> dict:
    return workflow_of([add_node("only", a=1)], [])


def user_token(user) -> str:
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/token", {"name": "laptop"}, format="json")
    assert response.status_code == 201
    token = response.json()["token"]
    assert token.startswith("nwu_")
    return token


# ---------------------------------------------------------------- credentials


@pytest.mark.django_db
def test_runner_token_is_refused_on_user_endpoints(owner, owner_runner):
    _, client = owner_runner
    api = APIClient()
    for path in ("/api/v1/workflow/", "/api/v1/token"):
        response = api.get(path, HTTP_AUTHORIZATION=f"Runner {client.token}")
        assert response.status_code == 401, (path, response.content)
        response = api.get(path, HTTP_AUTHORIZATION=f"Token {client.token}")
        assert response.status_code == 401, (path, response.content)
        response = api.get(path, HTTP_AUTHORIZATION=f"Bearer {client.token}")
        assert response.status_code == 401, (path, response.content)


@pytest.mark.django_db
@pytest.mark.parametrize("method,call,body", RUNNER_CALLS, ids=[c[1].split("/")[0] + c[0] for c in RUNNER_CALLS])
def test_user_credentials_are_refused_on_runner_endpoints(owner, method, call, body):
    jwt = str(RefreshToken.for_user(owner).access_token)
    api_token = user_token(owner)
    # Sanity: both credentials work where they belong.
    assert APIClient().get("/api/v1/workflow/", HTTP_AUTHORIZATION=f"Bearer {jwt}").status_code == 200
    assert APIClient().get("/api/v1/workflow/", HTTP_AUTHORIZATION=f"Token {api_token}").status_code == 200
    for header in (f"Bearer {jwt}", f"Token {api_token}", f"Runner {api_token}", None):
        client = ProtocolRunner("unused")
        status, answer = client.request(method, call, body, headers={"Authorization": header})
        assert status == 401, (header, status, answer)


@pytest.mark.django_db
@pytest.mark.parametrize("method,call,body", RUNNER_CALLS, ids=[c[1].split("/")[0] + c[0] for c in RUNNER_CALLS])
@pytest.mark.parametrize("version", [None, "", "0", "2", "1.0"])
def test_protocol_version_other_than_1_gets_426(owner_runner, method, call, body, version):
    _, client = owner_runner
    status, answer = client.request(method, call, body, headers={"X-Nodeworks-Protocol": version})
    assert status == 426, (status, answer)
    assert "1" in str(answer)


@pytest.mark.django_db
def test_revoked_runner_token_gets_401(owner, owner_runner):
    from runners.services import runner_revoke_token

    runner, client = owner_runner
    assert client.lease() == []
    runner_revoke_token(runner=runner)
    status, _ = client.post("lease", {"max_tasks": 1, "executors": ["local"]})
    assert status == 401


# ---------------------------------------------------------------- whose tasks


@pytest.mark.django_db
def test_runner_takes_only_its_owners_tasks(owner):
    alice, bob = make_user("alice"), make_user("bob")
    start_run(alice, one_node(), name="alices")
    bobs = ProtocolRunner(register(bob, "bobs", shared_with_all=True)[1])  # sharing counts only for admins
    assert bobs.lease(max_tasks=10) == []
    alices = ProtocolRunner(register(alice, "alices")[1])
    [task] = alices.lease(max_tasks=10)
    assert Task.objects.get(pk=task["task_id"]).owner_id == alice.pk


@pytest.mark.django_db
def test_admin_runner_shared_with_all_takes_anyones_tasks(owner):
    alice, admin = make_user("alice"), make_user("admin", staff=True)
    run = start_run(alice, one_node(), name="alices")
    unshared = ProtocolRunner(register(admin, "unshared")[1])
    assert unshared.lease(max_tasks=10) == [], "an admin's runner is not shared unless asked"
    shared = ProtocolRunner(register(admin, "shared", shared_with_all=True)[1])
    [task] = shared.lease(max_tasks=10)
    assert task["run_id"] == run.pk


@pytest.mark.django_db
def test_admin_runner_shared_with_listed_users(owner):
    alice, carol, admin = make_user("alice"), make_user("carol"), make_user("admin", staff=True)
    carols = start_run(carol, one_node(), name="carols")
    alices = start_run(alice, one_node(), name="alices")
    runner, token = register(admin, "for-alice")
    runner.shared_with.set([alice])
    client = ProtocolRunner(token)
    leased = client.lease(max_tasks=10)
    assert [t["run_id"] for t in leased] == [alices.pk]
    assert Task.objects.get(run=carols).state == "queued"
    # An artifact of alice's task is downloadable by the shared runner; carol's task stays out of reach.
    status, art = client.upload(leased[0]["lease_id"], "a.bin", b"data")
    assert status == 201
    assert client.download(art["id"])[0] == 200


@pytest.mark.django_db
def test_tags_and_executors_decide_fit(owner):
    workflow = workflow_of(
        [
            add_node("gpu", a=1, requirements={"tags": ["gpu", "cuda12"]}),
            add_node("slurm", a=1, requirements={"executor": "slurm"}),
            add_node("plain", a=1),
        ],
        [],
    )
    start_run(owner, workflow)
    plain = ProtocolRunner(register(owner, "plain")[1])
    assert [t["node"]["uniquename"] for t in plain.lease(max_tasks=10)] == ["plain"]
    partial = ProtocolRunner(register(owner, "partial", tags=["gpu"])[1])
    assert partial.lease(max_tasks=10) == []
    gpu = ProtocolRunner(register(owner, "gpu", tags=["gpu", "cuda12", "big"])[1])
    assert [t["node"]["uniquename"] for t in gpu.lease(max_tasks=10)] == ["gpu"]
    hpc = ProtocolRunner(register(owner, "hpc", executors=["local", "slurm"])[1], executors=["local"])
    assert hpc.lease(max_tasks=10) == [], "slurm is registered but not offered in this call"
    hpc.executors = ["slurm"]
    assert [t["node"]["uniquename"] for t in hpc.lease(max_tasks=10)] == ["slurm"]


# ---------------------------------------------------------------- heartbeat, logs, artifacts


@pytest.mark.django_db
def test_heartbeat_marks_running_and_extends_expiry(owner, owner_runner, engine_settings):
    start_run(owner, workflow_of([add_node("x", a=1), add_node("y", a=2)], []))
    _, client = owner_runner
    x, y = client.lease(max_tasks=2)
    leased_expiry = Task.objects.get(pk=x["task_id"]).expires_at
    engine_settings.LEASE_TTL_S = 30  # the next heartbeat extends to now + 30 s
    status, answer = client.heartbeat([x["lease_id"], y["lease_id"]], {x["lease_id"]: {"pid": 11}})
    assert status == 200
    assert answer["leases"] == {x["lease_id"]: "ok", y["lease_id"]: "ok"}
    assert answer["shutdown"] is False
    tx, ty = Task.objects.get(pk=x["task_id"]), Task.objects.get(pk=y["task_id"])
    assert tx.state == "running" and tx.started is not None
    assert ty.state == "leased", "only tasks named in `running` are running"
    assert tx.expires_at > leased_expiry + timedelta(seconds=20)
    assert abs((tx.expires_at - timezone.now()).total_seconds() - 30) < 5
    assert ty.expires_at == tx.expires_at
    # A mix of current and stale leases: 200, the stale one "lost".
    stale = "00000000-0000-4000-8000-000000000000"
    status, answer = client.heartbeat([x["lease_id"], stale])
    assert status == 200 and answer["leases"] == {x["lease_id"]: "ok", stale: "lost"}
    # Started stays the first heartbeat's.
    client.heartbeat([x["lease_id"]], {x["lease_id"]: {"pid": 11}})
    assert Task.objects.get(pk=x["task_id"]).started == tx.started


@pytest.mark.django_db
def test_heartbeat_tells_shutdown(owner, owner_runner):
    runner, client = owner_runner
    start_run(owner, one_node())
    [task] = client.lease()
    runner.shutdown_requested = True
    runner.save(update_fields=["shutdown_requested"])
    status, answer = client.heartbeat([task["lease_id"]])
    assert status == 200 and answer["shutdown"] is True and answer["leases"][task["lease_id"]] == "ok"
    assert client.lease() == [], "a draining runner leases nothing new"


@pytest.mark.django_db
def test_lease_answer_tells_an_idle_runner_to_shut_down(owner, owner_runner):
    # An idle runner holds no lease, so no heartbeat answer reaches it: the lease answer says it.
    runner, client = owner_runner
    status, answer = client.post("lease", {"max_tasks": 1, "wait_s": 0, "executors": client.executors})
    assert status == 200 and "shutdown" not in answer
    runner.shutdown_requested = True
    runner.save(update_fields=["shutdown_requested"])
    status, answer = client.post("lease", {"max_tasks": 1, "wait_s": 0, "executors": client.executors})
    assert status == 200 and answer == {"tasks": [], "shutdown": True}


@pytest.mark.django_db
def test_logs_are_idempotent_by_offset(owner, owner_runner):
    start_run(owner, one_node())
    _, client = owner_runner
    [task] = client.lease()
    lease = task["lease_id"]
    first = "line one\n"
    assert client.log(lease, 0, first) == (200, {"next_offset": len(first)})
    assert client.log(lease, 0, first) == (200, {"next_offset": len(first)}), "a resent chunk is stored once"
    second = "é two\n"  # offsets count UTF-8 bytes
    size = len(first) + len(second.encode())
    assert client.log(lease, len(first), second) == (200, {"next_offset": size})
    # Overlap: a chunk starting inside what is stored only adds its new part.
    overlap = second[2:] + "three\n"
    assert client.log(lease, len(first) + len("é ".encode()), overlap) == (200, {"next_offset": size + len("three\n")})
    status, answer = client.log(lease, size + 100, "gap\n")
    assert status == 400, answer
    log = TaskLog.objects.get(task_id=task["task_id"], attempt=1)
    assert log.data == "line one\né two\nthree\n"
    assert log.size == len(log.data.encode())


@pytest.mark.django_db
def test_artifacts_upload_and_download_by_owner_only(owner, owner_runner):
    start_run(owner, one_node())
    _, client = owner_runner
    [task] = client.lease()
    content = bytes(range(256)) * 1000
    status, answer = client.upload(task["lease_id"], "plot.png", content)
    assert status == 201, answer
    assert set(answer) == {"id", "sha256", "size"}
    assert answer["sha256"] == hashlib.sha256(content).hexdigest()
    assert answer["size"] == len(content)
    same_owner = ProtocolRunner(register(owner, "same-owner")[1])
    status, body = same_owner.download(answer["id"])
    assert status == 200 and body == content
    stranger = ProtocolRunner(register(make_user("stranger"), "stranger")[1])
    status, _ = stranger.download(answer["id"])
    assert status == 404
    status, _ = client.download("00000000-0000-4000-8000-000000000000")
    assert status == 404


@pytest.mark.django_db
def test_artifact_upload_over_the_limit_keeps_nothing(owner, owner_runner, engine_settings):
    engine_settings.MAX_ARTIFACT_BYTES = 1000
    start_run(owner, one_node())
    _, client = owner_runner
    [task] = client.lease()
    status, _ = client.upload(task["lease_id"], "big.bin", b"x" * 1001)
    assert status == 413
    artifacts = engine_settings.DATA_DIR / "artifacts"
    assert not artifacts.exists() or not any(p.is_file() for p in artifacts.rglob("*"))
