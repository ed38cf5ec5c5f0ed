"""Wakes long-polling lease calls of this process when tasks become queued.

Other server processes are not reached: their long-polls fall back to polling the database
every LEASE_POLL_INTERVAL_S, so a wake-up here only shortens the wait, never decides it.
"""

import threading

_condition = threading.Condition()
_generation = 0


def notify_queued() -> None:
    global _generation
    with _condition:
        _generation += 1
        _condition.notify_all()


def current_generation() -> int:
    return _generation


def wait_for_queued(since: int, timeout: float) -> None:
    with _condition:
        _condition.wait_for(lambda: _generation != since, timeout=timeout)
