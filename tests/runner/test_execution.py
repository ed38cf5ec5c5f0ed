"""Executors and failure handling with real runner processes: warm pool, crashes, kill -9, cancel."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.runner.conftest import connect, make_node, node, plugin_file, workflow_of

TEST_NODES = '''\
import os
import time

from nodeworks import Node

NAME = 'test nodes'


def returnNodes():
    return [Pid, Crash]


class Pid(Node):
    """Outputs the pid of the process it runs in."""
    name = 'Pid'

    def __init__(self, parent=None):
        self.terminalOpts = {'after': {'in': True, 'multiinput': True}, 'pid': {'out': True}}
        Node.__init__(self, parent)

    def process(self):
        self.terminals['pid'].value = os.getpid()


class Crash(Node):
    """Kills its own process without a word."""
    name = 'Crash'

    def __init__(self, parent=None):
        self.terminalOpts = {'after': {'in': True, 'multiinput': True}}
        Node.__init__(self, parent)

    def process(self):
        os._exit(3)
'''


@pytest.fixture
def test_nodes(tmp_path) -> Path:
    folder = tmp_path / "test-nodes"
    plugin_file(folder, "testnodes.py", TEST_NODES)
    return folder


def pid_node(name):
    return make_node(name, ["test nodes", "Pid"], inputs={"after": None}, outputs=("pid",), multi=("after",))


def test_warm_pool_reuses_a_worker_and_replaces_a_crashed_one(start_runner, publish_and_execute, wait_run,
                                                              user_api, test_nodes):
    start_runner("r-pool", executors=("local",), concurrency=1, extra_args=["--node-path", str(test_nodes)])
    first, second = pid_node("first"), pid_node("second")
    workflow = workflow_of(first, second)
    connect(workflow, ("first", "pid"), ("second", "after"))
    workflow_id, run_id = publish_and_execute(workflow)
    status = wait_run(workflow_id, run_id=run_id)
    assert status["run"]["state"] == "succeeded", status
    worker_pid = node(status, "first")["outputs"]["pid"]
    assert node(status, "second")["outputs"]["pid"] == worker_pid  # same warm worker, no new interpreter

    crash = make_node("crash", ["test nodes", "Crash"], inputs={"after": None}, multi=("after",))
    workflow_id, run_id = publish_and_execute(workflow_of(crash))
    status = wait_run(workflow_id, run_id=run_id)
    assert status["run"]["state"] == "failed", status
    error = node(status, "crash")["error"]
    assert f"worker process {worker_pid} died" in error and "status 3" in error, error

    workflow_id, run_id = publish_and_execute(workflow_of(pid_node("after-crash")))
    status = wait_run(workflow_id, run_id=run_id)
    assert status["run"]["state"] == "succeeded", status
    new_pid = node(status, "after-crash")["outputs"]["pid"]
    assert new_pid != worker_pid  # the crashed worker was replaced
    with pytest.raises(ProcessLookupError):
        os.kill(worker_pid, 0)


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_kill_9_mid_task_stops_it_requeues_and_the_late_result_gets_409(start_runner, publish_and_execute, wait_run,
                                                                user_api):
    command = make_node("slow", ["shell", "Command"], inputs={"command": ["sh", "-c", "sleep 2; echo finished"]},
                        outputs=("stdout", "stderr", "returncode"), requirements={"executor": "shell"})
    first = start_runner("r-first", executors=("shell",))
    workflow_id, run_id = publish_and_execute(workflow_of(command))
    wait_for(lambda: node(user_api.get(f"/api/v1/workflow/status/{workflow_id}?run={run_id}"), "slow")["state"]
             == "running", 15, "the task to run on the first runner")
    wait_for(lambda: any("$ sh -c" in p.read_text() for p in first.home.rglob("log.txt")), 15, "the command to start")
    first.kill9()
    second = start_runner("r-second", executors=("shell",))
    status = wait_run(workflow_id, run_id=run_id, timeout=30)
    assert status["run"]["state"] == "succeeded", status
    slow = node(status, "slow")
    assert (slow["runner"], slow["attempt"], slow["state"]) == ("r-second", 2, "succeeded"), slow
    assert slow["outputs"]["stdout"] == "finished\n"

    # The orphaned attempt 1 died with its runner (issue 11 item 8: cancelled, never finished) and left that result
    # behind; the restarted runner reports it late.
    [result] = wait_for(lambda: list(first.home.rglob("result.json")), 10, "attempt 1 to write its result")
    assert json.loads(result.read_text())["state"] == "cancelled"
    assert "\nfinished\n" not in (result.parent / "log.txt").read_text()
    first.restart()
    wait_for(lambda: "refused with 409" in first.log(), 15, "the late result to be refused")
    assert "(late, from before a restart)" in first.log()
    status = user_api.get(f"/api/v1/workflow/status/{workflow_id}?run={run_id}")
    assert node(status, "slow") == slow  # one final result: attempt 2's
    assert "leased" in second.log()


def sleep_processes(under: Path) -> list[int]:
    """Pids of `sleep 1000` processes whose working directory is under `under`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if argv[:2] == [b"sleep", b"1000"] and cwd.startswith(str(under)):
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("executor", ["shell", "local"])
def test_cancel_stops_the_process_group(executor, start_runner, publish_and_execute, wait_run, user_api):
    command = make_node("sleeper", ["shell", "Command"], inputs={"command": "sleep 1000"},
                        outputs=("stdout", "stderr", "returncode"), requirements={"executor": executor})
    runner = start_runner(f"r-cancel-{executor}", executors=(executor,))
    workflow_id, run_id = publish_and_execute(workflow_of(command))
    wait_for(lambda: sleep_processes(runner.home), 15, "sleep 1000 to start")
    user_api.post(f"/api/v1/workflow/cancel/{workflow_id}", {})
    cancelled_at = time.monotonic()
    wait_for(lambda: not sleep_processes(runner.home), 5, "no sleep 1000 left")
    assert time.monotonic() - cancelled_at < 5
    status = wait_run(workflow_id, run_id=run_id, timeout=10)
    assert status["run"]["state"] == "cancelled"
    wait_for(lambda: node(user_api.get(f"/api/v1/workflow/status/{workflow_id}?run={run_id}"), "sleeper")["state"]
             == "cancelled", 5, "the task to be reported cancelled")
    assert runner.process.poll() is None  # the runner goes on
