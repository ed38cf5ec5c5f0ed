"""Issue 11, items 1 and 9: each result of a batch is answered on its own. A value the database cannot
store (NUL, a lone surrogate) or a result that finished before it started fails only its task, with the
reason in its answer (status 400); the other results of the batch are accepted; never a 500 for all."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.engine.conftest import API, fan_out, start_run, tasks_by_node
from workflows.models import RunState, TaskLog, TaskState

pytestmark = pytest.mark.usefixtures("engine_settings")


def _lease_all(client, count):
    leased = client.lease(max_tasks=count)
    assert len(leased) == count
    return {task["node"]["uniquename"]: task for task in leased}


def _post_ascii(client, call, body):
    """The body as ASCII JSON (what a runner's json.dumps sends): DRF's test client would refuse to
    encode a lone surrogate, which a real client can send escaped as \\ud800."""
    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in client.headers.items()}
    response = client.client.post(API + call, data=json.dumps(body), content_type="application/json", **extra)
    return response.status_code, response.json()


def _item(task, **fields):
    return {"lease_id": task["lease_id"], "state": "succeeded", "outputs": {"out": 1}, **fields}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "poison",
    [
        {"out": "a\u0000b"},
        {"out": {"deep": ["x", "nul\u0000"]}},
        {"o\u0000ut": 1},
        {"out": "\ud800"},
    ],
    ids=["nul-string", "nul-nested", "nul-key", "lone-surrogate"],
)
def test_unstorable_output_fails_its_task_only(owner, owner_runner, poison):
    run = start_run(owner, fan_out(3))
    _, client = owner_runner
    [root] = _lease_all(client, 1).values()  # the root of the fan-out
    status, answer = client.result(root["lease_id"], "succeeded", {"out": 2})
    assert status == 200, answer
    children = {task["node"]["uniquename"]: task for task in answer["next"]}
    children.update(_lease_all(client, 3 - len(children)) if len(children) < 3 else {})
    names = sorted(children)
    bad, good = names[0], names[1:]
    items = [_item(children[bad], outputs=poison)] + [_item(children[name]) for name in good]
    status, answer = _post_ascii(client, "results", {"results": items})
    assert status == 200, answer
    verdicts = {verdict["lease_id"]: verdict for verdict in answer["results"]}
    refused = verdicts[children[bad]["lease_id"]]
    assert refused["accepted"] is False and refused["status"] == 400, refused
    assert "outputs" in refused["reason"] and "cannot be stored" in refused["reason"], refused
    assert refused["state"] == TaskState.FAILED
    for name in good:
        assert verdicts[children[name]["lease_id"]]["accepted"] is True
    stored = tasks_by_node(run)
    assert stored[bad].state == TaskState.FAILED and "result refused" in stored[bad].error
    assert all(stored[name].state == TaskState.SUCCEEDED for name in good)
    run.refresh_from_db()
    assert run.state == RunState.FAILED, "the run ends instead of running for ever"
    # A resend of the refused result (its answer lost) is not refused again nor a 500.
    status, again = _post_ascii(client, "results", {"results": [items[0]]})
    assert status == 200 and again["results"][0]["state"] == TaskState.FAILED, again


@pytest.mark.django_db
def test_nul_in_error_is_stored_visible(owner, owner_runner):
    run = start_run(owner, fan_out(1))
    _, client = owner_runner
    [task] = client.lease()
    item = {"lease_id": task["lease_id"], "state": "failed", "error": "boom\u0000here \ud800"}
    status, answer = _post_ascii(client, "results", {"results": [item]})
    assert status == 200 and answer["results"][0]["accepted"], answer
    stored = tasks_by_node(run)[task["node"]["uniquename"]]
    assert stored.state == TaskState.FAILED and stored.error.startswith("boom\u2400here"), stored.error


@pytest.mark.django_db
def test_finished_before_started_is_refused_for_that_item(owner, owner_runner):
    run = start_run(owner, fan_out(1))
    _, client = owner_runner
    [root] = client.lease()
    status, answer = client.result(root["lease_id"], "succeeded", {"out": 1})
    children = answer["next"] + client.lease(max_tasks=1)
    assert len(children) == 1
    now = timezone.now()
    backwards = _item(children[0], started=now.isoformat(), finished=(now - timedelta(seconds=5)).isoformat())
    status, answer = client.results([backwards])
    assert status == 200, answer
    [verdict] = answer["results"]
    assert verdict["accepted"] is False and verdict["status"] == 400
    assert "before started" in verdict["reason"], verdict
    run.refresh_from_db()
    assert run.state == RunState.FAILED


@pytest.mark.django_db
def test_stale_items_keep_409_and_say_so(owner, owner_runner):
    start_run(owner, fan_out(1))
    _, client = owner_runner
    [task] = client.lease()
    assert client.result(task["lease_id"], "succeeded", {"out": 1})[0] == 200
    other = {"lease_id": "00000000-0000-4000-8000-000000000000", "state": "succeeded", "outputs": {}}
    status, answer = client.results([other])
    assert status == 409 and answer["results"][0]["status"] == 409, answer


@pytest.mark.django_db
def test_nul_in_log_chunk_is_stored_visible(owner, owner_runner):
    run = start_run(owner, fan_out(1))
    _, client = owner_runner
    [task] = client.lease()
    status, answer = client.log(task["lease_id"], 0, "a\u0000b\n")
    assert status == 200 and answer["next_offset"] == 4, answer
    status, answer = _post_ascii(client, "logs", {"lease_id": task["lease_id"], "offset": 4, "data": "c\ud800d\n"})
    assert status == 200 and answer["next_offset"] == 4 + 3 + 3, answer
    log = TaskLog.objects.get(task=tasks_by_node(run)[task["node"]["uniquename"]])
    assert log.data == "a\u2400b\ncd\n" and log.size == 10


@pytest.mark.django_db
def test_a_value_the_checks_miss_still_fails_only_its_item(owner, owner_runner, monkeypatch):
    """The safety net under the checks: with them switched off, PostgreSQL's own refusal (DataError) of one
    success in a batch refuses that item alone; the batch's other successes are applied."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite stores a NUL: the database refuses nothing here")
    from workflows.lifecycle import results as results_module

    monkeypatch.setattr(results_module, "unstorable_text", lambda value, where: None)
    run = start_run(owner, fan_out(3))
    _, client = owner_runner
    [root] = client.lease()
    status, answer = client.result(root["lease_id"], "succeeded", {"out": 2})
    children = {task["node"]["uniquename"]: task for task in answer["next"] + client.lease(max_tasks=3)}
    names = sorted(children)
    items = [_item(children[names[0]], outputs={"out": "a\u0000b"})] + [_item(children[n]) for n in names[1:]]
    status, answer = client.results(items)
    assert status == 200, answer
    verdicts = {verdict["lease_id"]: verdict for verdict in answer["results"]}
    bad = verdicts[children[names[0]]["lease_id"]]
    assert bad["accepted"] is False and bad["status"] == 400 and "database" in bad["reason"], bad
    assert all(verdicts[children[n]["lease_id"]]["accepted"] for n in names[1:])
    stored = tasks_by_node(run)
    assert stored[names[0]].state == TaskState.FAILED
    assert all(stored[n].state == TaskState.SUCCEEDED for n in names[1:])


@pytest.mark.django_db
def test_a_refused_failure_keeps_the_runners_error(owner, owner_runner):
    run = start_run(owner, fan_out(1))
    _, client = owner_runner
    [task] = client.lease()
    now = timezone.now()
    item = {"lease_id": task["lease_id"], "state": "failed", "error": "Traceback: boom",
            "started": now.isoformat(), "finished": (now - timedelta(seconds=1)).isoformat()}
    status, answer = client.results([item])
    assert status == 200 and answer["results"][0]["status"] == 400, answer
    stored = tasks_by_node(run)[task["node"]["uniquename"]]
    assert stored.state == TaskState.FAILED and "before started" in stored.error and "Traceback: boom" in stored.error
