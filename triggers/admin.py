from django import forms
from django.contrib import admin, messages

from nodeworks_server.errors import DomainError
from triggers.models import Delivery, Event, Timer, TimerState, Trigger
from triggers.payload_paths import mapping_validate
from triggers.services import NAME_RE, timer_stop


class TriggerForm(forms.ModelForm):
    """The API's rules for what an operator edits by hand."""

    class Meta:
        model = Trigger
        fields = ["owner", "event", "workflow", "revision", "inputs", "shared", "enabled"]

    def clean_event(self):
        event = self.cleaned_data["event"]
        if not NAME_RE.fullmatch(event):
            raise forms.ValidationError("1 to 200 characters: letters, digits and _ . : / @ + -")
        return event

    def clean_inputs(self):
        try:
            return mapping_validate(self.cleaned_data["inputs"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    form = TriggerForm
    list_display = ["id", "event", "owner", "workflow", "revision", "shared", "enabled", "created"]
    list_filter = ["enabled", "shared"]
    search_fields = ["event", "owner__username"]
    raw_id_fields = ["owner", "workflow"]


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["trigger", "workflow", "run", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "created", "idempotency_key"]
    search_fields = ["name", "owner__username", "idempotency_key"]
    readonly_fields = ["owner", "name", "payload", "idempotency_key", "body_digest", "answer", "created"]
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False  # an event is what a push recorded; a made-up one would start nothing


@admin.register(Timer)
class TimerAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "owner", "workflow", "state", "next_fire", "last_fire", "last_outcome", "fires",
                    "skips", "failures"]
    list_filter = ["state", "last_outcome"]
    search_fields = ["name", "owner__username"]
    # The schedule is set once by timers/start, which validates it and computes the first fire.
    readonly_fields = ["owner", "workflow", "revision", "at", "interval_s", "cron", "inputs", "state", "next_fire",
                       "last_fire", "last_outcome", "last_reason", "last_run", "fires", "skips", "failures", "created"]
    actions = ["stop_timers"]

    def has_add_permission(self, request):
        return False  # timers/start validates the schedule and computes the first fire; the admin stops and deletes

    @admin.action(description="Stop the selected timers")
    def stop_timers(self, request, queryset):
        stopped = 0
        for timer in queryset.filter(state=TimerState.ACTIVE):
            timer_stop(timer=timer)
            stopped += 1
        self.message_user(request, f"{stopped} timer(s) stopped", messages.SUCCESS)
