from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from workflows.lifecycle import REQUEUEABLE_STATES, runs_cancel, task_cancel, tasks_requeue
from workflows.models import (
    HELD_TASK_STATES,
    UNFINISHED_TASK_STATES,
    Artifact,
    Revision,
    Run,
    RunState,
    Task,
    TaskLog,
    Workflow,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RevisionInline(admin.TabularInline):
    model = Revision
    fields = ["sha", "message", "author", "node_count", "created"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        # Revisions are git commits: only a publish makes one.
        return False


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "node_count", "short_revision", "updated"]
    list_select_related = ["owner"]
    list_filter = ["owner"]
    search_fields = ["name", "owner__username", "head_revision"]
    fields = ["name", "owner", "head_revision", "node_count", "repo_key", "created", "updated"]
    readonly_fields = ["owner", "head_revision", "node_count", "repo_key", "created", "updated"]
    inlines = [RevisionInline]

    def has_add_permission(self, request):
        return False

    @admin.display(description="revision")
    def short_revision(self, obj):
        return obj.head_revision[:10]


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ["workflow", "sha", "message", "author", "created"]
    list_select_related = ["workflow", "author"]
    search_fields = ["sha", "message", "workflow__name"]
    readonly_fields = ["workflow", "sha", "message", "author", "node_count", "created"]


# ---------------------------------------------------------------- runs, tasks, logs, artifacts
# Rows of the execution engine change only through its services: every field is read-only here,
# and the actions call the same services as the API.

TASK_FIELDS = [
    "run", "owner", "node", "path", "state", "attempt", "failures", "lost_leases", "max_retries", "executor",
    "tagset", "priority", "pending_parents", "runner", "lease_id", "cancel_requested", "not_before",
    "queued_at", "leased_at", "expires_at", "started", "finished", "error", "outputs", "requirements",
]


class TaskInline(admin.TabularInline):
    model = Task
    fields = ["node", "state", "attempt", "runner", "started", "finished", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("runner").defer("node_data", "input_sources")


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ["id", "workflow", "short_revision", "state", "created_by", "created", "started", "finished"]
    list_select_related = ["workflow", "created_by"]
    list_filter = ["state", "created"]
    search_fields = ["=id", "workflow__name", "revision", "created_by__username"]
    date_hierarchy = "created"
    fields = ["workflow", "revision", "state", "created_by", "input_overrides", "created", "started", "finished", "task_counts"]
    readonly_fields = fields
    inlines = [TaskInline]
    actions = ["cancel_runs"]
    # Above this many tasks the page links to the task list instead of rendering every row inline.
    max_inline_tasks = 200

    def get_inline_instances(self, request, obj=None):
        if obj is not None and obj.tasks.count() > self.max_inline_tasks:
            return []
        return super().get_inline_instances(request, obj)

    @admin.display(description="tasks")
    def task_counts(self, obj):
        counts = dict(obj.tasks.order_by().values_list("state").annotate(n=Count("id")))
        url = reverse("admin:workflows_task_changelist") + f"?run__id__exact={obj.pk}"
        summary = ", ".join(f"{state}: {n}" for state, n in sorted(counts.items())) or "none"
        return format_html('<a href="{}">{}</a>', url, summary)

    def has_add_permission(self, request):
        return False  # a run starts through execute, which builds its tasks

    @admin.display(description="revision")
    def short_revision(self, obj):
        return obj.revision[:10]

    @admin.action(description="Cancel selected runs", permissions=["change"])
    def cancel_runs(self, request, queryset):
        cancelled = runs_cancel(runs=queryset)
        self.message_user(
            request, f"{len(cancelled)} run(s) cancelled; runners holding their tasks are told at their next heartbeat."
        )


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "node", "state", "attempt", "runner", "executor", "tagset", "owner", "queued_at", "finished"]
    list_select_related = ["run", "runner", "tagset", "owner"]
    list_filter = ["state", "executor", "cancel_requested", "runner", "owner"]
    search_fields = ["=id", "=run__id", "node", "runner__name"]
    fields = TASK_FIELDS
    readonly_fields = TASK_FIELDS
    actions = ["requeue_tasks", "cancel_tasks"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("node_data", "input_sources")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a run is counted over all its tasks: delete the run, or cancel the task

    @admin.action(description="Requeue selected failed/cancelled tasks (fresh attempt)", permissions=["change"])
    def requeue_tasks(self, request, queryset):
        skipped = queryset.exclude(state__in=REQUEUEABLE_STATES).count()
        # Counted before: the requeue itself re-reads each run's state under its lock and leaves a
        # cancelled run alone (workflows/lifecycle/requeue.py), so this count is what it will refuse
        # unless a cancel lands in between.
        in_cancelled = queryset.filter(state__in=REQUEUEABLE_STATES, run__state=RunState.CANCELLED).count()
        reset = tasks_requeue(tasks=queryset)
        message = f"{reset} task(s) reset to queued or pending (with the ancestors and descendants they need)."
        if skipped:
            message += f" {skipped} selected task(s) were not failed, cancelled or upstream_failed and were left alone."
        if in_cancelled:
            message += f" {in_cancelled} selected task(s) belong to cancelled runs, which stay cancelled: left alone."
        level = messages.WARNING if skipped or in_cancelled else messages.SUCCESS
        self.message_user(request, message, level=level)

    @admin.action(description="Cancel selected tasks", permissions=["change"])
    def cancel_tasks(self, request, queryset):
        states = [task_cancel(task=task) for task in queryset.filter(state__in=UNFINISHED_TASK_STATES)]
        held = sum(state in HELD_TASK_STATES for state in states)
        self.message_user(
            request, f"{len(states) - held} task(s) cancelled; {held} running task(s) will be stopped by their runners."
        )


@admin.register(TaskLog)
class TaskLogAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "attempt", "size", "truncated"]
    list_select_related = ["task"]
    list_filter = ["truncated"]
    search_fields = ["=task__id", "=task__run__id", "task__node"]
    fields = ["task", "attempt", "size", "truncated", "data"]
    readonly_fields = fields


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    list_display = ["name", "id", "task", "attempt", "owner", "runner", "size", "sha256", "created"]
    list_select_related = ["task", "owner", "runner"]
    list_filter = ["content_type", "created"]
    search_fields = ["=id", "name", "sha256", "task__node", "owner__username"]
    fields = ["id", "name", "task", "attempt", "owner", "runner", "size", "sha256", "content_type", "created"]
    readonly_fields = fields
