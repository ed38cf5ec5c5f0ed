from django import forms
from django.contrib import admin, messages

from nodeworks_server.constants import EXECUTORS
from runners.models import Runner
from runners.services import (
    runner_revoke_token,
    runners_drain,
    runners_pause,
    runners_resume,
    runners_share_with_all,
)
from workflows.nodeworks_format import WorkflowFormatError, validate_requirements


class RunnerForm(forms.ModelForm):
    class Meta:
        model = Runner
        fields = ["name", "tags", "executors", "paused", "shutdown_requested", "shared_with_all", "shared_with"]

    def clean_tags(self):
        # The same rule as a node's required tags, so every tag a runner has can be asked for.
        tags = self.cleaned_data["tags"]
        try:
            validate_requirements({"tags": tags}, where="runner")
        except WorkflowFormatError as exc:
            raise forms.ValidationError(exc.message) from None
        return sorted(set(tags))

    def clean(self):
        cleaned = super().clean()
        owner = self.instance.owner if self.instance.owner_id else None
        shares = cleaned.get("shared_with_all") or cleaned.get("shared_with")
        if shares and owner is not None and not owner.is_staff:
            # runners.scope.served_owner_ids ignores it anyway; saying so beats a setting that silently does nothing.
            raise forms.ValidationError(
                f"only runners of staff users can be shared: {owner.username}'s host runs only {owner.username}'s workflows"
            )
        return cleaned

    def clean_executors(self):
        executors = self.cleaned_data["executors"]
        if not isinstance(executors, list) or not all(executor in EXECUTORS for executor in executors):
            raise forms.ValidationError(f"a list of executors among: {', '.join(EXECUTORS)}")
        return sorted(set(executors))


@admin.register(Runner)
class RunnerAdmin(admin.ModelAdmin):
    """Runners are registered through the API (the token is shown once there); here they are managed.
    The token digest is never shown; `token_hint` tells tokens apart."""

    form = RunnerForm
    list_display = ["name", "id", "owner", "runner_status", "tags", "executors", "last_contact", "version", "shared_with_all"]
    list_select_related = ["owner"]
    list_filter = ["paused", "shutdown_requested", "shared_with_all", "owner"]
    search_fields = ["name", "hostname", "owner__username", "token_hint"]
    filter_horizontal = ["shared_with"]
    fields = [
        "name", "owner", "runner_status", "tags", "executors", "paused", "shutdown_requested", "shared_with_all",
        "shared_with", "token_hint", "version", "hostname", "last_contact", "created",
    ]
    readonly_fields = ["owner", "runner_status", "token_hint", "version", "hostname", "last_contact", "created"]
    actions = ["pause", "resume", "drain", "revoke_token", "share_with_all", "unshare_with_all"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="status")
    def runner_status(self, obj):
        return obj.status

    @admin.action(description="Pause: lease nothing new", permissions=["change"])
    def pause(self, request, queryset):
        self.message_user(request, f"{runners_pause(runners=queryset)} runner(s) paused.")

    @admin.action(description="Resume: lease again (also withdraws a shutdown)", permissions=["change"])
    def resume(self, request, queryset):
        self.message_user(request, f"{runners_resume(runners=queryset)} runner(s) resumed.")

    @admin.action(description="Drain: finish current tasks, then exit", permissions=["change"])
    def drain(self, request, queryset):
        self.message_user(request, f"{runners_drain(runners=queryset)} runner(s) draining.")

    @admin.action(description="Revoke token (the runner must be registered again)", permissions=["change"])
    def revoke_token(self, request, queryset):
        runners = list(queryset)
        for runner in runners:
            runner_revoke_token(runner=runner)
        self.message_user(request, f"{len(runners)} runner token(s) revoked.")

    @admin.action(description="Share with all users (staff owners only)", permissions=["change"])
    def share_with_all(self, request, queryset):
        shared = runners_share_with_all(runners=queryset)
        skipped = queryset.count() - shared
        message = f"{shared} runner(s) shared with all users."
        if skipped:
            message += f" {skipped} belong to non-staff users and stay private: a user's host runs only their own code."
        self.message_user(request, message, level=messages.WARNING if skipped else messages.SUCCESS)

    @admin.action(description="Stop sharing with all users", permissions=["change"])
    def unshare_with_all(self, request, queryset):
        self.message_user(request, f"{runners_share_with_all(runners=queryset, shared=False)} runner(s) no longer shared.")
