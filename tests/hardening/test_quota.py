"""Issue 11, item 9: a per-user storage quota for artifacts (NODEWORKS_USER_STORAGE_QUOTA_MB). Uploads
streamed past the body limit had no bound per user; now an upload that does not fit what is left
answers 413 with the figures, nothing of it is stored, and the runner fails that task alone (a 413 is
a refused upload to it, runner_client/nodeworks_runner/delivery.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_user
from tests.engine.conftest import ProtocolRunner, add_node, register, start_run, workflow_of
from workflows.models import Artifact


def stored_files(settings) -> list[Path]:
    root = Path(settings.DATA_DIR) / "artifacts"
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.fixture
def leased(owner):
    runner, token = register(owner, "quota-runner")
    protocol = ProtocolRunner(token, runner_id=runner.pk)
    start_run(owner, workflow_of([add_node("n1"), add_node("n2")], []))
    tasks = protocol.lease(max_tasks=2)
    assert len(tasks) == 2
    return protocol, [task["lease_id"] for task in tasks]


def test_an_upload_past_the_quota_is_413_and_stores_nothing(leased, engine_settings):
    engine_settings.USER_STORAGE_QUOTA_BYTES = 1000
    protocol, (first, second) = leased
    status, answer = protocol.upload(first, "a.bin", b"x" * 600)
    assert status == 201, answer
    status, answer = protocol.upload(second, "b.bin", b"y" * 401)
    assert status == 413, answer
    assert "storage quota" in answer["detail"] and "600 of 1000 bytes are used, 400 left" in answer["detail"]
    assert Artifact.objects.count() == 1
    assert len(stored_files(engine_settings)) == 1
    # What is left still fits, to the byte.
    status, answer = protocol.upload(second, "c.bin", b"z" * 400)
    assert status == 201, answer
    assert sorted(Artifact.objects.values_list("size", flat=True)) == [400, 600]


def test_the_quota_is_per_user(leased, engine_settings):
    engine_settings.USER_STORAGE_QUOTA_BYTES = 1000
    protocol, (first, _) = leased
    assert protocol.upload(first, "a.bin", b"x" * 900)[0] == 201
    other = make_user("other")
    runner, token = register(other, "other-runner")
    theirs = ProtocolRunner(token, runner_id=runner.pk)
    start_run(other, workflow_of([add_node("m")], []))
    (task,) = theirs.lease()
    assert theirs.upload(task["lease_id"], "b.bin", b"y" * 900)[0] == 201


def test_a_quota_of_zero_means_none(leased, engine_settings):
    engine_settings.USER_STORAGE_QUOTA_BYTES = 0
    protocol, (first, _) = leased
    assert protocol.upload(first, "a.bin", b"x" * 5000)[0] == 201


def test_a_stale_lease_is_still_409_not_a_quota_answer(leased, engine_settings):
    engine_settings.USER_STORAGE_QUOTA_BYTES = 10
    protocol, _ = leased
    status, _answer = protocol.upload("00000000-0000-0000-0000-000000000000", "a.bin", b"x" * 50)
    assert status == 409
    assert stored_files(engine_settings) == []


def test_the_runner_treats_a_413_upload_as_a_refusal_of_that_task():
    """The runner's HTTP layer: 413 is a ClientError (the task fails with the reason), never Unreachable
    (which would keep the result spooled and retried for ever)."""
    from nodeworks_runner.delivery import REFUSED_STATUSES
    from nodeworks_runner.http import ClientError, Unreachable

    assert 413 in REFUSED_STATUSES
    assert not issubclass(ClientError, Unreachable)


# ---------------------------------------------------------------- a real runner


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory):
    from tests.hardening.servers import ServerPair

    env = {"NODEWORKS_USER_STORAGE_QUOTA_MB": "1", "NODEWORKS_REGISTER_RATE": "1000/min",
           "NODEWORKS_LOGIN_RATE": "1000/min", "NODEWORKS_HEARTBEAT_INTERVAL_S": "0.5", "NODEWORKS_Q_WORKERS": "1"}
    server = ServerPair(tmp_path_factory.mktemp("quota-server"), env=env, name="quota").start()
    yield server
    server.stop()


def array_node(name: str, stop: int) -> dict:
    from tests.runner.conftest import make_node

    return make_node(name, ["numpy", "Range"], inputs={"start": 0, "stop": stop, "step": 1, "type": "float"},
                     outputs=("range",))


@pytest.mark.slow
def test_a_real_runner_fails_only_the_task_whose_artifact_is_past_the_quota(quota_server, tmp_path):
    import subprocess
    import time

    from tests.runner.conftest import RUNNER_EXE, Api, RunnerProcess, runner_env, workflow_of

    pytest.importorskip("numpy")
    url = quota_server.urls[0]
    api = Api(url)
    api.post("/api/v1/register", {"username": "quota", "email": "quota@example.org", "password": "a long test password"})
    access = api.post("/api/v1/login", {"username": "quota", "password": "a long test password"})["access"]
    api.token = api.call("POST", "/api/v1/token", {"name": "t"}, auth=f"Bearer {access}")["token"]

    home = tmp_path / "runner"
    home.mkdir()
    env = runner_env(home)
    env["NODEWORKS_RUNNER_INLINE_LIMIT_BYTES"] = "1000"  # every array here goes up as an artifact
    register = [RUNNER_EXE, "register", "--url", url, "--token", api.token, "--name", "quota-runner",
                "--executors", "local"]
    done = subprocess.run(register, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    args = [RUNNER_EXE, "run", "--concurrency", "1", "--heartbeat", "0.5", "--lease-wait", "2", "--retry-max", "1"]
    log = open(home / "runner.log", "ab")  # noqa: SIM115
    runner = RunnerProcess("quota-runner", home, subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env,
                                                                  start_new_session=True), home / "runner.log", args, env)
    try:
        # 8 kB fits the 1 MB quota; 1.6 MB does not.
        created = api.post("/api/v1/workflow/publish", {"name": "q", "workflow": workflow_of(
            array_node("small", 1000), array_node("big", 200_000))})
        run = api.post(f"/api/v1/workflow/execute/{created['id']}", {})["run"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status = api.get(f"/api/v1/workflow/status/{created['id']}?run={run['id']}")
            if status["run"]["state"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"run not final: {status}\n{runner.log()[-3000:]}")
    finally:
        runner.stop()
    assert status["run"]["state"] == "failed"
    assert status["nodes"]["small"]["state"] == "succeeded", status["nodes"]["small"]
    big = status["nodes"]["big"]
    assert big["state"] == "failed" and "storage quota" in big["error"], big
    assert "could not be uploaded" in big["error"]
    assert len(list((quota_server.tmp / "data" / "artifacts").rglob("*-*"))) == 1  # the small one only
