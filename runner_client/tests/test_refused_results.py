"""One refused result never blocks the others: a batch refused as a whole (500, 400, 413) is split until the
refused result is found; it is reported failed instead, or dropped, after bounded tries; the rest is delivered."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import node_obj, wait_until
from fake_server import make_task
from test_worker_loop import power_node, results_bodies

from nodeworks_runner.delivery import TRIES_OF_A_RESULT, about_lease
from nodeworks_runner.spool import Spool, utcnow_iso
from nodeworks_runner.worker import Runner


@pytest.fixture
def loop_config(config, fake_server):
    config.url = fake_server.url
    config.token = fake_server.token
    config.concurrency = 4
    return config


def command_task(task_id, command):
    node = node_obj("cmd%d" % task_id, ["shell", "Command"], {"command": None}, ["stdout", "stderr", "returncode"])
    return make_task(task_id, node, {"command": command}, executor="local")


def holds_nul(result) -> bool:
    return "\\u0000" in json.dumps(result)  # how a NUL character travels in JSON


def powers(*ids):
    return [make_task(i, power_node(), {"base": 2, "exponent": i}) for i in ids]


def test_a_result_the_server_fails_on_is_found_and_reported_failed_and_the_others_are_delivered(
        loop_config, fake_server):
    fake_server.poisoned = holds_nul  # today's server: one NUL character, 500 for the whole batch
    poison = command_task(3, ["printf", "a\\0b"])
    fake_server.add(*powers(1, 2), poison, *powers(4, 5, 6))
    runner = Runner(loop_config)
    assert runner.run(once=True) == 0
    assert [fake_server.result_for(i)["outputs"] for i in (1, 2, 4, 5, 6)] == [{"result": 2 ** i} for i in (1, 2, 4, 5, 6)]
    failed = fake_server.result_for(3)
    assert failed["state"] == "failed" and failed["outputs"] == {}
    assert "refused" in failed["error"] and "succeeded" in failed["error"] and "500" in failed["error"]
    # Bounded: the poisoned result was tried on its own TRIES_OF_A_RESULT times, no more.
    alone = [leases for status, leases in fake_server.refused_batches if leases == [poison["lease_id"]]]
    assert TRIES_OF_A_RESULT <= len(alone) <= TRIES_OF_A_RESULT + 2  # + a 500 not counted if no call got through
    assert list(Path(loop_config.spool_dir).glob("*.json")) == []


def test_a_result_refused_for_good_is_dropped_while_heartbeats_and_leasing_go_on(
        loop_config, fake_server, background_runner):
    fake_server.poisoned = lambda result: result["lease_id"] == poison["lease_id"]  # even as a plain failure
    poison = powers(3)[0]
    fake_server.add(*powers(1, 2), poison)
    runner = background_runner(Runner(loop_config))
    wait_until(lambda: fake_server.result_for(1) and fake_server.result_for(2), 10, "the other results")
    wait_until(lambda: fake_server.refused_batches, 10, "the poisoned batch")
    first_refusal = len(fake_server.heartbeats)
    # While the poisoned result is tried again, its lease is still heartbeated and new work is leased and run.
    fake_server.add(*powers(7))
    wait_until(lambda: fake_server.result_for(7), 10, "a task leased meanwhile")
    spool = Path(loop_config.spool_dir)
    wait_until(lambda: not list(spool.glob("*.json")), 20, "the poisoned result to be dropped")
    assert len(fake_server.heartbeats) > first_refusal
    assert any(poison["lease_id"] in hb["lease_ids"] for hb in fake_server.heartbeats[first_refusal:])
    assert fake_server.result_for(3) is None
    alone = [leases for _, leases in fake_server.refused_batches if leases == [poison["lease_id"]]]
    # As it was, then as a plain failure (+ a 500 not counted when no other call got through in between).
    assert 2 * TRIES_OF_A_RESULT <= len(alone) <= 2 * TRIES_OF_A_RESULT + 4
    assert not runner.runner.slots.reported  # its slot is free again
    runner.stop()


def test_a_400_for_one_result_drops_it_at_once_and_keeps_leasing_in_results(loop_config, fake_server):
    fake_server.poison_status = 400
    fake_server.poisoned = holds_nul
    poison = command_task(2, ["printf", "a\\0b"])
    fake_server.add(*powers(1), poison, *powers(3))
    runner = Runner(loop_config)
    runner.run(once=True)
    assert fake_server.result_for(1)["state"] == fake_server.result_for(3)["state"] == "succeeded"
    failed = fake_server.result_for(2)
    assert failed["state"] == "failed" and "400" in failed["error"] and "\x00" not in failed["error"]
    alone = [leases for _, leases in fake_server.refused_batches if leases == [poison["lease_id"]]]
    assert len(alone) == 1  # a 4xx for one result alone is not retried as it is
    assert runner.delivery.lease_with_results  # a 400 about the results is not about `lease`
    assert all("lease" in body for body in results_bodies(fake_server))


def spooled(config, fake_server, count, size):
    """Results finished while the runner was down, all sent in its first batch (as after a restart or an outage)."""
    spool = Spool(config.spool_dir)
    for task_id in range(1, count + 1):
        task = make_task(task_id, power_node())
        fake_server.leased[task["lease_id"]] = task
        spool.new_entry(task=task, state="succeeded", outputs={"text": "%0*d" % (size, task_id)}, error="",
                        started=utcnow_iso(), finished=utcnow_iso(), artifacts=[], log_offset=0, log_data="",
                        workdir="")


def test_a_413_splits_the_batch(loop_config, fake_server):
    fake_server.results_max_body = 1500  # about two of these results per call
    spooled(loop_config, fake_server, 6, 400)
    Runner(loop_config).run(once=True)
    assert [fake_server.result_for(i)["outputs"]["text"] for i in range(1, 7)] == ["%0400d" % i for i in range(1, 7)]
    assert [status for status, _ in fake_server.refused_batches][:1] == [413]
    assert list(Path(loop_config.spool_dir).glob("*.json")) == []


def test_a_batch_is_capped_by_bytes(loop_config, fake_server):
    loop_config.results_max_bytes = 1500
    spooled(loop_config, fake_server, 6, 400)
    Runner(loop_config).run(once=True)
    assert [fake_server.result_for(i)["outputs"]["text"] for i in range(1, 7)] == ["%0400d" % i for i in range(1, 7)]
    bodies = results_bodies(fake_server)
    assert [len(body["results"]) for body in bodies] == [2, 2, 2]  # about 560 bytes each
    assert all(len(json.dumps(body["results"])) < 1500 for body in bodies)
    assert fake_server.refused_batches == []


def test_a_refused_lease_key_is_asked_again_later(loop_config, fake_server, monkeypatch, background_runner):
    import nodeworks_runner.delivery as delivery

    monkeypatch.setattr(delivery, "LEASE_REPROBE_S", 0.5)
    fake_server.lease_in_results = "reject"
    fake_server.add(*powers(1))
    runner = background_runner(Runner(loop_config))
    wait_until(lambda: fake_server.result_for(1), 10, "the first result")
    assert "lease" not in results_bodies(fake_server)[-1]  # resent without it
    fake_server.lease_in_results = "yes"  # the server was upgraded
    time.sleep(0.6)
    fake_server.add(*powers(2))
    wait_until(lambda: fake_server.result_for(2), 10, "the second result")
    assert "lease" in results_bodies(fake_server)[-1] and runner.runner.delivery.lease_with_results
    runner.stop()


@pytest.mark.parametrize("body, expected", [
    ({"executors": {"0": ["not a valid choice"]}}, True),
    ({"lease.max_tasks": ["too large"]}, True),
    ({"lease": ["unexpected"]}, True),
    ({"results[2].outputs": ["cannot be stored"]}, False),
    ({"non_field_errors": ["Expected a JSON object."]}, False),
    ("plain text", False),
])
def test_a_400_is_about_lease_only_when_it_names_it(body, expected):
    assert about_lease(body) is expected


def test_a_result_refused_in_its_verdict_is_dropped_not_resent(loop_config, fake_server):
    fake_server.refuse_verdicts[2] = "outputs: cannot be stored (NUL character)"
    fake_server.add(*powers(1, 2))
    Runner(loop_config).run(once=True)
    assert fake_server.result_for(1)["state"] == "succeeded" and fake_server.result_for(2) is None
    sent = [r["lease_id"] for body in results_bodies(fake_server) for r in body["results"]]
    assert len(sent) == len(set(sent)) == 2  # each sent once: the refused one is not resent
    assert list(Path(loop_config.spool_dir).glob("*.json")) == []


def test_an_answer_not_about_the_results_keeps_them_spooled(loop_config, fake_server, background_runner):
    fake_server.poison_status = 404  # e.g. a wrong URL or a proxy's page: nothing says the results are bad
    fake_server.poisoned = lambda result: True
    fake_server.add(*powers(1, 2))
    runner = background_runner(Runner(loop_config))
    wait_until(lambda: len(fake_server.refused_batches) >= 4, 20, "results calls answered 404")
    files = [json.loads(p.read_text()) for p in Path(loop_config.spool_dir).glob("*.json")]
    # Results collected together share one batch file (a list); one collected alone has its own.
    spooled = [entry for data in files for entry in (data if isinstance(data, list) else [data])]
    assert sorted(entry["task_id"] for entry in spooled) == [1, 2]
    assert all(entry["state"] == "succeeded" and not entry.get("rewritten") for entry in spooled)
    fake_server.poisoned = None  # the server is back: both are delivered as they were
    wait_until(lambda: fake_server.result_for(1) and fake_server.result_for(2), 20, "the results")
    assert [fake_server.result_for(i)["outputs"] for i in (1, 2)] == [{"result": 2}, {"result": 4}]
    runner.stop()
