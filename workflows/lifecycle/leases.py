"""A held lease's life after the claim: heartbeats (leased → running, expiry extended) and the reaper (→ lost)."""

import logging
import threading
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from workflows.lifecycle import fence
from workflows.lifecycle.outcomes import task_lose
from workflows.lifecycle.run_end import run_finish_if_done
from workflows.models import HELD_TASK_STATES, UNFINISHED_TASK_STATES, LeaseClock, Run, RunState, Task, TaskState

logger = logging.getLogger("nodeworks.leases")


@transaction.atomic
def lease_heartbeat(*, runner_id: int, lease_ids: list[uuid.UUID], running: dict) -> tuple[dict[str, str], datetime]:
    """Extends the runner's current leases; answers ok, cancel (stop it and report) or lost (stop it, don't report).

    The update comes first and the answers are read after it, so a lease the reaper takes at the
    same moment is answered "lost", never "ok". Returns the answer per lease and the new expiry.
    """
    now = timezone.now()
    expires = now + timedelta(seconds=settings.LEASE_TTL_S)
    Task.objects.filter(fence.leases_held_by(runner_id=runner_id, lease_ids=lease_ids)).update(expires_at=expires)
    Task.objects.filter(lease_id__in=list(running), runner_id=runner_id, state=TaskState.LEASED, expires_at=expires).update(
        state=TaskState.RUNNING, started=now
    )
    held = {
        lease: "cancel" if cancel or run_state != RunState.RUNNING else "ok"
        for lease, cancel, run_state in Task.objects.filter(
            fence.leases_held_by(runner_id=runner_id, lease_ids=lease_ids), expires_at=expires
        ).values_list("lease_id", "cancel_requested", "run__state")
    }
    return {str(lease): held.get(lease, "lost") for lease in lease_ids}, expires


def leases_extend_over_outage() -> timedelta:
    """Extends every live lease by the time in which no heartbeat could be accepted; returns that time.

    The reaper records when it last ran (LeaseClock). It runs within REAPER_INTERVAL_S of any lease
    or heartbeat call in every server process, and every minute on the django-q2 schedule, so while
    the server can use its database and any runner talks to it, the gaps stay short. A gap longer
    than OUTAGE_GAP_S means nobody could be heard: the database was unreachable, or every server
    process was down (or, with no runner calling at all, the system was idle: then nobody is there
    to take a task anyway, and a dead runner's lease is reaped one gap later than it could have
    been). Without this, an outage longer than the lease TTL made every lease expire at once when
    it ended: finished work was thrown away, run again, and counted toward MAX_LOST_LEASES.

    Correct with several server processes: the clock row is locked while the gap is measured, the
    leases extended and the clock set, so one gap is applied once, by whichever process (or django-q2
    cluster) has contact first; the others then find a short gap. Only leases still live when the
    clock last ticked are extended (one that had already expired was reapable before the outage).
    Lock order: the clock row, then task rows; no transaction holds a task row and waits for it.
    """
    with transaction.atomic():
        clock = LeaseClock.objects.select_for_update().filter(pk=1).first()
        now = timezone.now()  # after the lock: another process may have held it a while
        if clock is None:
            LeaseClock.objects.get_or_create(pk=1, defaults={"seen": now})
            return timedelta(0)
        gap = now - clock.seen
        extended = timedelta(0)
        if gap > timedelta(seconds=settings.OUTAGE_GAP_S):
            count = Task.objects.filter(state__in=HELD_TASK_STATES, expires_at__gt=clock.seen).update(
                expires_at=F("expires_at") + gap
            )
            extended = gap
            logger.warning(
                "no contact for %.1f s (a database or server outage): %d live lease(s) extended by it",
                gap.total_seconds(), count,
            )
        if now > clock.seen:
            LeaseClock.objects.filter(pk=1).update(seen=now)
        return extended


def lease_reap(*, limit: int = 1000) -> int:
    """Ends expired leases (also those that never sent a heartbeat). Safe to run twice at once:
    each outcome is conditional on the lease it read, so a lease is counted lost once.

    Leases are first extended over any outage since the last reap (leases_extend_over_outage)."""
    leases_extend_over_outage()
    now = timezone.now()
    expired = list(
        Task.objects.select_related("run").filter(state__in=HELD_TASK_STATES, expires_at__lt=now).order_by("expires_at")[
            :limit
        ]
    )
    reaped = 0
    for task in expired:
        if task_lose(task=task, reason=f"lease {task.lease_id} expired", expired_before=now).applied:
            reaped += 1
    # A server process that died between a result's commit and its run check leaves the run
    # "running" with every task final; this sweep finishes such runs.
    unfinished = Task.objects.filter(run=OuterRef("pk"), state__in=UNFINISHED_TASK_STATES)
    for run_id in Run.objects.filter(state=RunState.RUNNING).filter(~Exists(unfinished)).values_list("pk", flat=True)[:limit]:
        run_finish_if_done(run_id=run_id)
    return reaped


_last_reap = 0.0
# A call that finds a reap under way in another thread waits for it. Skipping it instead let a
# heartbeat extend an expired lease while that reap was about to take it: whether a runner that came
# back after its expiry heard "ok" or "lost" was then a race between two threads of one process.
_reap_lock = threading.Lock()


_ticker_lock = threading.Lock()
_ticker: threading.Thread | None = None


def _tick_forever() -> None:
    """The lease clock's own beat in a server process (see lease_clock_ticker)."""
    while True:
        interval = settings.LEASE_CLOCK_TICK_S
        if interval > 0:
            try:
                leases_extend_over_outage()
            except Exception as exc:  # the database is unreachable: the gap it leaves is the point
                logger.info("lease clock: no contact with the database (%s)", exc)
            finally:
                connection.close()  # this thread's own; a broken one is not reused
        time.sleep(interval if interval > 0 else 1.0)


def lease_clock_ticker() -> None:
    """Starts, once per process, a thread that ticks the lease clock every LEASE_CLOCK_TICK_S.

    Without it the clock would tick only when runners call: a lone runner that went away (stopped,
    partitioned) left a gap that looked like an outage, and its lease was extended instead of being
    reaped. With it, while any server process is up and reaches its database the clock never lags
    more than a tick, so a gap is an outage of the database or of every server process. Started by
    the first runner call a process serves (so manage.py commands start none); 0 turns it off (the
    in-process tests, whose clock only the reaper ticks).
    """
    global _ticker
    if settings.LEASE_CLOCK_TICK_S <= 0 or _ticker is not None:
        return
    with _ticker_lock:
        if _ticker is None:
            _ticker = threading.Thread(target=_tick_forever, name="nodeworks-lease-clock", daemon=True)
            _ticker.start()


def lease_reap_if_due() -> None:
    """Reaps at most every REAPER_INTERVAL_S per process: runner calls ask first, so an expired lease
    is taken within that interval wherever runners talk to the server, not only on the schedule."""
    global _last_reap
    lease_clock_ticker()
    with _reap_lock:
        if time.monotonic() - _last_reap >= settings.REAPER_INTERVAL_S:
            _last_reap = time.monotonic()
            lease_reap()
