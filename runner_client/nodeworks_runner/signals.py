"""How the runner stops: drain, or stop now.

* Drain: the first SIGTERM/SIGINT, the server asking this runner to shut down (a heartbeat answer),
  or the server refusing the runner for good (bad token, protocol version: exit code 3). Nothing
  new is leased, the running tasks finish and are reported, then the runner exits.
* Stop now: a second SIGTERM/SIGINT. The running tasks are stopped and reported failed ("runner
  was shut down"), so the server's retry policy decides what happens to them.

Any thread may ask; the loop reads the flags once per turn.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Optional

log = logging.getLogger("nodeworks_runner")

REFUSED_EXIT_CODE = 3
UNREACHABLE_EXIT_CODE = 4  # `run --once` gave up reaching the server


class Shutdown:
    def __init__(self, wake_loop: threading.Event):
        self.wake_loop = wake_loop
        self.draining = False
        self.stopping_now = False
        self.refusal: Optional[Exception] = None
        self.exit_code = 0
        self._signals = 0

    def install(self) -> None:
        """SIGTERM and SIGINT drain, then stop now (only the main thread may install handlers)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.on_signal)
            signal.signal(signal.SIGINT, self.on_signal)

    def on_signal(self, signum, frame) -> None:
        self._signals += 1
        if self._signals == 1:
            self.drain("signal %d: finishing running tasks, leasing nothing new (again to stop them now)" % signum)
        else:
            self.stopping_now = True
            log.info("signal %d again: stopping running tasks now", signum)
        self.wake_loop.set()

    def drain(self, why: str) -> None:
        if not self.draining:
            log.info("%s", why)
        self.draining = True
        self.wake_loop.set()

    def gave_up(self, why: str) -> None:
        """`run --once` could not reach the server: leave with a non-zero code (cron sees it)."""
        if self.exit_code == 0:
            log.error("giving up: %s", why)
            self.exit_code = UNREACHABLE_EXIT_CODE
        self.draining = True
        self.wake_loop.set()

    def refused(self, exc: Exception) -> None:
        """The server refuses this runner for good (bad token, protocol version): stop."""
        log.error("the server refused this runner: %s", exc)
        self.refusal = exc
        self.exit_code = REFUSED_EXIT_CODE
        self.draining = True
        self.wake_loop.set()
