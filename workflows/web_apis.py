"""Endpoints the web app's pages need beyond the SPEC's: the workflow list with its latest revision
and run, the paginated runs of a workflow, and a task's log followed by byte offset."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows import run_selectors, selectors, web_selectors
from workflows.apis import WorkflowOutputSerializer
from workflows.models import FINAL_TASK_STATES
from workflows.run_apis import TaskLogApi


class LatestRevisionSerializer(serializers.Serializer):
    sha = serializers.CharField()
    message = serializers.CharField()
    author = serializers.CharField(allow_null=True)
    time = serializers.DateTimeField()


class LastRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    created = serializers.DateTimeField()
    finished = serializers.DateTimeField(allow_null=True)


class WorkflowListItemSerializer(WorkflowOutputSerializer):
    latest_revision = LatestRevisionSerializer(allow_null=True, help_text="the head revision")
    last_run = LastRunSerializer(allow_null=True, help_text="the newest run, whatever its state")

    class Meta(WorkflowOutputSerializer.Meta):
        fields = [*WorkflowOutputSerializer.Meta.fields, "latest_revision", "last_run"]


class WorkflowListApi(APIView):
    """The caller's workflows (an admin's: all), newest change first, with latest revision and last run."""

    @extend_schema(responses={200: WorkflowListItemSerializer(many=True)})
    def get(self, request):
        workflows = web_selectors.workflow_list_with_activity(user=request.user)
        return Response(WorkflowListItemSerializer(workflows, many=True).data)


class WorkflowListNoSlashApi(WorkflowListApi):
    """The same list at `workflow`, without the trailing slash that no other path has."""

    @extend_schema(operation_id="workflow_list_no_slash", responses={200: WorkflowListItemSerializer(many=True)})
    def get(self, request):
        return super().get(request)


class StrictPagination(PageNumberPagination):
    """`?page=N&page_size=M`; a bad value is a 400 that says why, not a silent default."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        page = serializers.IntegerField(min_value=1, required=False)
        size = serializers.IntegerField(min_value=1, max_value=self.max_page_size, required=False)
        params = request.query_params
        for name, field in (("page", page), ("page_size", size)):
            if name in params:
                try:
                    field.run_validation(params[name])
                except serializers.ValidationError as exc:
                    raise serializers.ValidationError({name: exc.detail}) from None
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise NotFound(f"page {params.get('page')} is past the last page") from None


class RunListItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    revision = serializers.CharField()
    created_by = serializers.CharField(allow_null=True, help_text="the username of who started it")
    created = serializers.DateTimeField()
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True, help_text="started → finished, or → now while running")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="tasks by state; absent states omitted")


class WorkflowRunsApi(APIView):
    """Every run of a workflow, newest first, paginated, with its tasks counted by state."""

    pagination_class = StrictPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("page", int, description="1-based"),
            OpenApiParameter("page_size", int, description=f"default 25, at most {StrictPagination.max_page_size}"),
        ],
        responses={200: RunListItemSerializer(many=True)},
    )
    def get(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        paginator = self.pagination_class()
        runs = paginator.paginate_queryset(web_selectors.workflow_runs(workflow=workflow), request, view=self)
        counts = web_selectors.run_state_counts(run_ids=[run.pk for run in runs])
        now = timezone.now()
        items = [
            {
                "id": run.pk,
                "state": run.state,
                "revision": run.revision,
                "created_by": run.created_by.username if run.created_by is not None else None,
                "created": run.created,
                "started": run.started,
                "finished": run.finished,
                "duration_s": ((run.finished or now) - run.started).total_seconds() if run.started else None,
                "counts": counts.get(run.pk, {}),
            }
            for run in runs
        ]
        return paginator.get_paginated_response(RunListItemSerializer(items, many=True).data)


def _offset(value) -> int:
    try:
        return serializers.IntegerField(min_value=0).run_validation(value)
    except serializers.ValidationError as exc:
        raise ValidationError({"offset": exc.detail}) from None


class TaskLogFollowApi(TaskLogApi):
    """A task's log, every attempt: text (default), or `{attempts: [...]}` with `Accept: application/json`.
    With `?offset=<bytes>` (text only) the log from that byte on, to follow it while the task runs:
    `X-Log-Next-Offset` is where to continue, `X-Log-Complete: 1` says the task is final and its log whole."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "offset", int, description="bytes of the followable text already read; start with 0"
            ),
        ],
        responses={(200, "text/plain"): OpenApiTypes.STR, (200, "application/json"): TaskLogApi.OutputSerializer},
    )
    def get(self, request, run_id: int, node: str):
        if "offset" not in request.query_params:
            return super().get(request, run_id, node)
        if request.accepted_renderer.format == "json":
            raise ValidationError({"offset": ["offset follows the text form of the log; ask for text/plain"]})
        offset = _offset(request.query_params["offset"])
        # The state before the logs: a task final at that point has sent its whole log.
        task = run_selectors.task_by_node(user=request.user, run_id=run_id, node=node)
        complete = task.state in FINAL_TASK_STATES
        text = web_selectors.task_log_text(logs=run_selectors.task_logs(task=task))
        if offset > len(text):
            raise ValidationError({"offset": [f"offset {offset} is past the end of the log ({len(text)} bytes)"]})
        if offset < len(text) and text[offset] & 0xC0 == 0x80:
            raise ValidationError({"offset": [f"offset {offset} is inside a character: use X-Log-Next-Offset"]})
        response = Response(text[offset:].decode("utf-8"))
        response["X-Log-Next-Offset"] = str(len(text))
        response["X-Log-Complete"] = "1" if complete else "0"
        return response
