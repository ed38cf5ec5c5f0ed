"""Heartbeats never wait behind a slow call: an artifact upload or download, or a results call.

A lease lives only as long as its heartbeats: if one slow call held them back for longer than the
lease's time to live, the server would take every lease back and the runner would kill its running
tasks. The fake server answers one kind of call slowly; the heartbeats must keep arriving on time
meanwhile, naming the lease whose call is slow.
"""

from __future__ import annotations

import time

import pytest
from conftest import node_obj, wait_until
from fake_server import make_task
from test_worker_loop import loop_config, power_node  # noqa: F401 (a fixture, and the node it runs)

from nodeworks_runner.worker import Runner

SLOW_S = 2.5
HEARTBEAT_S = 0.2  # the `config` fixture's heartbeat period
LONGEST_SILENCE_S = 1.0  # five periods: what a loop blocked by the slow call would miss by far


def big_array_task(config):
    pytest.importorskip("numpy")
    config.inline_limit_bytes = 1024  # the node's 16 kB array goes as an artifact upload
    return make_task(1, node_obj("big", ["loop", "Big"], {}, ["array"]))


def artifact_input_task(fake_server):
    fake_server.artifacts["a-1"] = ("notes.txt", b"from upstream", "earlier-lease")
    read = node_obj("read", ["loop", "Read"], {"file": None}, ["text"])
    return make_task(1, read, {"file": {"$nw": "artifact", "id": "a-1", "name": "notes.txt"}})


@pytest.mark.parametrize("slow_call", ["upload", "download", "results"])
def test_heartbeats_keep_their_pace_during_a_slow_call(slow_call, loop_config, fake_server):  # noqa: F811
    assert loop_config.heartbeat_s == HEARTBEAT_S
    if slow_call == "upload":
        task = big_array_task(loop_config)
        fake_server.upload_delay_s = SLOW_S
    elif slow_call == "download":
        task = artifact_input_task(fake_server)
        fake_server.download_delay_s = SLOW_S
    else:
        task = make_task(1, power_node(), {"base": 2, "exponent": 5})
        fake_server.results_delay_s = SLOW_S
    fake_server.add(task)

    assert Runner(loop_config).run(once=True) == 0

    assert fake_server.result_for(1)["state"] == "succeeded", fake_server.result_for(1)
    [(name, started, ended)] = fake_server.slow_calls
    assert name == slow_call
    during = [at for at, body in zip(fake_server.heartbeat_at, fake_server.heartbeats)
              if started <= at <= ended and task["lease_id"] in body["lease_ids"]]
    moments = [started, *during, ended]
    silence = max(later - earlier for earlier, later in zip(moments, moments[1:]))
    assert silence < LONGEST_SILENCE_S, "no heartbeat for %.1f s during the slow %s (%d heartbeats in %.1f s)" % (
        silence, slow_call, len(during), ended - started)


def test_a_slow_upload_does_not_delay_the_heartbeats_of_other_running_tasks(loop_config, fake_server):  # noqa: F811
    """The running task's lease is extended while another task's artifact goes up, and it then finishes."""
    uploading = big_array_task(loop_config)
    running = make_task(2, node_obj("nap", ["loop", "Nap"], {"seconds": None}, ["slept"]), {"seconds": SLOW_S + 1})
    fake_server.upload_delay_s = SLOW_S
    fake_server.add(running, uploading)

    assert Runner(loop_config).run(once=True) == 0

    assert fake_server.result_for(1)["state"] == "succeeded" and fake_server.result_for(2)["state"] == "succeeded"
    [(_, started, ended)] = fake_server.slow_calls
    during = [at for at, body in zip(fake_server.heartbeat_at, fake_server.heartbeats)
              if started <= at <= ended and running["lease_id"] in body.get("running", {})]
    assert len(during) >= int(SLOW_S / HEARTBEAT_S / 2), during
    wait_until(lambda: not fake_server.leased, 1, "every lease returned with its result")


def test_a_task_waiting_for_its_inputs_is_heartbeated_within_its_lease(loop_config, fake_server):  # noqa: F811
    """No task start asks for a heartbeat while the inputs download: the lease's own time sets the pace,
    not a --heartbeat period longer than the lease."""
    loop_config.heartbeat_s = 60.0
    task = artifact_input_task(fake_server)
    task["expires_at"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 3))
    fake_server.download_delay_s = SLOW_S
    fake_server.add(task)

    assert Runner(loop_config).run(once=True) == 0

    assert fake_server.result_for(1)["state"] == "succeeded"
    [(_, started, ended)] = fake_server.slow_calls
    named = [at for at, body in zip(fake_server.heartbeat_at, fake_server.heartbeats) if task["lease_id"] in body["lease_ids"]]
    assert named and named[0] < started + 1.5, "first heartbeat %.1f s into the download" % ((named or [ended])[0] - started)
