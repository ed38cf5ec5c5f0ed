"""A held lease's life after the claim: heartbeats (leased → running, expiry extended) and the reaper (→ lost)."""

import threading
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from workflows.lifecycle import fence
from workflows.lifecycle.outcomes import task_lose
from workflows.lifecycle.run_end import run_finish_if_done
from workflows.models import HELD_TASK_STATES, UNFINISHED_TASK_STATES, Run, RunState, Task, TaskState


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


def lease_reap(*, limit: int = 1000) -> int:
    """Ends expired leases (also those that never sent a heartbeat). Safe to run twice at once:
    each outcome is conditional on the lease it read, so a lease is counted lost once."""
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


def lease_reap_if_due() -> None:
    """Reaps at most every REAPER_INTERVAL_S per process: runner calls ask first, so an expired lease
    is taken within that interval wherever runners talk to the server, not only on the schedule."""
    global _last_reap
    with _reap_lock:
        if time.monotonic() - _last_reap >= settings.REAPER_INTERVAL_S:
            _last_reap = time.monotonic()
            lease_reap()
