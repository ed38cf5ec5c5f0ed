"""The one fence rule for a lease, applied by every call that names one.

A lease is current while it is the task's lease (`lease_id`), the runner is the one it was given
to, and the task is leased or running. Nothing else ends it but a transition of the task: a result,
a cancel, a requeue, or the reaper. Its expiry does not end it by itself: it is when the reaper may
take it (outcomes.task_lose with `expired_before`), and the reaper runs often (on the django-q2
schedule, and within REAPER_INTERVAL_S in every server process that answers a lease or a
heartbeat). So heartbeats, logs, artifacts and results of an expired lease that nobody has reaped
yet are all accepted (the work is done or going on, and nobody else holds the task), and all get
409 once it has been reaped. A heartbeat and the reaper racing for one lease: both are conditional
updates on the same row, so exactly one wins.
"""

import uuid

from django.db.models import Q

from nodeworks_server.errors import Conflict
from workflows.models import HELD_TASK_STATES, Task, TaskState

# The same rule in the hand-written statements (outcomes._PG_SUCCEED).
HELD_SQL = f"state IN ('{TaskState.LEASED}', '{TaskState.RUNNING}')"


class LeaseNotCurrent(Conflict):
    """The lease named is not the task's current lease (reaped, re-queued, finished or another runner's)."""


def lease_held(lease_id) -> Q:
    """The task still held under this lease, whoever holds it (for transitions decided on a lease read before)."""
    return Q(lease_id=lease_id, state__in=HELD_TASK_STATES)


def leases_held_by(*, runner_id: int, lease_ids: list) -> Q:
    """The tasks that these leases of this runner hold."""
    return Q(lease_id__in=lease_ids, runner_id=runner_id, state__in=HELD_TASK_STATES)


def lease_current(*, runner_id: int, lease_id: uuid.UUID) -> Task:
    task = Task.objects.select_related("run").filter(leases_held_by(runner_id=runner_id, lease_ids=[lease_id])).first()
    if task is None:
        raise LeaseNotCurrent(f"lease {lease_id} is not current")
    return task
