"""Unit tests of the container executor with a fake ``podman``/``docker`` command line (no engine needed).

The fake engine records every call (argv, one JSON line each) and, for ``run``, behaves as told by
the ``FAKE_ENGINE_*`` variables of its own environment: prints, exits with a status, or sleeps
until it is stopped. The real engine is tested in tests/runner/test_container_executor.py.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest
from fake_server import make_task

from nodeworks_runner.executors.base import CANCELLED, FAILED, SUCCEEDED
from nodeworks_runner.executors.container import ContainerExecutor, FinishedHandle, parse_command

FAKE_ENGINE = r'''#!PYTHON
import json, os, signal, sys, time
calls = os.environ["FAKE_ENGINE_CALLS"]
with open(calls, "a") as handle:
    handle.write(json.dumps(sys.argv) + "\n")
args = sys.argv[1:]
while args and args[0].startswith("--"):
    args.pop(0)  # global flags
sub = args[0] if args else ""
if sub == "run":
    mode = os.environ.get("FAKE_ENGINE_MODE", "print")
    if mode == "sleep":
        stop_file = os.environ["FAKE_ENGINE_CALLS"] + ".stopped"
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
        for _ in range(600):
            if os.path.exists(stop_file):
                sys.exit(137)
            time.sleep(0.05)
        sys.exit(0)
    if mode == "engine-error":
        print("Error: image not known", file=sys.stderr)
        sys.exit(125)
    print("out line")
    print("err line", file=sys.stderr)
    sys.exit(int(os.environ.get("FAKE_ENGINE_STATUS", "0")))
if sub == "stop":
    open(os.environ["FAKE_ENGINE_CALLS"] + ".stopped", "w").close()
sys.exit(0)
'''


@pytest.fixture
def engine(tmp_path, monkeypatch):
    """A fake engine named podman (and docker) first on PATH; returns a reader of its recorded calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("podman", "docker"):
        path = bin_dir / name
        path.write_text(FAKE_ENGINE.replace("PYTHON", sys.executable, 1))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "engine-calls.jsonl"
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("FAKE_ENGINE_CALLS", str(calls))

    def read() -> list:
        if not calls.exists():
            return []
        return [json.loads(line) for line in calls.read_text().splitlines() if line.strip()]

    return read


@pytest.fixture
def cconfig(config):
    config.container_command = "podman"
    config.container_global_args = ["--runtime=runc", "--storage-driver=vfs"]
    config.container_image_default = "localhost/busybox:test"
    config.container_network = "none"
    config.executors = ["container"]
    return config


def command_task(command, **requirements):
    node = {"name": "cmd", "uniquename": "cmd", "path": ["shell", "Command"], "terminals": {}}
    return make_task(7, node, {"command": command}, executor="container", **requirements)


def wait(handle, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = handle.poll()
        if result is not None:
            return result
        time.sleep(0.02)
    raise AssertionError("the handle did not finish")


def workdir_for(config, task) -> Path:
    path = Path(config.work_dir) / task["lease_id"]
    path.mkdir(parents=True)
    return path


# ------------------------------------------------------------------ command line


def test_command_line_is_an_argument_list_with_no_network(cconfig, engine):
    task = command_task("echo $HOME; rm -rf /", env={"A": "x y; $(id)", "NETWORK": "host"}, cpus=2, memory_mb=512)
    executor = ContainerExecutor(cconfig)
    workdir = workdir_for(cconfig, task)
    argv, kind, check = executor.build_argv(task, workdir, "nodeworks-" + task["lease_id"])
    assert kind == "command" and check is True
    assert argv[:4] == ["podman", "--runtime=runc", "--storage-driver=vfs", "run"]
    assert "--network=none" in argv
    assert argv[argv.index("--name") + 1] == "nodeworks-" + task["lease_id"]
    assert argv[-4:] == ["localhost/busybox:test", "/bin/sh", "-c", "echo $HOME; rm -rf /"]
    assert "A=x y; $(id)" in argv  # one argument, never parsed by a shell
    assert argv[argv.index("--cpus") + 1] == "2" and argv[argv.index("--memory") + 1] == "512m"
    assert f"{workdir}:{workdir}:rw" in argv
    assert not any(a.startswith("--network=host") for a in argv)


def test_network_comes_only_from_the_runner_config(cconfig, engine):
    cconfig.container_network = "slirp4netns"
    executor = ContainerExecutor(cconfig)
    task = command_task(["true"])
    argv, _, _ = executor.build_argv(task, workdir_for(cconfig, task), "n")
    assert "--network=slirp4netns" in argv


def test_image_from_requirements_wins_and_bad_images_fail(cconfig, engine):
    executor = ContainerExecutor(cconfig)
    task = command_task(["true"], image="registry.example.org/tools:1")
    argv, _, _ = executor.build_argv(task, workdir_for(cconfig, task), "n")
    assert argv[-2:] == ["registry.example.org/tools:1", "true"]

    bad = command_task(["true"], image="--privileged")
    result = executor.start(bad, workdir_for(cconfig, bad)).poll()
    assert result.state == FAILED and "invalid image" in result.error

    cconfig.container_image_default = ""
    none = command_task(["true"])
    handle = ContainerExecutor(cconfig).start(none, workdir_for(cconfig, none))
    assert isinstance(handle, FinishedHandle)
    assert handle.poll().state == FAILED and "no image" in handle.poll().error
    assert "no image" in handle.read_log()


def test_bad_env_name_fails_the_task(cconfig, engine):
    task = command_task(["true"], env={"BAD NAME": "1"})
    result = ContainerExecutor(cconfig).start(task, workdir_for(cconfig, task)).poll()
    assert result.state == FAILED and "BAD NAME" in result.error
    assert engine() == []  # nothing was run


def test_docker_runs_as_the_runner_user_and_asks_for_gpus(cconfig, engine):
    cconfig.container_command = "docker"
    cconfig.container_global_args = []
    task = command_task(["nvidia-smi"], gpus=1)
    argv, _, _ = ContainerExecutor(cconfig).build_argv(task, workdir_for(cconfig, task), "n")
    assert argv[argv.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
    assert argv[argv.index("--gpus") + 1] == "1"


def test_parse_command():
    assert parse_command(["ls", "-l"]) == ["ls", "-l"]
    assert parse_command([["ls", "-l"]]) == ["ls", "-l"]  # a multiinput list of one argv
    assert parse_command("ls | wc") == ["/bin/sh", "-c", "ls | wc"]
    for bad in ("  ", [], None, 3):
        with pytest.raises(ValueError):
            parse_command(bad)


def test_python_node_interpreters(cconfig, engine):
    executor = ContainerExecutor(cconfig)
    node = {"name": "p", "uniquename": "p", "path": ["math", "Power"], "terminals": {}}

    task = make_task(1, node, {"base": 2, "exponent": 3}, executor="container", environment="/opt/py/bin/python")
    workdir = workdir_for(cconfig, task)
    argv, kind, _ = executor.build_argv(task, workdir, "n")
    assert kind == "python"
    tail = argv[argv.index("localhost/busybox:test"):]
    assert tail == ["localhost/busybox:test", "/opt/py/bin/python", "-m", "nodeworks_runner.execute",
                    str(workdir / "task.json"), str(workdir / "result.json")]
    assert any(a.endswith(":/opt/nodeworks-runner/nodeworks_runner:ro") for a in argv)
    assert "PYTHONPATH=/opt/nodeworks-runner" in argv
    assert json.loads((workdir / "task.json").read_text())["lease_id"] == task["lease_id"]

    task = make_task(2, node, {}, executor="container", environment="nodeworks")
    argv, _, _ = executor.build_argv(task, workdir_for(cconfig, task), "n")
    tail = argv[argv.index("localhost/busybox:test") + 1:]
    assert tail[:6] == ["conda", "run", "--no-capture-output", "-n", "nodeworks", "python"]

    # No interpreter in the image: the runner's own, mounted read-only at its own paths.
    task = make_task(3, node, {}, executor="container")
    argv, _, _ = executor.build_argv(task, workdir_for(cconfig, task), "n")
    assert argv[argv.index("localhost/busybox:test") + 1] == cconfig.python
    prefix = os.path.abspath(sys.base_prefix)
    assert f"{prefix}:{prefix}:ro" in argv or any(prefix.startswith(a.split(":")[0] + "/") for a in argv
                                                     if a.endswith(":ro"))


# ------------------------------------------------------------------ running (fake engine)


def test_command_outputs_and_log(cconfig, engine):
    task = command_task(["echo", "hi"])
    handle = ContainerExecutor(cconfig).start(task, workdir_for(cconfig, task))
    result = wait(handle)
    assert result.state == SUCCEEDED
    assert result.outputs == {"stdout": "out line\n", "stderr": "err line\n", "returncode": 0}
    log = handle.read_log()
    assert log.startswith("$ podman --runtime=runc --storage-driver=vfs run --rm --name nodeworks-")
    assert "out line" in log and "err line" in log
    assert handle.info()["container"] == "nodeworks-" + task["lease_id"]


def test_nonzero_status_fails_unless_check_is_false(cconfig, engine, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_STATUS", "3")
    task = command_task(["false"])
    result = wait(ContainerExecutor(cconfig).start(task, workdir_for(cconfig, task)))
    assert result.state == FAILED and result.error == "command exited with status 3"
    assert result.outputs["returncode"] == 3

    task = command_task(["false"])
    task["inputs"]["check"] = False
    result = wait(ContainerExecutor(cconfig).start(task, workdir_for(cconfig, task)))
    assert result.state == SUCCEEDED and result.outputs["returncode"] == 3


def test_engine_error_is_reported(cconfig, engine, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "engine-error")
    task = command_task(["true"])
    result = wait(ContainerExecutor(cconfig).start(task, workdir_for(cconfig, task)))
    assert result.state == FAILED
    assert "container engine failed" in result.error and "image not known" in result.error


def test_cancel_stops_the_named_container(cconfig, engine, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "sleep")
    task = command_task(["sleep", "60"])
    handle = ContainerExecutor(cconfig).start(task, workdir_for(cconfig, task))
    time.sleep(0.3)
    assert handle.poll() is None
    started = time.monotonic()
    handle.cancel(2.0)
    assert time.monotonic() - started < 1.0  # cancel does not block
    result = wait(handle)
    assert result.state == CANCELLED
    name = "nodeworks-" + task["lease_id"]
    stops = [argv for argv in engine() if "stop" in argv]
    assert stops and stops[0][-4:] == ["stop", "-t", "2", name]
    assert stops[0][1:3] == ["--runtime=runc", "--storage-driver=vfs"]


def test_walltime_stops_the_container(cconfig, engine, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "sleep")
    task = command_task(["sleep", "60"], walltime_s=0.5)
    result = wait(ContainerExecutor(cconfig).start(task, workdir_for(cconfig, task)))
    assert result.state == FAILED and "walltime" in result.error


def test_adopt_removes_containers_of_a_dead_runner(cconfig, engine, monkeypatch):
    monkeypatch.setenv("FAKE_ENGINE_MODE", "sleep")
    executor = ContainerExecutor(cconfig)
    task = command_task(["sleep", "60"])
    handle = executor.start(task, workdir_for(cconfig, task))
    records = list((Path(cconfig.state_dir) / "containers").glob("*.json"))
    assert len(records) == 1
    handle.process.kill()  # the runner "died"; its container record stays
    handle.process.wait()
    assert ContainerExecutor(cconfig).adopt(cconfig.state_dir) == []
    name = "nodeworks-" + task["lease_id"]
    assert any(argv[-3:] == ["rm", "--force", name] for argv in engine())
    assert not list((Path(cconfig.state_dir) / "containers").glob("*.json"))


def test_missing_engine_is_not_offered(cconfig, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    cconfig.container_command = "docker"
    with pytest.raises(RuntimeError, match="not found"):
        ContainerExecutor(cconfig)
