"""The container executor for real: a live server, a real `nodeworks-runner` process, real podman containers.

Needs podman and the local test image built by ``scripts/ci/setup-podman.sh`` (which also writes
``/var/lib/nodeworks-ci/podman.env``). Without them the tests skip, with the reason; under
``CI=true`` they fail instead: CI must not pass without having run them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.runner.conftest import node, task_log, wait_task_state

ENV_FILE = Path(os.environ.get("NW_CI_DIR", "/var/lib/nodeworks-ci")) / "podman.env"
MARKER_PATH = "/etc/nodeworks-test-image"
MARKER_TEXT = "nodeworks-test-image busybox"

pytestmark = pytest.mark.slow


def _not_available(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"container executor tests cannot run under CI: {reason} (run scripts/ci/setup-podman.sh)")
    pytest.skip(f"{reason} (run scripts/ci/setup-podman.sh)")


def _settings() -> dict:
    """CONTAINERS_CONF, command, global args and image: from the environment, else setup-podman.sh's env file."""
    found = {}
    if ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            words = shlex.split(line.removeprefix("export ").strip()) if line.strip() else []
            if words and "=" in words[0]:
                key, _, value = words[0].partition("=")
                found[key] = value
    keys = ("CONTAINERS_CONF", "NODEWORKS_TEST_CONTAINER_COMMAND", "NODEWORKS_TEST_CONTAINER_ARGS",
            "NODEWORKS_TEST_CONTAINER_IMAGE")
    settings = {key: os.environ.get(key) or found.get(key, "") for key in keys}
    settings["NODEWORKS_TEST_CONTAINER_COMMAND"] = settings["NODEWORKS_TEST_CONTAINER_COMMAND"] or "podman"
    settings["NODEWORKS_TEST_CONTAINER_IMAGE"] = settings["NODEWORKS_TEST_CONTAINER_IMAGE"] or "localhost/busybox:test"
    return settings


@pytest.fixture(scope="module")
def podman():
    """The engine command line (argv prefix), its environment, and the test image."""
    settings = _settings()
    command = settings["NODEWORKS_TEST_CONTAINER_COMMAND"]
    if not shutil.which(command):
        _not_available(f"{command} is not installed")
    env = dict(os.environ)
    if settings["CONTAINERS_CONF"]:
        env["CONTAINERS_CONF"] = settings["CONTAINERS_CONF"]
    argv = [command, *shlex.split(settings["NODEWORKS_TEST_CONTAINER_ARGS"])]
    image = settings["NODEWORKS_TEST_CONTAINER_IMAGE"]
    probe = subprocess.run([*argv, "run", "--rm", "--network=none", image, "/bin/cat", MARKER_PATH],
                           capture_output=True, text=True, env=env, timeout=120)
    if probe.returncode != 0 or probe.stdout.strip() != MARKER_TEXT:
        _not_available(f"{command} cannot run the test image {image}: {probe.stderr.strip()[-500:]}")
    return {"argv": argv, "env": env, "image": image, "conf": settings["CONTAINERS_CONF"]}


@pytest.fixture
def container_runner(podman, start_runner, monkeypatch):
    """start() -> a runner process offering the container executor with the test engine settings."""
    if podman["conf"]:
        monkeypatch.setenv("CONTAINERS_CONF", podman["conf"])  # the runner process inherits it

    def start(name: str, **kwargs):
        extra = [f"--container-command={podman['argv'][0]}",
                 f"--container-global-args={shlex.join(podman['argv'][1:])}",
                 f"--container-image={podman['image']}"]
        return start_runner(name, executors=("container",), extra_args=extra, **kwargs)

    return start


def _terminal(value=None, *, out=False, multiinput=False):
    opts = {"in": not out, "out": out, "showlabel": True}
    if multiinput:
        opts["multiinput"] = True
    return {"value": value, "flipped": False, "opts": opts}


def one_node_workflow(path, terminals: dict, requirements: dict, name: str = "task") -> dict:
    return {
        name: {
            "type": "Node", "name": name, "uniquename": name, "pos": [0, 0], "path": list(path),
            "terminals": terminals, "tunnel": False, "forcerun": False, "hidden": False, "customState": None,
            "layer": 0, "requirements": requirements,
        }
    }


def command_workflow(command, requirements: dict) -> dict:
    return one_node_workflow(("shell", "Command"), {
        "command": _terminal(command),
        "stdout": _terminal(out=True), "stderr": _terminal(out=True), "returncode": _terminal(out=True),
    }, {"executor": "container", **requirements})


def containers_named(podman, prefix: str = "nodeworks-") -> list[str]:
    done = subprocess.run([*podman["argv"], "ps", "--all", "--format", "{{.Names}}"], capture_output=True,
                          text=True, env=podman["env"], timeout=60)
    return [name for name in done.stdout.split() if name.startswith(prefix)]


def test_command_runs_in_the_image_without_network(container_runner, publish_and_execute, wait_run, user_api):
    container_runner("r-container")
    script = f"cat {MARKER_PATH}; echo net: $(ls /sys/class/net); echo greeting=$GREETING; echo oops >&2"
    workflow = command_workflow(["/bin/sh", "-c", script],
                                {"env": {"GREETING": "hello; $(touch /pwned)", "NETWORK": "host"}})
    workflow_id, run_id = publish_and_execute(workflow)
    status = wait_run(workflow_id, run_id=run_id, timeout=90)
    task = node(status, "task")
    assert status["run"]["state"] == "succeeded", status
    out = task["outputs"]
    lines = out["stdout"].splitlines()
    assert lines[0] == MARKER_TEXT  # a file that exists only in the test image: it ran in the container
    assert lines[1] == "net: lo"  # --network=none: only the loopback interface
    assert lines[2] == "greeting=hello; $(touch /pwned)"  # env values are data, never shell text
    assert out["stderr"] == "oops\n"
    assert out["returncode"] == 0
    assert not Path("/pwned").exists()
    log = task_log(user_api, run_id)
    assert MARKER_TEXT in log and "oops" in log
    assert "--network=none" in log  # the engine command line heads the log


def test_string_command_and_failing_status(container_runner, publish_and_execute, wait_run):
    container_runner("r-container-fail")
    workflow = command_workflow("echo before; exit 3", {})
    workflow_id, run_id = publish_and_execute(workflow)
    status = wait_run(workflow_id, run_id=run_id, timeout=90)
    task = node(status, "task")
    assert status["run"]["state"] == "failed", status
    assert task["state"] == "failed"
    assert "status 3" in (task["error"] or "")


def test_python_node_runs_with_the_mounted_interpreter(container_runner, publish_and_execute, wait_run):
    """A Python node in an image without Python: the runner's interpreter is mounted read-only."""
    container_runner("r-container-py")
    workflow = one_node_workflow(("math", "Power"), {
        "base": _terminal(3), "exponent": _terminal(4), "result": _terminal(out=True),
    }, {"executor": "container"}, name="power")
    workflow_id, run_id = publish_and_execute(workflow)
    status = wait_run(workflow_id, run_id=run_id, timeout=90)
    assert status["run"]["state"] == "succeeded", status
    assert node(status, "power")["outputs"]["result"] == 81


def test_cancel_stops_the_container(podman, container_runner, publish_and_execute, wait_run, user_api):
    container_runner("r-container-cancel")
    marker = uuid.uuid4().hex
    workflow = command_workflow(["/bin/sh", "-c", f"echo started {marker}; sleep 120"], {})
    workflow_id, run_id = publish_and_execute(workflow)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if marker in task_log(user_api, run_id):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the container did not start: " + task_log(user_api, run_id))
    # `podman ps` can come back empty for a moment under load (its lock held by another podman call).
    deadline = time.monotonic() + 30
    running = containers_named(podman)
    while not running and time.monotonic() < deadline:
        time.sleep(0.5)
        running = containers_named(podman)
    assert running, "no nodeworks-<lease> container is running"
    user_api.post(f"/api/v1/workflow/cancel/{workflow_id}", {})
    status = wait_task_state(user_api, workflow_id, run_id, "cancelled")
    assert status["run"]["state"] == "cancelled"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and set(containers_named(podman)) & set(running):
        time.sleep(0.2)
    assert not set(containers_named(podman)) & set(running), "the container was not stopped"
