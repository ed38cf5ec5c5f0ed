"""The runner loop against a stdlib fake of the runner protocol: batching, spooling, back-off, cancel, lost, signals."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import node_obj, wait_until
from fake_server import make_task

from nodeworks_runner.executors import REGISTRY
from nodeworks_runner.executors.base import NoCapacity
from nodeworks_runner.executors.local import LocalExecutor
from nodeworks_runner.leasing import retry_after_s
from nodeworks_runner.worker import Runner

PLUGIN = '''\
import os, time
from nodeworks import Node

NAME = 'loop'


def returnNodes():
    return [Nap, Read, Big]


class Nap(Node):
    name = 'Nap'
    terminalOpts = {'seconds': {'in': True}, 'slept': {'out': True}}

    def process(self):
        print("nap starts", flush=True)
        time.sleep(float(self.terminals['seconds'].value))
        self.terminals['slept'] = self.terminals['seconds'].value


class Read(Node):
    name = 'Read'
    terminalOpts = {'file': {'in': True}, 'text': {'out': True}}

    def process(self):
        with open(self.terminals['file'].value) as handle:
            self.terminals['text'] = handle.read()


class Big(Node):
    name = 'Big'
    terminalOpts = {'array': {'out': True}}

    def process(self):
        import numpy
        self.terminals['array'] = numpy.arange(2000.0)
'''


@pytest.fixture
def loop_config(config, fake_server, tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "loopnodes.py").write_text(PLUGIN)
    config.url = fake_server.url
    config.token = fake_server.token
    config.node_path = [str(folder)]
    return config


def power_node():
    return node_obj("power", ["math", "Power"], {"base": None, "exponent": None}, ["result"], multi=("base", "exponent"))


def nap(task_id, seconds, executor="local"):
    node = node_obj("nap%d" % task_id, ["loop", "Nap"], {"seconds": None}, ["slept"])
    return make_task(task_id, node, {"seconds": seconds}, executor=executor)


def test_once_runs_tasks_reports_in_a_batch_and_takes_successors(loop_config, fake_server):
    command = node_obj("cmd", ["shell", "Command"], {"command": None}, ["stdout", "stderr", "returncode"])
    first = make_task(1, power_node(), {"base": [2], "exponent": 10})
    second = make_task(2, command, {"command": ["echo", "hello log"]}, executor="shell")
    successor = make_task(3, power_node(), {"base": 3, "exponent": 2})
    fake_server.add(first, second)
    fake_server.successors[1] = [successor]
    assert Runner(loop_config).run(once=True) == 0
    assert fake_server.result_for(1)["outputs"] == {"result": 1024}
    assert fake_server.result_for(2)["outputs"]["stdout"] == "hello log\n"
    assert fake_server.result_for(3)["outputs"] == {"result": 9}  # handed back in `next`, run at once
    assert "hello log" in fake_server.logs[second["lease_id"]]
    assert all(r["started"] and r["finished"] for r in fake_server.results)
    assert list(Path(loop_config.spool_dir).glob("*.json")) == []


@pytest.mark.parametrize("executor", ["local", "shell"])
def test_large_arrays_become_artifacts_and_placeholders_get_ids(executor, loop_config, fake_server):
    pytest.importorskip("numpy")
    loop_config.inline_limit_bytes = 1024  # the 16 kB array goes as an artifact
    fake_server.add(make_task(1, node_obj("big", ["loop", "Big"], {}, ["array"]), executor=executor))
    Runner(loop_config).run(once=True)
    result = fake_server.result_for(1)
    assert result["state"] == "succeeded", result
    array = result["outputs"]["array"]
    assert array["$nw"] == "artifact" and array["kind"] == "ndarray" and "path" not in array
    name, data, lease = fake_server.artifacts[array["id"]]
    assert name == "big-0.npy" and data[:6] == b"\x93NUMPY"


def test_plot_artifact_is_uploaded(loop_config, fake_server):
    pytest.importorskip("matplotlib")
    plot = node_obj("plot", ["matplotlib", "Plot"], {"x": None, "y": None}, [], multi=("x", "y"))
    fake_server.add(make_task(1, plot, {"x": [[0, 1, 2]], "y": [[0, 1, 4]]}))
    Runner(loop_config).run(once=True)
    assert fake_server.result_for(1)["state"] == "succeeded"
    [(name, data, lease)] = fake_server.artifacts.values()
    assert name == "plot.png" and data[:4] == b"\x89PNG"


def test_artifact_inputs_are_downloaded_for_the_node(loop_config, fake_server):
    fake_server.artifacts["a-1"] = ("notes.txt", b"from upstream", "earlier-lease")
    read = node_obj("read", ["loop", "Read"], {"file": None}, ["text"])
    fake_server.add(make_task(1, read, {"file": {"$nw": "artifact", "id": "a-1", "name": "notes.txt"}}))
    Runner(loop_config).run(once=True)
    assert fake_server.result_for(1)["outputs"] == {"text": "from upstream"}


def test_results_are_retried_through_5xx(loop_config, fake_server):
    fake_server.fail_results = 3
    fake_server.add(make_task(1, power_node(), {"base": 2, "exponent": 3}))
    Runner(loop_config).run(once=True)
    assert fake_server.result_for(1)["outputs"] == {"result": 8}
    assert fake_server.calls.count("results") == 4


def test_a_result_is_spooled_while_the_server_is_down_and_sent_after_a_restart(loop_config, fake_server,
                                                                               background_runner):
    task = make_task(1, power_node(), {"base": 2, "exponent": 4})
    fake_server.add(task)
    runner = background_runner(Runner(loop_config))
    wait_until(lambda: "lease" in fake_server.calls and fake_server.leased, 5, "the lease")
    fake_server.fail_all = True  # down: every call answers 503
    spool = Path(loop_config.spool_dir)
    wait_until(lambda: list(spool.glob("*.json")), 10, "the result to be spooled")
    runner.runner.delivery.backoff.failures = 5  # leave soon: the spool keeps it
    runner.stop()
    assert fake_server.results == []
    [entry] = [json.loads(p.read_text()) for p in spool.glob("*.json")]
    assert entry["lease_id"] == task["lease_id"] and entry["outputs"] == {"result": 16}
    fake_server.fail_all = False
    Runner(loop_config).run(once=True)  # a new process: it finds the spool and sends it
    assert fake_server.result_for(1)["outputs"] == {"result": 16}
    assert list(spool.glob("*.json")) == []


def test_once_sends_a_recovered_result_even_when_the_queue_is_empty_first(loop_config, fake_server, tmp_path):
    # A result spooled by an earlier start is in no slot; --once must not take the first empty lease
    # answer for "done" while it waits to be sent (here: its delivery held back for 0.5 s).
    task = make_task(1, power_node(), {"base": 2, "exponent": 4})
    fake_server.leased[task["lease_id"]] = task
    first = Runner(loop_config)
    first.delivery.spool.save(first.delivery.spool.new_entry(
        task=task, state="succeeded", outputs={"result": 16}, error="", started="2026-12-02T10:00:00+00:00",
        finished="2026-12-02T10:00:01+00:00", artifacts=[], log_offset=0, log_data="", workdir=str(tmp_path)))
    runner = Runner(loop_config)
    runner.delivery.backoff.next_at = time.monotonic() + 0.5
    runner.run(once=True)
    assert fake_server.result_for(1)["outputs"] == {"result": 16}


def test_heartbeat_cancel_stops_the_task_and_reports_cancelled(loop_config, fake_server, background_runner):
    task = nap(1, 1000)
    fake_server.add(task)
    runner = background_runner(Runner(loop_config))
    wait_until(lambda: any(task["lease_id"] in hb.get("running", {}) for hb in fake_server.heartbeats), 10,
               "a heartbeat saying it runs")
    fake_server.lease_answers[task["lease_id"]] = "cancel"
    wait_until(lambda: fake_server.result_for(1), 10, "the cancelled result")
    assert fake_server.result_for(1)["state"] == "cancelled"
    runner.stop()


def test_heartbeat_lost_stops_the_task_and_reports_nothing(loop_config, fake_server, background_runner):
    task = nap(1, 1000, executor="shell")
    fake_server.add(task)
    runner = background_runner(Runner(loop_config))
    wait_until(lambda: task["lease_id"] in runner.runner.slots.running, 10, "the task to start")
    handle = runner.runner.slots.running[task["lease_id"]].handle
    fake_server.lease_answers[task["lease_id"]] = "lost"
    wait_until(lambda: handle.poll() is not None, 10, "the task to stop")
    wait_until(lambda: not runner.runner.slots.running, 5, "the loop to drop it")
    time.sleep(0.3)
    assert fake_server.results == [] and fake_server.refused == []
    runner.stop()


def test_first_signal_drains_running_tasks(loop_config, fake_server, background_runner):
    loop_config.concurrency = 1  # no lease call in flight while the task runs
    fake_server.add(nap(1, 0.5))
    runner = background_runner(Runner(loop_config))
    wait_until(lambda: runner.runner.slots.running, 10, "the task to start")
    fake_server.add(nap(2, 0))
    runner.runner.shutdown.on_signal(15, None)  # as SIGTERM does
    runner.thread.join(15)
    assert not runner.thread.is_alive()
    assert fake_server.result_for(1)["state"] == "succeeded"
    assert fake_server.result_for(2) is None and len(fake_server.queue) == 1  # nothing new leased


def test_second_signal_stops_tasks_now_and_reports_them(loop_config, fake_server, background_runner):
    fake_server.add(nap(1, 1000, executor="shell"))
    runner = background_runner(Runner(loop_config))
    wait_until(lambda: runner.runner.slots.running, 10, "the task to start")
    started = time.monotonic()
    runner.runner.shutdown.on_signal(15, None)
    runner.runner.shutdown.on_signal(2, None)
    runner.thread.join(15)
    assert not runner.thread.is_alive() and time.monotonic() - started < 10
    result = fake_server.result_for(1)
    assert result["state"] == "failed" and "shut down" in result["error"]


def test_server_asking_for_shutdown_drains(loop_config, fake_server, background_runner):
    runner = background_runner(Runner(loop_config))
    fake_server.add(nap(1, 0.3))
    wait_until(lambda: runner.runner.slots.running, 10, "the task to start")
    fake_server.shutdown_flag = True
    runner.thread.join(15)
    assert not runner.thread.is_alive() and fake_server.result_for(1)["state"] == "succeeded"


def test_an_idle_runner_asked_to_shut_down_exits(loop_config, fake_server, background_runner):
    # An idle runner holds no lease, so no heartbeat brings it the request: the lease answer must.
    runner = background_runner(Runner(loop_config))
    time.sleep(0.5)  # idle: leasing, nothing to do
    fake_server.shutdown_flag = True
    runner.thread.join(10)
    assert not runner.thread.is_alive(), "an idle runner asked to shut down kept running"


def test_a_task_for_an_executor_not_offered_fails_with_the_runner_named(loop_config, fake_server):
    loop_config.executors = ["local"]
    fake_server.add(make_task(1, power_node(), {"base": 1, "exponent": 1}, executor="kubernetes"))
    Runner(loop_config).run(once=True)
    result = fake_server.result_for(1)
    assert result["state"] == "failed" and "unit-runner" in result["error"] and "kubernetes" in result["error"]


def test_a_bad_token_stops_the_runner(loop_config, fake_server):
    loop_config.token = "nwr_wrong"
    started = time.monotonic()
    assert Runner(loop_config).run() == 3
    assert time.monotonic() - started < 10


def test_walltime_is_enforced(loop_config, fake_server):
    task = nap(1, 1000)
    task["requirements"]["walltime_s"] = 0.5
    fake_server.add(task)
    Runner(loop_config).run(once=True)
    result = fake_server.result_for(1)
    assert result["state"] == "failed" and "walltime" in result["error"]


class FullOnceExecutor(LocalExecutor):
    """The local executor, refusing its first task with NoCapacity (like slurm at slurm_max_jobs)."""

    name = "fullonce"
    refused = 0

    def start(self, task, workdir):
        if FullOnceExecutor.refused == 0:
            FullOnceExecutor.refused += 1
            raise NoCapacity("full")
        return super().start(task, workdir)


def test_no_capacity_keeps_the_task_and_starts_it_later(loop_config, fake_server, monkeypatch):
    monkeypatch.setitem(REGISTRY, "fullonce", "test_worker_loop:FullOnceExecutor")
    loop_config.executors = ["fullonce"]
    fake_server.add(make_task(1, power_node(), {"base": 2, "exponent": 2}, executor="fullonce"))
    Runner(loop_config).run(once=True)
    assert FullOnceExecutor.refused == 1
    assert fake_server.result_for(1)["outputs"] == {"result": 4}


# ---------------------------------------------------------------- `lease` inside `results` (one call per batch)


def results_bodies(fake_server):
    return [body for name, body in fake_server.bodies if name == "results"]


def test_results_lease_the_freed_slots_and_the_next_tasks_run(loop_config, fake_server):
    loop_config.prefetch = 0  # exactly the free slots (prefetch: test_fast_path.py)
    count = 12
    fake_server.add(*[make_task(i, power_node(), {"base": 2, "exponent": i}) for i in range(1, count + 1)])
    assert Runner(loop_config).run(once=True) == 0
    assert [fake_server.result_for(i)["outputs"] for i in range(1, count + 1)] == [
        {"result": 2 ** i} for i in range(1, count + 1)]
    bodies = results_bodies(fake_server)
    assert bodies and all(body["lease"]["executors"] == ["local", "shell"] for body in bodies)
    assert all(0 <= body["lease"]["max_tasks"] <= loop_config.concurrency for body in bodies)
    assert any(body["lease"]["max_tasks"] > 0 for body in bodies)
    # The first lease call fills the two slots; every other task came back in `next` of a results call.
    assert sorted(fake_server.handed_in_next) == list(range(loop_config.concurrency + 1, count + 1))
    assert fake_server.calls.count("lease") <= 4 < count  # the first, and the ones that find the queue empty
    assert fake_server.most_leased <= loop_config.concurrency  # never more leased than the slots


def test_the_long_poll_leaves_the_freed_slots_to_the_results_call(loop_config, fake_server):
    loop_config.prefetch = 0  # exactly the free slots (prefetch: test_fast_path.py)
    loop_config.concurrency = 1
    fake_server.results_delay_s = 1.5  # the long-poll thread wakes up (at least once a second) meanwhile
    fake_server.add(*[make_task(i, power_node(), {"base": 2, "exponent": i}) for i in (1, 2, 3)])
    Runner(loop_config).run(once=True)
    assert [fake_server.result_for(i)["outputs"] for i in (1, 2, 3)] == [{"result": 2}, {"result": 4}, {"result": 8}]
    assert fake_server.handed_in_next == [2, 3]
    assert [body["max_tasks"] for name, body in fake_server.bodies if name == "lease"][0] == 1
    assert fake_server.most_leased == 1


def test_a_successor_comes_first_in_next(loop_config, fake_server):
    loop_config.prefetch = 0  # exactly the free slots (prefetch: test_fast_path.py)
    loop_config.concurrency = 1
    fake_server.add(make_task(1, power_node(), {"base": 2, "exponent": 1}),
                    make_task(2, power_node(), {"base": 2, "exponent": 2}))
    fake_server.successors[1] = [make_task(3, power_node(), {"base": 3, "exponent": 1})]
    Runner(loop_config).run(once=True)
    assert fake_server.handed_in_next == [3, 2]  # chain affinity first, then the queue
    assert [r["task_id"] for r in fake_server.results] == [1, 3, 2]
    assert [body["lease"]["max_tasks"] for body in results_bodies(fake_server)] == [1, 1, 1]


def test_draining_reports_with_a_lease_of_nothing_and_takes_no_new_task(loop_config, fake_server, background_runner):
    loop_config.concurrency = 1
    fake_server.add(nap(1, 0.5))
    fake_server.successors[1] = [nap(2, 0)]
    runner = background_runner(Runner(loop_config))
    wait_until(lambda: runner.runner.slots.running, 10, "the task to start")
    fake_server.add(nap(3, 0))
    runner.runner.shutdown.on_signal(15, None)  # as SIGTERM does: finish the running task, take nothing new
    runner.thread.join(15)
    assert not runner.thread.is_alive()
    assert fake_server.result_for(1)["state"] == "succeeded"
    assert [body["lease"] for body in results_bodies(fake_server)] == [{"max_tasks": 0, "executors": ["local", "shell"]}]
    assert fake_server.handed_in_next == [] and fake_server.result_for(2) is None
    assert sorted(task["task_id"] for task in fake_server.queue) == [2, 3]  # both left for other runners


def test_tasks_in_next_of_a_409_answer_run(loop_config, fake_server, background_runner):
    loop_config.concurrency = 1
    first = nap(1, 0.5)
    fake_server.add(first)
    runner = background_runner(Runner(loop_config))
    wait_until(lambda: runner.runner.slots.running, 10, "the task to start")
    fake_server.lease_answers[first["lease_id"]] = "ok"  # heartbeats still fine, but its result will be stale
    fake_server.leased.pop(first["lease_id"])
    fake_server.add(nap(2, 0))
    wait_until(lambda: fake_server.result_for(2), 10, "the task handed back with the 409")
    assert [r["lease_id"] for r in fake_server.refused] == [first["lease_id"]]
    assert fake_server.handed_in_next == [2] and "409" not in fake_server.result_for(2).get("error", "")
    runner.stop()


def test_a_server_ignoring_lease_in_results_is_leased_from_separately(loop_config, fake_server):
    fake_server.lease_in_results = "ignore"  # a server from before the addition
    fake_server.add(*[make_task(i, power_node(), {"base": 2, "exponent": i}) for i in range(1, 6)])
    Runner(loop_config).run(once=True)
    assert [fake_server.result_for(i)["state"] for i in range(1, 6)] == ["succeeded"] * 5
    assert fake_server.handed_in_next == [] and fake_server.calls.count("lease") >= 3


def test_a_refused_lease_in_results_never_costs_a_result(loop_config, fake_server):
    fake_server.lease_in_results = "reject"  # 400 for a results call with `lease`
    fake_server.add(*[make_task(i, power_node(), {"base": 2, "exponent": i}) for i in range(1, 4)])
    runner = Runner(loop_config)
    runner.run(once=True)
    assert [fake_server.result_for(i)["outputs"] for i in range(1, 4)] == [{"result": 2}, {"result": 4}, {"result": 8}]
    bodies = results_bodies(fake_server)
    assert "lease" in bodies[0] and all("lease" not in body for body in bodies[1:])  # resent without it
    assert [r["lease_id"] for r in bodies[1]["results"]] == [r["lease_id"] for r in bodies[0]["results"]]
    assert not runner.delivery.lease_with_results


def test_a_lease_answered_with_retry_after_is_asked_again_only_after_it(loop_config, fake_server, background_runner):
    loop_config.lease_wait_s = 5.0  # a real long-poll: no pacing of its own between empty answers
    fake_server.lease_retry_after_s = 0.5  # the server's long-poll slots are full: it answers at once
    runner = background_runner(Runner(loop_config))
    time.sleep(1.6)
    calls = fake_server.calls.count("lease")
    assert 2 <= calls <= 5, calls  # not a call every few milliseconds
    fake_server.lease_retry_after_s = None
    fake_server.add(make_task(1, power_node(), {"base": 2, "exponent": 3}))
    wait_until(lambda: fake_server.result_for(1), 10, "the task queued meanwhile")
    assert fake_server.result_for(1)["outputs"] == {"result": 8}
    runner.stop()


@pytest.mark.parametrize("answer, expected", [
    ({"tasks": [], "retry_after_s": 2.5}, 2.5), ({"tasks": []}, 0.0), ({"retry_after_s": "soon"}, 0.0),
    ({"retry_after_s": -3}, 0.0), ({"retry_after_s": 1e9}, 60.0), (None, 0.0), ([], 0.0),
])
def test_retry_after_is_read_defensively(answer, expected):
    assert retry_after_s(answer) == expected
