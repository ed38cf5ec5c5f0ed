"""A runner killed with kill -9 leaves no task process running (Linux): its node processes and the commands
they started die with it, so their side effects do not happen twice (the server runs the task again)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from conftest import node_obj, wait_until
from fake_server import make_task

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for init to reap it: it runs nothing)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:].split()[0] not in (b"Z", b"X")


def start_runner(fake_server, tmp_path, executor):
    env = dict(os.environ, NODEWORKS_RUNNER_CONFIG=str(tmp_path / "none.json"))
    log = open(str(tmp_path / "runner.log"), "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "nodeworks_runner.cli", "run", "--url", fake_server.url, "--token", fake_server.token,
         "--executors", executor, "--concurrency", "1", "--work-dir", str(tmp_path / "work"),
         "--state-dir", str(tmp_path / "state"), "--cancel-grace", "1", "--heartbeat", "0.3", "--lease-wait", "0.5"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


@pytest.mark.parametrize("executor", ["local", "shell"])
@pytest.mark.parametrize("how", ["exec", "child"])
def test_a_killed_runner_leaves_no_task_process_running(executor, how, fake_server, tmp_path):
    pid_file = tmp_path / "command.pid"
    if how == "exec":  # the command is the node process's own child
        command = "echo $$ > %s; exec sleep 300" % pid_file
    else:  # a grandchild, in the command's process group
        command = "sleep 300 & echo $! > %s; wait" % pid_file
    node = node_obj("cmd", ["shell", "Command"], {"command": None}, ["stdout", "stderr", "returncode"])
    task = make_task(1, node, {"command": command}, executor=executor)
    fake_server.add(task)
    runner = start_runner(fake_server, tmp_path, executor)
    left = []  # killed by the test if it fails: a failing run must not leave sleeps behind
    try:
        wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 60, "the command to start")
        command_pid = int(pid_file.read_text())
        node_pid = wait_until(lambda: next((hb["running"][task["lease_id"]].get("pid") for hb in fake_server.heartbeats
                                            if task["lease_id"] in (hb.get("running") or {})), None),
                              20, "a heartbeat naming the node process")
        left += [command_pid, node_pid]
        assert running(command_pid) and running(node_pid)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(10)
        # The grace period (1 s) for the node's cancel, then SIGKILL at the latest: gone within a few seconds.
        wait_until(lambda: not running(command_pid) and not running(node_pid), 8,
                   "the node process %d and its command %d to die with the runner" % (node_pid, command_pid))
    finally:
        if runner.poll() is None:
            os.kill(runner.pid, signal.SIGKILL)
            runner.wait(10)
        for pid in left:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
    assert fake_server.results == []  # nobody reported it: the server runs it again, once
