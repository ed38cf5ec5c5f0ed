"""Unit tests of the runner package: no server (a stdlib fake of the runner protocol where needed)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FIXTURES = HERE / "fixtures"  # the project's own .nc files (the same as the server's tests/fixtures)

from fake_server import FakeServer  # noqa: E402
from shared_samples import SAMPLE_NAMES, shared_sample  # noqa: E402

from nodeworks_runner.config import RunnerConfig  # noqa: E402


def nc_file(name):
    """A project fixture by name, or one of the real samples of ../shared (skipped when missing)."""
    import json

    return shared_sample(name) if name in SAMPLE_NAMES else json.loads((FIXTURES / name).read_text())


def node_obj(name, path, inputs=None, outputs=(), multi=(), dtypes=None):
    dtypes = dtypes or {}
    terminals = {}
    for terminal, value in (inputs or {}).items():
        terminals[terminal] = {"value": value, "flipped": False, "opts": {
            "in": True, "out": False, "multiinput": terminal in multi, "dtype": dtypes.get(terminal, "None")}}
    for terminal in outputs:
        value = None
        if isinstance(terminal, tuple):
            terminal, value = terminal
        terminals[terminal] = {"value": value, "flipped": False, "opts": {
            "in": False, "out": True, "dtype": dtypes.get(terminal, "None")}}
    return {"type": "Node", "name": name, "uniquename": name, "path": list(path), "terminals": terminals}


@pytest.fixture
def config(tmp_path) -> RunnerConfig:
    return RunnerConfig(
        url="http://127.0.0.1:9", token="nwr_test_token_0123456789abcdef", name="unit-runner", concurrency=2,
        work_dir=str(tmp_path / "work"), state_dir=str(tmp_path / "state"), cancel_grace_s=1.0,
        heartbeat_s=0.2, log_interval_s=0.1, lease_wait_s=0.5, retry_max_s=0.3, executors=["local", "shell"],
    )


@pytest.fixture
def fake_server():
    server = FakeServer()
    yield server
    server.close()


class BackgroundRunner:
    """A Runner in a thread (no signal handlers there); stop() drains it like a first SIGTERM."""

    def __init__(self, runner):
        self.runner = runner
        self.code = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.code = self.runner.run()

    def stop(self, timeout=20):
        self.runner.shutdown.drain("stopped by the test")
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "runner did not stop"
        return self.code


@pytest.fixture
def background_runner():
    started = []

    def start(runner):
        started.append(BackgroundRunner(runner))
        return started[-1]

    yield start
    for item in started:
        if item.thread.is_alive():
            item.stop()


def wait_until(predicate, timeout=10.0, what="condition"):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)


def pids_alive(pids):
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    return alive
