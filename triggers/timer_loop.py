"""The loop that fires timers, inside the django-q2 cluster (`manage.py qcluster`, which ./run.sh starts).

Why not django-q2's own schedules: its scheduler runs in the cluster's guard loop only every 30 s
(django_q/cluster.py: `if counter >= 30`), and its interval schedules count whole minutes, so a
2-second timer could fire up to 30 s late. Each worker process of the cluster starts this thread
(django-q2's `post_spawn` signal); the one that holds an exclusive lock on DATA_DIR/timer-loop.lock
ticks every TICK_S, the others only retry the lock, so a host runs one loop and a worker that dies
(timeout, recycle) hands it to the next. Correctness does not rest on the lock: every fire is a
conditional claim (services.timer_fire), so loops on several hosts never fire a timer twice.
A django-q2 schedule (migration 0002) also calls the same function every minute, as a backstop.
"""

import fcntl
import logging
import threading
import time

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

TICK_S = 0.5
LOCK_RETRY_S = 2.0


def _try_lock():
    path = settings.DATA_DIR / "timer-loop.lock"
    handle = open(path, "a")  # noqa: SIM115 (held for the life of the process)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def run_loop(stop: threading.Event | None = None) -> None:
    from triggers.services import timers_fire_due

    stop = stop or threading.Event()
    lock = None
    while not stop.is_set():
        if lock is None:
            lock = _try_lock()
            if lock is None:
                stop.wait(LOCK_RETRY_S)
                continue
            logger.info("timer loop: running in this process")
        started = time.monotonic()
        try:
            timers_fire_due()
        except Exception:
            logger.exception("timer loop: tick failed")
            connection.close()  # a broken connection is replaced at the next tick
        stop.wait(max(0.0, TICK_S - (time.monotonic() - started)))


def start_in_worker(sender=None, proc_name: str = "", **kwargs) -> None:
    threading.Thread(target=run_loop, name="nodeworks-timer-loop", daemon=True).start()
