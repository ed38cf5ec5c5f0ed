from django.db.models import Prefetch, QuerySet

from nodeworks_server.errors import NotFound
from triggers.models import Delivery, Event, Timer, Trigger


def trigger_list(*, user) -> QuerySet[Trigger]:
    """The caller's own triggers: another user's is a 404, admins included (they have the Django admin)."""
    return Trigger.objects.filter(owner=user)


def trigger_get(*, user, trigger_id: int) -> Trigger:
    trigger = trigger_list(user=user).filter(pk=trigger_id).first()
    if trigger is None:
        raise NotFound(f"trigger {trigger_id} not found")
    return trigger


def event_list(*, user) -> QuerySet[Event]:
    """Newest first, each with its deliveries and their runs (three queries per page)."""
    deliveries = Delivery.objects.select_related("run").order_by("id")
    return Event.objects.filter(owner=user).prefetch_related(Prefetch("deliveries", queryset=deliveries))


def timer_list(*, user) -> QuerySet[Timer]:
    return Timer.objects.filter(owner=user).select_related("last_run")


def timer_get(*, user, timer_id: int) -> Timer:
    timer = timer_list(user=user).filter(pk=timer_id).first()
    if timer is None:
        raise NotFound(f"timer {timer_id} not found")
    return timer
