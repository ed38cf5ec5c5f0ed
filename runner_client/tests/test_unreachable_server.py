"""`run --once` (for cron) gives up when the server cannot be reached and exits non-zero; the long-running mode
keeps trying with back-off."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from conftest import wait_until

from nodeworks_runner.signals import UNREACHABLE_EXIT_CODE
from nodeworks_runner.worker import Runner


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return "http://127.0.0.1:%d" % port  # nothing listens there now: every call is refused


def run_once(tmp_path, *flags, **env):
    environ = dict(os.environ, NODEWORKS_RUNNER_CONFIG=str(tmp_path / "none.json"), **env)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "nodeworks_runner.cli", "run", "--once", "--url", closed_port_url(), "--token",
         "nwr_test_token_0123456789abcdef", "--executors", "shell", "--retry-max", "0.2",
         "--work-dir", str(tmp_path / "work"), "--state-dir", str(tmp_path / "state"), *flags],
        capture_output=True, text=True, env=environ, timeout=120)
    return done, time.monotonic() - started


def test_once_gives_up_after_retry_attempts_and_exits_non_zero(tmp_path):
    done, took = run_once(tmp_path, "--retry-attempts", "3")
    assert done.returncode == UNREACHABLE_EXIT_CODE, done.stderr[-2000:]
    assert "could not be reached 3 times in a row" in done.stderr
    assert done.stderr.count("lease failed") == 3
    assert took < 60


def test_the_retry_attempts_come_from_the_environment_too(tmp_path):
    done, _ = run_once(tmp_path, NODEWORKS_RUNNER_RETRY_ATTEMPTS="2")
    assert done.returncode == UNREACHABLE_EXIT_CODE
    assert "giving up" in done.stderr and "(--retry-attempts 2)" in done.stderr


def test_the_long_running_mode_keeps_retrying(config, background_runner):
    config.url = closed_port_url()
    config.retry_attempts = 2
    runner = background_runner(Runner(config))
    wait_until(lambda: runner.runner.leaser and runner.runner.leaser.backoff.failures >= 5, 30, "five failed leases")
    assert runner.thread.is_alive() and runner.runner.shutdown.exit_code == 0
    assert runner.stop() == 0
