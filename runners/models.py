from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


def online_since() -> datetime:
    """The online window (SPEC.md: seen within two heartbeat periods): runners last seen after this are online."""
    return timezone.now() - timedelta(seconds=2 * settings.RUNNER_HEARTBEAT_INTERVAL_S)


class Runner(models.Model):
    """A registered compute host. It takes only its owner's tasks, unless an admin's runner is shared."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="runners")
    name = models.CharField(max_length=100)
    tags = models.JSONField(default=list)
    executors = models.JSONField(default=list)
    # What the runner offered in its last lease call (it may offer fewer than registered, e.g. no
    # sbatch on this host); successors handed back with results must fit this too.
    offered_executors = models.JSONField(default=list, blank=True)
    token_digest = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=12)
    # Sharing is honoured only for runners whose owner is staff: a user's host runs only their own code.
    shared_with_all = models.BooleanField(default=False)
    shared_with = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="shared_runners")
    paused = models.BooleanField(default=False, help_text="leases nothing new; running tasks go on")
    shutdown_requested = models.BooleanField(default=False, help_text="told to finish its work and exit")
    version = models.CharField(max_length=50, blank=True, default="")
    hostname = models.CharField(max_length=255, blank=True, default="")
    last_contact = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} (#{self.pk})"

    @property
    def is_online(self) -> bool:
        return self.last_contact is not None and self.last_contact >= online_since()

    @property
    def status(self) -> str:
        if self.shutdown_requested:
            return "draining" if self.is_online else "offline"
        if not self.is_online:
            return "offline"
        return "paused" if self.paused else "online"


class RunnerLibrary(models.Model):
    """The node library a runner reported (runner_client/nodeworks_runner/library.py): every node path it
    can execute, with terminals. Publish warns about paths none of a user's runners offers, and the
    web app's palette lists the union (GET /api/v1/nodes/library).

    Its own table, not a column of Runner: every runner call reads the whole runner row
    (runners/selectors.py runner_by_token_digest), and a library may be a megabyte of JSON.
    """

    runner = models.OneToOneField(Runner, on_delete=models.CASCADE, primary_key=True, related_name="library")
    nodes = models.JSONField(default=list)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the stored nodes: an unchanged re-send writes nothing")
    reported = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"library of runner #{self.runner_id} ({len(self.nodes)} nodes)"
