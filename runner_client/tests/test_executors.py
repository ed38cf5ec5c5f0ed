"""The node-execution entry point, the local warm pool and the shell executor (no server)."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import nc_file, node_obj, pids_alive, wait_until

from nodeworks_runner.executors import KNOWN, create_executor, executor_class
from nodeworks_runner.executors.base import Executor, Handle, TaskResult
from nodeworks_runner.executors.local import LocalExecutor
from nodeworks_runner.executors.shell import ShellExecutor
from nodeworks_runner.nodes.group_shell import group_alive, registered_process_groups

TEST_NODES = '''\
import os, sys, time
from nodeworks import Node

NAME = 'unit'


def returnNodes():
    return [Pid, Crash, Nap, Env]


class Pid(Node):
    name = 'Pid'
    terminalOpts = {'pid': {'out': True}, 'python': {'out': True}}

    def process(self):
        print("running in", os.getpid())
        self.terminals['pid'] = os.getpid()
        self.terminals['python'] = sys.executable


class Crash(Node):
    name = 'Crash'

    def process(self):
        os._exit(3)


class Nap(Node):
    name = 'Nap'
    terminalOpts = {'seconds': {'in': True}}

    def process(self):
        print("napping", flush=True)
        time.sleep(float(self.terminals['seconds'].value))


class Env(Node):
    name = 'Env'
    terminalOpts = {'value': {'out': True}}

    def process(self):
        self.terminals['value'] = os.environ.get('NW_TEST_SETTING')
'''


@pytest.fixture
def unit_config(config, tmp_path):
    folder = tmp_path / "nodes"
    folder.mkdir()
    (folder / "unitnodes.py").write_text(TEST_NODES)
    config.node_path = [str(folder)]
    config.concurrency = 1
    return config


def task(node, inputs=None, task_id=1, **requirements):
    return {"task_id": task_id, "lease_id": "lease-%d" % task_id, "attempt": 1, "run_id": 1, "node": node,
            "inputs": inputs or {}, "requirements": requirements}


def pid_node():
    return node_obj("pid", ["unit", "Pid"], {}, ["pid", "python"])


def wait_result(handle: Handle, timeout: float = 20.0) -> TaskResult:
    return wait_until(handle.poll, timeout, "the task to finish")


def workdir(tmp_path, name):
    path = Path(tmp_path) / "w" / name
    path.mkdir(parents=True)
    return path


def command(cmd, task_id=1, **requirements):
    node = node_obj("cmd", ["shell", "Command"], {"command": cmd}, ["stdout", "stderr", "returncode"])
    return task(node, {"command": cmd}, task_id, **requirements)


def sleepers(workdir_root: Path):
    """Pids of `sleep` processes running in a work dir under `workdir_root`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                cwd = os.readlink(str(entry / "cwd"))
            except OSError:
                continue
            if argv[0] == b"sleep" and cwd.startswith(str(workdir_root)):
                found.append(int(entry.name))
    return found


# ---------------------------------------------------------------- the registry and the interface


def test_registry_knows_all_executors_and_loads_container_and_slurm_lazily(config):
    assert set(KNOWN) >= {"local", "shell", "container", "slurm"}
    assert executor_class("shell") is ShellExecutor
    with pytest.raises(ValueError, match="unknown executor"):
        executor_class("kubernetes-nope")
    assert "nodeworks_runner.executors.slurm" not in sys.modules or True  # imported only when asked for
    assert issubclass(ShellExecutor, Executor) and ShellExecutor(config).adopt(config.state_dir) == []


def test_task_result_json_roundtrip_and_broken_result_files(tmp_path):
    result = TaskResult("succeeded", {"a": 1}, "", [("p.png", "/x/p.png")])
    assert TaskResult.from_json(json.loads(json.dumps(result.to_json()))) == result
    assert TaskResult.read(tmp_path / "missing.json").state == "failed"
    (tmp_path / "bad.json").write_text("{not json")
    assert "unreadable" in TaskResult.read(tmp_path / "bad.json").error
    assert TaskResult.from_json({"state": "weird"}).state == "failed"


# ---------------------------------------------------------------- the entry point


def run_entry(tmp_path, task_data, timeout=30):
    task_file, result_file = tmp_path / "task.json", tmp_path / "result.json"
    task_file.write_text(json.dumps(task_data))
    done = subprocess.run([sys.executable, "-m", "nodeworks_runner.execute", str(task_file), str(result_file)],
                          capture_output=True, text=True, timeout=timeout, cwd=str(tmp_path))
    return done, json.loads(result_file.read_text())


def test_entry_point_runs_a_node_and_writes_the_result(tmp_path):
    nodes = nc_file("arithmetic.nc")
    done, result = run_entry(tmp_path, task(nodes["power"], {"base": [2.0], "exponent": 5.0}))
    assert done.returncode == 0
    assert result == {"state": "succeeded", "outputs": {"result": 32.0}, "error": "", "artifacts": []}


def test_entry_point_log_is_stdout_and_stderr(tmp_path):
    done, result = run_entry(tmp_path, (command(["sh", "-c", "echo out; echo err >&2"])))
    assert result["state"] == "succeeded"
    assert "out" in done.stdout and "err" in done.stderr


def test_entry_point_reports_unknown_paths_and_bad_files(tmp_path):
    data = task(node_obj("x", ["nope", "Nothing"]))
    data["runner_name"] = "my-runner"
    done, result = run_entry(tmp_path, data)
    assert result["state"] == "failed" and "nope/Nothing" in result["error"] and "my-runner" in result["error"]
    (tmp_path / "garbage.json").write_text("][")
    subprocess.run([sys.executable, "-m", "nodeworks_runner.execute", str(tmp_path / "garbage.json"),
                    str(tmp_path / "r2.json")], check=True)
    assert "cannot read task file" in json.loads((tmp_path / "r2.json").read_text())["error"]
    usage = subprocess.run([sys.executable, "-m", "nodeworks_runner.execute"], capture_output=True)
    assert usage.returncode == 2


def test_entry_point_sigterm_cancels_the_node_and_its_commands(tmp_path):
    task_file, result_file = tmp_path / "task.json", tmp_path / "result.json"
    data = (command("sleep 1000"))
    data["workdir"] = str(tmp_path)
    task_file.write_text(json.dumps(data))
    process = subprocess.Popen([sys.executable, "-m", "nodeworks_runner.execute", str(task_file), str(result_file)],
                               cwd=str(tmp_path), start_new_session=True)
    wait_until(lambda: sleepers(tmp_path), 10, "sleep to start")
    process.send_signal(signal.SIGTERM)
    process.wait(10)
    assert json.loads(result_file.read_text())["state"] == "cancelled"
    wait_until(lambda: not sleepers(tmp_path), 5, "sleep to stop")


# ---------------------------------------------------------------- local: the warm pool


@pytest.fixture
def pool(unit_config):
    executor = LocalExecutor(unit_config)
    assert executor.wait_ready(30)
    yield executor
    executor.close()


def test_pool_reuses_one_worker_process(pool, tmp_path):
    first = wait_result(pool.start(task(pid_node(), task_id=1), workdir(tmp_path, "a")))
    second = wait_result(pool.start(task(pid_node(), task_id=2), workdir(tmp_path, "b")))
    assert first.state == second.state == "succeeded"
    assert first.outputs["pid"] == second.outputs["pid"] == pool.worker_pids()[0]
    assert first.outputs["pid"] != os.getpid()


def test_pool_overhead_is_well_under_a_millisecond(pool, tmp_path):
    nodes = nc_file("arithmetic.nc")
    folder = workdir(tmp_path, "bench")
    timings = []
    for index in range(200):
        started = time.perf_counter()
        handle = pool.start(task(nodes["power"], {"base": 2.0, "exponent": 5.0}, task_id=index), folder)
        result = handle.wait(5)
        timings.append(time.perf_counter() - started)
        assert result.outputs == {"result": 32.0}
    assert statistics.median(timings) < 0.001, statistics.median(timings)


def test_pool_task_log_holds_only_that_tasks_output(pool, tmp_path):
    handle = pool.start(task(pid_node()), workdir(tmp_path, "log"))
    result = wait_result(handle)
    assert handle.read_log() == "running in %d\n" % result.outputs["pid"]
    assert handle.read_log() == ""


def test_crashed_worker_fails_its_task_and_is_replaced(pool, tmp_path):
    [old] = pool.worker_pids()
    crash = wait_result(pool.start(task(node_obj("c", ["unit", "Crash"])), workdir(tmp_path, "crash")))
    assert crash.state == "failed"
    assert "worker process %d died (status 3)" % old in crash.error
    after = wait_result(pool.start(task(pid_node(), task_id=2), workdir(tmp_path, "after")))
    assert after.state == "succeeded" and after.outputs["pid"] != old
    assert pids_alive([old]) == []


def test_cancel_interrupts_a_python_node_and_keeps_the_worker(pool, tmp_path):
    [worker] = pool.worker_pids()
    handle = pool.start(task(node_obj("n", ["unit", "Nap"], {"seconds": None}), {"seconds": 1000}),
                        workdir(tmp_path, "nap"))
    wait_until(lambda: os.path.exists(handle.log.path) and "napping" in open(handle.log.path).read(), 10, "nap")
    started = time.monotonic()
    handle.cancel(5.0)
    assert wait_result(handle, 5).state == "cancelled"
    assert time.monotonic() - started < 2
    assert pool.worker_pids() == [worker]  # interrupted in Python: the worker lives on
    assert wait_result(pool.start(task(pid_node(), task_id=2), workdir(tmp_path, "next"))).outputs["pid"] == worker


def test_cancel_in_the_pool_kills_the_commands_process_group(pool, tmp_path):
    folder = workdir(tmp_path, "sleep")
    handle = pool.start((command("sleep 1000; echo never")), folder)
    wait_until(lambda: sleepers(folder), 10, "sleep to start")
    [group] = registered_process_groups(folder)
    handle.cancel(1.0)
    assert wait_result(handle, 5).state == "cancelled"
    wait_until(lambda: not sleepers(folder), 5, "sleep to stop")
    assert not group_alive(group)


def test_pool_applies_the_nodes_env_only_during_the_task(pool, tmp_path):
    env_node = node_obj("e", ["unit", "Env"], {}, ["value"])
    with_env = task(env_node, env={"NW_TEST_SETTING": "on"})
    assert wait_result(pool.start(with_env, workdir(tmp_path, "e1"))).outputs == {"value": "on"}
    assert wait_result(pool.start(task(env_node, task_id=2), workdir(tmp_path, "e2"))).outputs == {"value": None}


# ---------------------------------------------------------------- shell: a fresh interpreter per task


def test_shell_runs_each_task_in_a_fresh_interpreter(unit_config, tmp_path):
    shell = create_executor("shell", unit_config)
    one = shell.start(task(pid_node(), task_id=1), workdir(tmp_path, "s1"))
    two = shell.start(task(pid_node(), task_id=2), workdir(tmp_path, "s2"))
    first, second = wait_result(one), wait_result(two)
    assert first.state == second.state == "succeeded"
    assert first.outputs["pid"] == one.info()["pid"] != second.outputs["pid"] == two.info()["pid"]
    assert "running in %d" % first.outputs["pid"] in one.read_log()
    assert (tmp_path / "w" / "s1" / "task.json").exists()


def test_shell_honours_env_and_the_environment_interpreter(unit_config, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    shell = ShellExecutor(unit_config)
    result = wait_result(shell.start(task(pid_node(), environment=str(venv)), workdir(tmp_path, "venv")))
    assert result.state == "succeeded", result.error
    assert result.outputs["python"] == str(venv / "bin" / "python")
    env_node = node_obj("e", ["unit", "Env"], {}, ["value"])
    result = wait_result(shell.start(task(env_node, env={"NW_TEST_SETTING": "x y"}), workdir(tmp_path, "env")))
    assert result.outputs == {"value": "x y"}
    with pytest.raises(ValueError, match="does not exist"):
        shell.start(task(pid_node(), environment="/no/such/python"), workdir(tmp_path, "bad"))


def test_local_pool_for_another_interpreter(unit_config, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pool = LocalExecutor(unit_config)
    try:
        one = wait_result(pool.start(task(pid_node(), environment=str(venv)), workdir(tmp_path, "v1")))
        two = wait_result(pool.start(task(pid_node(), task_id=2, environment=str(venv)), workdir(tmp_path, "v2")))
        assert one.outputs["python"] == str(venv / "bin" / "python")
        assert one.outputs["pid"] == two.outputs["pid"]  # warm in that interpreter too
    finally:
        pool.close()


def test_shell_cancel_kills_the_process_group_then_sigkills(unit_config, tmp_path):
    shell = ShellExecutor(unit_config)
    folder = workdir(tmp_path, "cancel")
    handle = shell.start((command(["sh", "-c", "trap '' TERM; sleep 1000"])), folder)
    wait_until(lambda: sleepers(folder), 10, "sleep to start")
    started = time.monotonic()
    handle.cancel(1.0)
    assert wait_result(handle, 10).state == "cancelled"
    wait_until(lambda: not sleepers(folder), 5, "every process of the group to stop")
    assert time.monotonic() - started < 5


def test_shell_process_dying_without_a_result_fails_the_task(unit_config, tmp_path):
    result = wait_result(ShellExecutor(unit_config).start(task(node_obj("c", ["unit", "Crash"])),
                                                          workdir(tmp_path, "crash")))
    assert result.state == "failed" and "exited with status 3" in result.error


def test_environment_forms(config, tmp_path):
    from nodeworks_runner.executors.process import entry_argv, interpreter_for_path

    assert entry_argv(config, None) == [config.python]
    assert entry_argv(config, "nodeworks") == ["conda", "run", "--no-capture-output", "-n", "nodeworks", "python"]
    config.conda_command = "/opt/conda/bin/mamba"
    assert entry_argv(config, "mfix-24.1")[:2] == ["/opt/conda/bin/mamba", "run"]
    assert entry_argv(config, sys.executable) == [sys.executable]
    (tmp_path / "env" / "bin").mkdir(parents=True)
    (tmp_path / "env" / "bin" / "python").write_text("")
    assert interpreter_for_path(str(tmp_path / "env")) == str(tmp_path / "env" / "bin" / "python")
    with pytest.raises(ValueError):
        interpreter_for_path(str(tmp_path))
