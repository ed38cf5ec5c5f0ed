"""A runner stopped right after it starts (systemd restarting it, a SLURM job cancelled at once, a
Ctrl-C while it sets up) drains like one stopped later: exit 0, no traceback. Its handlers used to be
installed only after its executors were set up, so a SIGTERM in its first second killed it (-15), a
SIGINT ended it with a KeyboardInterrupt traceback."""

from __future__ import annotations

import signal
import time

import pytest


@pytest.mark.parametrize("delay_s", [0.1, 0.3, 0.6])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_right_after_the_start_drains_and_exits_0(start_runner, sig, delay_s):
    runner = start_runner(f"r-early-{sig.name.lower()}-{int(delay_s * 10)}", executors=("local", "shell"))
    time.sleep(delay_s)
    runner.signal(sig)
    code = runner.wait(30)
    log = runner.log()
    assert code == 0, f"exit code {code}\n{log}"
    assert "Traceback" not in log, log


def test_a_second_signal_during_the_start_still_stops_at_once(start_runner):
    runner = start_runner("r-early-twice", executors=("local", "shell"))
    time.sleep(0.2)
    runner.signal(signal.SIGTERM)
    time.sleep(0.05)
    runner.signal(signal.SIGTERM)
    started = time.monotonic()
    code = runner.wait(30)
    log = runner.log()
    assert code == 0, f"exit code {code}\n{log}"
    assert "Traceback" not in log, log
    assert time.monotonic() - started < 10, log
