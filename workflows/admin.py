from django.contrib import admin

from workflows.models import Revision, Workflow


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
class RevisionAdmin(admin.ModelAdmin):
    list_display = ["workflow", "sha", "message", "author", "created"]
    list_select_related = ["workflow", "author"]
    search_fields = ["sha", "message", "workflow__name"]
    readonly_fields = ["workflow", "sha", "message", "author", "node_count", "created"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
