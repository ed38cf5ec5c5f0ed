"""Events, triggers and timers: thin views over triggers/services.py and selectors.py."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from triggers import selectors, services
from workflows.web_apis import StrictPagination

REVISION = serializers.RegexField(
    r"^[0-9a-fA-F]{7,40}$", required=False, allow_blank=True, help_text="pinned revision; latest when absent"
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    description="1-255 visible ASCII characters, per user: a retry with the same key and body records nothing "
    "new and gets the first answer (header Idempotent-Replayed: true); another body under it is a 409",
)
PAGE_PARAMS = [
    OpenApiParameter("page", int, description="1-based"),
    OpenApiParameter("page_size", int, description=f"default 25, at most {StrictPagination.max_page_size}"),
]


# ---------------------------------------------------------------- triggers


class TriggerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField()
    workflow = serializers.IntegerField(source="workflow_id", allow_null=True, help_text="null once deleted")
    revision = serializers.CharField(help_text="the pinned full sha; empty: the latest revision")
    inputs = serializers.DictField(child=serializers.CharField(), help_text='{"node.terminal": "payload.key"}')
    shared = serializers.BooleanField()
    enabled = serializers.BooleanField()
    created = serializers.DateTimeField()


class TriggerListApi(APIView):
    """Your triggers (GET), or a new one (POST): when event `event` is pushed, run `workflow`."""

    class InputSerializer(serializers.Serializer):
        event = serializers.CharField(max_length=200, help_text="the event name it listens for")
        workflow = serializers.IntegerField(min_value=1)
        revision = REVISION
        inputs = serializers.DictField(
            child=serializers.CharField(max_length=500),
            required=False,
            default=dict,
            help_text='input overrides read from the payload: {"node.terminal": "payload.key.path"}',
        )
        shared = serializers.BooleanField(default=False, help_text="an admin's event of this name starts it too")
        enabled = serializers.BooleanField(default=True)

    @extend_schema(responses={200: TriggerOutputSerializer(many=True)})
    def get(self, request):
        return Response(TriggerOutputSerializer(selectors.trigger_list(user=request.user), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: TriggerOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        trigger = services.trigger_create(
            user=request.user,
            event=values["event"],
            workflow_id=values["workflow"],
            revision=values.get("revision") or "",
            inputs=values["inputs"],
            shared=values["shared"],
            enabled=values["enabled"],
        )
        return Response(TriggerOutputSerializer(trigger).data, status=status.HTTP_201_CREATED)


class TriggerDetailApi(APIView):
    """One of your triggers (GET), or remove it (DELETE); another user's is a 404."""

    @extend_schema(responses={200: TriggerOutputSerializer})
    def get(self, request, trigger_id: int):
        return Response(TriggerOutputSerializer(selectors.trigger_get(user=request.user, trigger_id=trigger_id)).data)

    @extend_schema(responses={204: OpenApiResponse(description="deleted")})
    def delete(self, request, trigger_id: int):
        services.trigger_delete(trigger=selectors.trigger_get(user=request.user, trigger_id=trigger_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- events


class EventRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created = serializers.DateTimeField()


class StartedRunSerializer(serializers.Serializer):
    trigger = serializers.IntegerField()
    workflow = serializers.IntegerField()
    run = serializers.IntegerField()


class FailedTriggerSerializer(serializers.Serializer):
    trigger = serializers.IntegerField()
    workflow = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()


class EventPushApi(APIView):
    """Records an event and starts the workflow of every trigger listening for its name."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, trim_whitespace=False)
        payload = serializers.JSONField(required=False, default=dict, help_text="any JSON; triggers map from it")

    class OutputSerializer(serializers.Serializer):
        event = EventRefSerializer()
        runs = StartedRunSerializer(many=True, help_text="the runs this event started")
        failures = FailedTriggerSerializer(many=True, help_text="listening triggers that started no run, and why")

    @extend_schema(parameters=[IDEMPOTENCY_KEY], request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answer, replayed = services.event_push(
            user=request.user,
            name=data.validated_data["name"],
            payload=data.validated_data["payload"],
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        response = Response(self.OutputSerializer(answer).data, status=status.HTTP_201_CREATED)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class DeliverySerializer(serializers.Serializer):
    trigger = serializers.IntegerField(source="trigger_id", allow_null=True, help_text="null once deleted")
    workflow = serializers.IntegerField(source="workflow_id", allow_null=True)
    run = serializers.IntegerField(source="run_id", allow_null=True, help_text="null: none started (see error)")
    state = serializers.CharField(source="run.state", allow_null=True, default=None, help_text="the run's state now")
    error = serializers.CharField(allow_blank=True)


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    payload = serializers.JSONField()
    idempotency_key = serializers.CharField(allow_blank=True, help_text="empty: pushed without one")
    created = serializers.DateTimeField()
    deliveries = DeliverySerializer(many=True, help_text="one per listening trigger")


class EventStatusApi(APIView):
    """Your recent events, newest first, paginated, with the runs each started and their states."""

    pagination_class = StrictPagination

    @extend_schema(parameters=PAGE_PARAMS, responses={200: EventSerializer(many=True)})
    def get(self, request):
        paginator = self.pagination_class()
        events = paginator.paginate_queryset(selectors.event_list(user=request.user), request, view=self)
        return paginator.get_paginated_response(EventSerializer(events, many=True).data)


# ---------------------------------------------------------------- timers


class TimerLastRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()


class TimerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    workflow = serializers.IntegerField(source="workflow_id", allow_null=True, help_text="null once deleted")
    revision = serializers.CharField(help_text="the pinned full sha; empty: the latest revision")
    kind = serializers.ChoiceField(["at", "interval", "cron"])
    at = serializers.DateTimeField(allow_null=True)
    interval_s = serializers.IntegerField(allow_null=True)
    cron = serializers.CharField(allow_blank=True)
    inputs = serializers.DictField(child=serializers.JSONField())
    overlap = serializers.BooleanField()
    state = serializers.ChoiceField(["active", "stopped", "finished"])
    next_fire = serializers.DateTimeField(allow_null=True)
    last_fire = serializers.DateTimeField(allow_null=True)
    last_outcome = serializers.CharField(allow_blank=True, help_text="started, skipped or failed")
    last_reason = serializers.CharField(allow_blank=True, help_text="why the last fire started no run")
    last_run = TimerLastRunSerializer(allow_null=True)
    fires = serializers.IntegerField(help_text="runs started")
    skips = serializers.IntegerField(help_text="fires skipped while the previous run was going")
    failures = serializers.IntegerField()
    created = serializers.DateTimeField()


class TimerStartApi(APIView):
    """A new timer: run `workflow` once `at` a time, every `interval_s` seconds, or on a `cron` expression."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, trim_whitespace=False)
        workflow = serializers.IntegerField(min_value=1)
        revision = REVISION
        at = serializers.DateTimeField(required=False, help_text="once, at this time (in the future)")
        interval_s = serializers.IntegerField(required=False, min_value=1, max_value=services.MAX_INTERVAL_S)
        cron = serializers.CharField(
            required=False, max_length=200, help_text="'minute hour day month weekday', UTC; or @hourly, @daily..."
        )
        inputs = serializers.DictField(
            child=serializers.JSONField(), required=False, default=dict, help_text='{"node.terminal": value}'
        )
        overlap = serializers.BooleanField(default=False, help_text="fire even while its previous run is going")

    @extend_schema(request=InputSerializer, responses={201: TimerSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        timer = services.timer_start(
            user=request.user,
            name=values["name"],
            workflow_id=values["workflow"],
            revision=values.get("revision") or "",
            at=values.get("at"),
            interval_s=values.get("interval_s"),
            cron=values.get("cron", ""),
            inputs=values["inputs"],
            overlap=values["overlap"],
        )
        return Response(TimerSerializer(timer).data, status=status.HTTP_201_CREATED)


class TimerStatusApi(APIView):
    """Your timers: schedule, next fire time, last fire, its outcome and the last run with its state."""

    @extend_schema(responses={200: TimerSerializer(many=True)})
    def get(self, request):
        return Response(TimerSerializer(selectors.timer_list(user=request.user), many=True).data)


class TimerStopApi(APIView):
    """Stops a timer (it stays listed, stopped); stopping a stopped timer changes nothing."""

    @extend_schema(request=None, responses={200: TimerSerializer})
    def post(self, request, timer_id: int):
        timer = services.timer_stop(timer=selectors.timer_get(user=request.user, timer_id=timer_id))
        return Response(TimerSerializer(timer).data)


class TimerDetailApi(APIView):
    """One of your timers (GET), or remove it (DELETE); another user's is a 404."""

    @extend_schema(responses={200: TimerSerializer})
    def get(self, request, timer_id: int):
        return Response(TimerSerializer(selectors.timer_get(user=request.user, timer_id=timer_id)).data)

    @extend_schema(responses={204: OpenApiResponse(description="deleted")})
    def delete(self, request, timer_id: int):
        services.timer_delete(timer=selectors.timer_get(user=request.user, timer_id=timer_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

