"""Reads for runners: the caller's runners with what they are doing, and the figures of /api/v1/status."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from rest_framework.exceptions import NotFound

from runners.models import Runner
from workflows.models import HELD_TASK_STATES, Task, TaskState


def _online_since():
    # The same window as Runner.is_online, as a filter.
    return timezone.now() - timedelta(seconds=2 * settings.RUNNER_HEARTBEAT_INTERVAL_S)


def queue_figures() -> dict:
    """Queue length (queued tasks) and runners online (seen within two heartbeat periods)."""
    return {
        "queue_length": Task.objects.filter(state=TaskState.QUEUED).count(),
        "runners_online": Runner.objects.filter(last_contact__gte=_online_since()).count(),
    }


def runner_list(*, user) -> QuerySet[Runner]:
    """The caller's runners (an admin's: all), each with `current_tasks`: its held leases."""
    runners = Runner.objects.select_related("owner").prefetch_related(
        Prefetch(
            "tasks",
            queryset=Task.objects.filter(state__in=HELD_TASK_STATES).only("id", "node", "run_id", "state", "runner_id"),
            to_attr="current_tasks",
        )
    )
    return runners if user.is_staff else runners.filter(owner=user)


def runner_get(*, user, runner_id: int) -> Runner:
    """Another user's runner is indistinguishable from a missing one (404)."""
    runners = Runner.objects.all() if user.is_staff else Runner.objects.filter(owner=user)
    runner = runners.filter(pk=runner_id).first()
    if runner is None:
        raise NotFound(f"runner {runner_id} not found")
    return runner
