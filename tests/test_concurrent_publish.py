"""Parallel publishes of one workflow: each lands as its own commit on a linear history; none is lost.

Needs a database that several threads share: a file for SQLite (see django_db_modify_db_settings in
tests/conftest.py) or PostgreSQL, and committed data, hence transaction=True.
"""

import copy
import itertools
import json
import threading

import pytest
from django.db import connections
from git import Repo
from rest_framework.test import APIClient

from tests.conftest import nc_file, publish
from workflows import git_store
from workflows.models import Revision, Workflow

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

THREADS = 10


def _run_in_threads(target, count: int) -> list:
    """Runs target(i) in `count` threads started together; returns their results or raises their first error."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,), name=f"publisher-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a publisher hung"
    if errors:
        raise errors[0]
    return results


@pytest.mark.django_db(transaction=True)
def test_parallel_publishes_make_a_linear_history(alice):
    owner = APIClient()
    owner.force_authenticate(alice)
    created = publish(owner, "contended", nc_file("arithmetic.nc"), message="initial")
    assert created.status_code == 201, created.content
    workflow_id = created.json()["id"]
    first_sha = created.json()["revision"]

    def version(i: int) -> dict:
        workflow = copy.deepcopy(nc_file("arithmetic.nc"))
        workflow["integer"]["terminals"]["int"]["value"] = 1000 + i
        return workflow

    def publish_one(i: int) -> tuple[int, str]:
        client = APIClient()
        client.force_authenticate(alice)
        response = client.post(
            f"/api/v1/workflow/publish/{workflow_id}",
            {"workflow": version(i), "message": f"writer {i}"},
            format="json",
        )
        assert response.status_code == 201, (i, response.status_code, response.content)
        return i, response.json()["revision"]

    results = _run_in_threads(publish_one, THREADS)
    shas = {i: sha for i, sha in results}
    assert len(shas) == THREADS
    assert len(set(shas.values())) == THREADS
    assert first_sha not in shas.values()

    # Each writer's revision holds exactly what that writer sent.
    for i, sha in shas.items():
        got = owner.get(f"/api/v1/workflow/get/{workflow_id}", {"revision": sha})
        assert got.status_code == 200
        assert got["X-Nodeworks-Revision"] == sha
        assert json.loads(got.content) == version(i)

    history = owner.get(f"/api/v1/workflow/history/{workflow_id}").json()
    assert len(history) == THREADS + 1
    listed = [entry["revision"] for entry in history]
    assert len(set(listed)) == THREADS + 1
    assert listed[-1] == first_sha
    assert set(listed[:-1]) == set(shas.values())
    assert sorted(entry["message"].strip() for entry in history[:-1]) == sorted(f"writer {i}" for i in range(THREADS))

    workflow = Workflow.objects.get(pk=workflow_id)
    assert workflow.head_revision == listed[0]
    assert Revision.objects.filter(workflow=workflow).count() == THREADS + 1
    assert set(Revision.objects.filter(workflow=workflow).values_list("sha", flat=True)) == set(listed)

    # The parent chain in git is linear: every commit has exactly the next older one as its only parent.
    repo = Repo(git_store.repo_path(str(workflow.repo_key)))
    try:
        for newer, older in itertools.pairwise(listed):
            assert [parent.hexsha for parent in repo.commit(newer).parents] == [older]
        assert repo.commit(first_sha).parents == ()
        # The latest content is one of the writers' and it is the head's.
        latest = json.loads(owner.get(f"/api/v1/workflow/get/{workflow_id}").content)
        assert latest == version(next(i for i, sha in shas.items() if sha == listed[0]))
    finally:
        repo.close()


@pytest.mark.django_db(transaction=True)
def test_parallel_publishes_with_the_same_base_revision_let_exactly_one_win(alice):
    owner = APIClient()
    owner.force_authenticate(alice)
    created = publish(owner, "contended", nc_file("arithmetic.nc"))
    assert created.status_code == 201
    workflow_id = created.json()["id"]
    base = created.json()["revision"]

    def publish_one(i: int) -> tuple[int, int, str]:
        client = APIClient()
        client.force_authenticate(alice)
        workflow = nc_file("arithmetic.nc")
        workflow["integer"]["terminals"]["int"]["value"] = i
        response = client.post(
            f"/api/v1/workflow/publish/{workflow_id}", {"workflow": workflow, "base_revision": base}, format="json"
        )
        return i, response.status_code, response.json().get("revision", "")

    results = _run_in_threads(publish_one, 6)
    statuses = sorted(status for _, status, _ in results)
    assert statuses == [201] + [409] * 5
    winner = next((i, sha) for i, status, sha in results if status == 201)
    history = owner.get(f"/api/v1/workflow/history/{workflow_id}").json()
    assert [entry["revision"] for entry in history] == [winner[1], base]
    assert Revision.objects.filter(workflow_id=workflow_id).count() == 2
    latest = json.loads(owner.get(f"/api/v1/workflow/get/{workflow_id}").content)
    assert latest["integer"]["terminals"]["int"]["value"] == winner[0]


@pytest.mark.django_db(transaction=True)
def test_parallel_new_workflows_each_get_their_own_repository(alice, bob):
    users = [alice, bob]

    def publish_new(i: int) -> dict:
        client = APIClient()
        client.force_authenticate(users[i % 2])
        response = publish(client, f"wf {i}", nc_file("sine_plot.nc"), message=f"new {i}")
        assert response.status_code == 201, response.content
        return response.json()

    results = _run_in_threads(publish_new, 8)
    assert len({body["id"] for body in results}) == 8
    assert Workflow.objects.count() == 8
    assert Revision.objects.count() == 8
    keys = {str(w.repo_key) for w in Workflow.objects.all()}
    assert len(keys) == 8
    for key in keys:
        assert git_store.repo_path(key).is_dir()
    assert Workflow.objects.filter(owner=alice).count() == 4
