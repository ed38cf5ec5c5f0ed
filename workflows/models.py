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


class RunState(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Run(models.Model):
    """One execution of one revision of a workflow."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    revision = models.CharField(max_length=40)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.RUNNING, db_index=True)
    input_overrides = models.JSONField(default=dict, blank=True)
    # Reuse of unchanged results (docs/api-decisions.md, "Reuse and rerun"): False runs every node;
    # rerun_from names the nodes that run with their descendants whatever their inputs.
    reuse = models.BooleanField(default=True)
    rerun_from = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    FINAL_STATES = (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["workflow", "-created"])]

    def __str__(self):
        return f"run {self.pk} of {self.workflow_id}@{self.revision[:10]} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state == RunState.RUNNING


class TaskState(models.TextChoices):
    PENDING = "pending"
    QUEUED = "queued"
    LEASED = "leased"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UPSTREAM_FAILED = "upstream_failed"


FINAL_TASK_STATES = (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED, TaskState.UPSTREAM_FAILED)
UNFINISHED_TASK_STATES = (TaskState.PENDING, TaskState.QUEUED, TaskState.LEASED, TaskState.RUNNING)
HELD_TASK_STATES = (TaskState.LEASED, TaskState.RUNNING)
# The same sets as plain strings, for index conditions (migrations serialise them as literals).
_UNFINISHED = [str(state) for state in UNFINISHED_TASK_STATES]
_HELD = [str(state) for state in HELD_TASK_STATES]


class TagSet(models.Model):
    """A distinct set of required tags. Tasks point at one, so "tags ⊆ runner tags" becomes an
    indexed `tagset_id IN (...)` over this small table, on SQLite as on PostgreSQL."""

    key = models.CharField(max_length=2000, unique=True)  # sorted tags joined by ","
    tags = models.JSONField(default=list)

    def __str__(self):
        return self.key or "(no tags)"


class Task(models.Model):
    """One node of one run: a row of the queue while queued, a lease while leased or running."""

    # Every index of this table is written twice per task (lease, result): PostgreSQL cannot make
    # those updates HOT, as they change indexed columns. So the foreign keys carry no index of their
    # own: run is served by unique_task_per_run_node, owner and runner by partial indexes over the
    # rows that are still live, tagset by none (tag sets are never deleted, and a user or runner is
    # deleted rarely enough that its cascade may scan).
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="tasks", db_index=False)
    # Denormalised from run.workflow.owner: the lease query filters on it without a join.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    node = models.CharField(max_length=255)  # the node's uniquename
    path = models.JSONField(default=list)
    node_data = models.JSONField(default=dict)  # the node object, input overrides applied
    # {input terminal: [[source node, source terminal, feedback], ...]} in file order of connections.
    input_sources = models.JSONField(default=dict)
    requirements = models.JSONField(default=dict)  # workflow defaults overridden by the node's own
    executor = models.CharField(max_length=16, default="local")
    tagset = models.ForeignKey(TagSet, on_delete=models.PROTECT, related_name="+", db_index=False)
    priority = models.FloatField(default=1.0)  # remaining critical path: the longest goes first
    state = models.CharField(max_length=16, choices=TaskState.choices, default=TaskState.PENDING)
    pending_parents = models.PositiveIntegerField(default=0)
    # Leaves (most tasks of a wide fan-out) skip the child-release queries when they finish.
    child_count = models.PositiveIntegerField(default=0)
    attempt = models.PositiveIntegerField(default=1)
    failures = models.PositiveIntegerField(default=0)
    lost_leases = models.PositiveIntegerField(default=0)
    max_retries = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)  # retry backoff
    cancel_requested = models.BooleanField(default=False)
    lease_id = models.UUIDField(null=True, blank=True, unique=True)
    runner = models.ForeignKey(
        "runners.Runner", on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks", db_index=False
    )
    queued_at = models.DateTimeField(null=True, blank=True)
    leased_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    outputs = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # The lease whose result was accepted last, so a resent result gets the stored outcome.
    finished_lease_id = models.UUIDField(null=True, blank=True)
    # Reuse (workflows/lifecycle/reuse.py): the digest of what the node computes from (path,
    # requirements, input values), written when the task becomes ready; a later ready task of the
    # same workflow with the same digest takes this one's outputs instead of running.
    input_digest = models.CharField(max_length=64, blank=True, default="")
    may_reuse = models.BooleanField(default=True)  # False: forcerun, rerun_from or a run with reuse off
    # The id of the task that produced the outputs (and artifacts) this one reused without running.
    # A plain id, not a foreign key: reuse stays within a workflow, whose tasks are deleted together,
    # and a self-reference would make every cascade scan the table for rows pointing at the deleted.
    reused_from = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "-priority", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "node"], name="unique_task_per_run_node")]
        indexes = [
            # The queue: only queued rows, one run per (tag set, executor) in the order leases take
            # them, so a claim reads the runs it fits and never the queued tasks it does not
            # (workflows/lifecycle/claim.py). Owners are filtered per row: led by owner, a runner
            # shared with all would need a walk per user.
            models.Index(
                fields=["tagset", "executor", "-priority", "id"],
                condition=models.Q(state="queued"),
                name="task_fit_queue_idx",
            ),
            # The reaper: held leases by expiry.
            models.Index(
                fields=["expires_at"], condition=models.Q(state__in=_HELD), name="task_lease_expiry_idx"
            ),
            # "Is this run done?" after every result: a lookup, not a scan of the run's finished tasks.
            models.Index(
                fields=["run"],
                condition=models.Q(state__in=_UNFINISHED),
                name="task_unfinished_idx",
            ),
            # A user's live tasks (queue status, cancel all) and a runner's held leases (its status).
            models.Index(
                fields=["owner"],
                condition=models.Q(state__in=_UNFINISHED),
                name="task_owner_unfinished_idx",
            ),
            models.Index(fields=["runner"], condition=models.Q(state__in=_HELD), name="task_runner_held_idx"),
            # A resent result: only finished attempts have a finished lease to look up.
            models.Index(
                fields=["finished_lease_id"],
                condition=models.Q(finished_lease_id__isnull=False),
                name="task_finished_lease_idx",
            ),
            # Reuse: an earlier succeeded task with the same input digest.
            models.Index(
                fields=["input_digest"],
                condition=models.Q(state="succeeded") & ~models.Q(input_digest=""),
                name="task_reuse_digest_idx",
            ),
        ]

    def __str__(self):
        return f"{self.node} (run {self.run_id}, {self.state})"


class TaskDependency(models.Model):
    """parent → child along non-feedback connections; duplicates collapsed (one row per pair)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    parent = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="child_links")
    child = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="parent_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["parent", "child"], name="unique_task_dependency")]

    def __str__(self):
        return f"{self.parent_id} → {self.child_id}"


class TaskLog(models.Model):
    """A task attempt's log. `size` counts UTF-8 bytes and is the offset the next chunk must carry."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="logs")
    attempt = models.PositiveIntegerField()
    data = models.TextField(blank=True, default="")
    size = models.PositiveBigIntegerField(default=0)
    truncated = models.BooleanField(default=False)

    class Meta:
        ordering = ["attempt"]
        constraints = [models.UniqueConstraint(fields=["task", "attempt"], name="unique_log_per_attempt")]

    def __str__(self):
        return f"log of task {self.task_id}, attempt {self.attempt}"


class Artifact(models.Model):
    """A file a task produced, stored under DATA_DIR/artifacts/<id> (a server-chosen key)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="artifacts")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    attempt = models.PositiveIntegerField()
    runner = models.ForeignKey("runners.Runner", on_delete=models.SET_NULL, null=True, related_name="+")
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created"]

    def __str__(self):
        return f"{self.name} ({self.id})"


class LeaseClock(models.Model):
    """One row: when the server last had contact with its database on the runners' behalf (the reaper).

    A gap longer than OUTAGE_GAP_S since then is time in which no heartbeat could be accepted (the
    database or every server process was down); the reaper extends live leases by it before reaping
    (workflows/lifecycle/leases.py), so a lease never expires because of the server's own outage.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seen = models.DateTimeField()

    def __str__(self):
        return f"lease clock at {self.seen.isoformat()}"
