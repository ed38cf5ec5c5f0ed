from django.urls import path

from triggers import apis

urlpatterns = [
    path("events/push", apis.EventPushApi.as_view(), name="events-push"),
    path("events/status", apis.EventStatusApi.as_view(), name="events-status"),
    path("events/triggers", apis.TriggerListApi.as_view(), name="events-triggers"),
    path("events/triggers/<int:trigger_id>", apis.TriggerDetailApi.as_view(), name="events-trigger"),
    path("timers/start", apis.TimerStartApi.as_view(), name="timers-start"),
    path("timers/status", apis.TimerStatusApi.as_view(), name="timers-status"),
    path("timers/stop/<int:timer_id>", apis.TimerStopApi.as_view(), name="timers-stop"),
    path("timers/<int:timer_id>", apis.TimerDetailApi.as_view(), name="timers-detail"),
]
