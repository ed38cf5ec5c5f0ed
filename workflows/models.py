import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Workflow(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=200)
    # Names the git repository; never reused, unlike a primary key after a rolled-back insert on SQLite.
    repo_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The head is whatever this row says, not the git branch ref: see workflows/git_store.py.
    head_revision = models.CharField(max_length=40, blank=True, default="")
    node_count = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated", "-id"]
        indexes = [models.Index(fields=["owner", "-updated"])]

    def __str__(self):
        return f"{self.name} (#{self.pk})"


class Revision(models.Model):
    """One git commit of a workflow, written in the same transaction that moves the head."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="revisions")
    sha = models.CharField(max_length=40)
    message = models.TextField(blank=True, default="")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    node_count = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.UniqueConstraint(fields=["workflow", "sha"], name="unique_revision_per_workflow")]

    def __str__(self):
        return f"{self.workflow_id}@{self.sha[:10]}"
