"""Wakes long-polling lease calls when tasks become queued, in this server process and in the others.

`notify_queued()` runs once the transaction that queued tasks has committed. It wakes this process's
waiting lease calls at once (a condition variable), and on PostgreSQL sends `NOTIFY nodeworks_queued`.
Each server process runs one listener thread (its own connection, `LISTEN nodeworks_queued`), started
by the first lease call that waits; a notification wakes that process's waiters the same way. So a
waiting lease call no longer polls the claim query every LEASE_POLL_INTERVAL_S: it looks again when
woken, and at most every LEASE_NOTIFY_POLL_S for what no notification announces (a retry backoff
running out, an operator's change to the runner). While the listener is not connected (SQLite, a lost
connection), waiters poll every LEASE_POLL_INTERVAL_S as before.

The generation counts the queue events this process has heard. While the listener is connected, a
claim that found nothing stays true until the generation moves (runners/services.py uses that to skip
the claim of a lease call for a while: `listening()`). The listener bumps it when it (re)connects, so
events missed while it was away are not mistaken for silence.
"""

import logging
import os
import threading

from django.conf import settings
from django.db import connection, connections

CHANNEL = "nodeworks_queued"
log = logging.getLogger(__name__)

_condition = threading.Condition()
_generation = 0

_listener_lock = threading.Lock()
_listener_pid: int | None = None  # the process whose listener thread runs (a forked child starts its own)
_listening = threading.Event()  # set while the listener's LISTEN is in force
_stop = threading.Event()
_thread: threading.Thread | None = None


def _wake() -> None:
    global _generation
    with _condition:
        _generation += 1
        _condition.notify_all()


def notify_queued() -> None:
    _wake()
    if connection.vendor == "postgresql":
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"NOTIFY {CHANNEL}")
        except Exception:  # the tasks are committed; other processes' waiters still poll
            log.warning("NOTIFY %s failed", CHANNEL, exc_info=True)


def current_generation() -> int:
    return _generation


def listening() -> bool:
    """Whether every queue event reaches this process (the listener's LISTEN is in force): only then
    does an unchanged generation mean that nothing was queued anywhere."""
    return _listening.is_set()


def poll_interval() -> float:
    """How long a waiting lease call may sleep before it looks at the queue again."""
    if _listening.is_set():
        return max(settings.LEASE_POLL_INTERVAL_S, settings.LEASE_NOTIFY_POLL_S)
    return settings.LEASE_POLL_INTERVAL_S


def wait_for_queued(since: int, timeout: float) -> None:
    listener_ensure()
    with _condition:
        _condition.wait_for(lambda: _generation != since, timeout=timeout)


def listener_ensure() -> None:
    """Starts this process's listener thread once (PostgreSQL only)."""
    global _listener_pid, _thread
    if _listener_pid == os.getpid() or connection.vendor != "postgresql":
        return
    with _listener_lock:
        if _listener_pid == os.getpid():
            return
        _listener_pid = os.getpid()
        _listening.clear()
        _stop.clear()
        params = connections["default"].get_connection_params()
        _thread = threading.Thread(target=_listen, args=(params,), name="nodeworks-queue-listener", daemon=True)
        _thread.start()


def listener_stop() -> None:
    """Stops the listener and closes its connection (tests: before their database is dropped)."""
    global _listener_pid
    with _listener_lock:
        _stop.set()
        if _thread is not None:
            _thread.join(timeout=10)
        _listener_pid = None


def _listen(params: dict) -> None:
    import psycopg

    while not _stop.is_set():
        try:
            with psycopg.connect(**params, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                _listening.set()
                _wake()  # whatever was queued while nobody listened
                while not _stop.is_set():
                    # The timeout only lets listener_stop() end the thread: one wake-up a second.
                    for _ in conn.notifies(timeout=1.0):
                        _wake()
        except Exception:
            log.warning("queue listener lost its connection; waiting lease calls poll meanwhile", exc_info=True)
            _stop.wait(1.0)
        finally:
            _listening.clear()
            _wake()  # waiters go back to the short poll interval
