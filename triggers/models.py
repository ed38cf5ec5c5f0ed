from django.conf import settings
from django.db import models
from django.utils import timezone

from workflows.models import Run, Workflow


class Trigger(models.Model):
    """When event `event` is pushed by the owner (or, if `shared`, by an admin), run `workflow`."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="triggers")
    event = models.CharField(max_length=200, db_index=True, help_text="the event name it listens for")
    # SET_NULL, not CASCADE: a push names the deleted workflow as the reason its run did not start,
    # instead of the trigger vanishing without a word.
    workflow = models.ForeignKey(Workflow, on_delete=models.SET_NULL, null=True, related_name="+")
    revision = models.CharField(max_length=40, blank=True, help_text="a pinned full sha; blank runs the latest")
    inputs = models.JSONField(default=dict, blank=True, help_text='{"node.terminal": "payload.key.path"}')
    shared = models.BooleanField(default=False, help_text="an admin's event of this name starts it too")
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"trigger {self.pk}: {self.event} -> workflow {self.workflow_id}"


class Event(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=200)
    payload = models.JSONField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True, help_text="empty: pushed without one")
    body_digest = models.CharField(max_length=64, help_text="sha256 of {name, payload}: a reused key must match it")
    answer = models.JSONField(default=dict, help_text="what the push answered; a retry with the key gets it again")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["owner", "-created"])]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="event_idempotency_key_per_owner",
            )
        ]

    def __str__(self):
        return f"event {self.pk}: {self.name}"


class Delivery(models.Model):
    """What one event did with one listening trigger: the run it started, or why it started none."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    trigger = models.ForeignKey(Trigger, on_delete=models.SET_NULL, null=True, related_name="deliveries")
    workflow = models.ForeignKey(Workflow, on_delete=models.SET_NULL, null=True, related_name="+")
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, related_name="+")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"event {self.event_id} / trigger {self.trigger_id}: run {self.run_id or '-'}"


class TimerState(models.TextChoices):
    ACTIVE = "active"
    STOPPED = "stopped"
    FINISHED = "finished"  # an `at` timer after its one fire


class FireOutcome(models.TextChoices):
    STARTED = "started"
    SKIPPED = "skipped"  # its previous run was still going and overlap is off
    FAILED = "failed"


class Timer(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="timers")
    name = models.CharField(max_length=200)
    workflow = models.ForeignKey(Workflow, on_delete=models.SET_NULL, null=True, related_name="+")
    revision = models.CharField(max_length=40, blank=True)
    at = models.DateTimeField(null=True, blank=True)
    interval_s = models.PositiveIntegerField(null=True, blank=True)
    cron = models.CharField(max_length=200, blank=True)
    inputs = models.JSONField(default=dict, blank=True)
    overlap = models.BooleanField(default=False, help_text="fire even while the previous run is still going")
    state = models.CharField(max_length=16, choices=TimerState.choices, default=TimerState.ACTIVE)
    next_fire = models.DateTimeField(null=True, blank=True)
    last_fire = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=16, choices=FireOutcome.choices, blank=True)
    last_reason = models.TextField(blank=True, help_text="why the last fire started no run")
    last_run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    fires = models.PositiveIntegerField(default=0, help_text="runs started")
    skips = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["state", "next_fire"])]

    def __str__(self):
        return f"timer {self.pk}: {self.name}"

    @property
    def kind(self) -> str:
        return "at" if self.at is not None else "interval" if self.interval_s else "cron"
