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
