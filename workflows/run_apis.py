"""User-facing run APIs: execute, cancel, status, the sheet after a run, logs, artifacts and the queue."""

import json

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows import run_selectors, selectors
from workflows.apis import REVISION_PARAM, WorkflowGetApi
from workflows.artifact_files import AnyAcceptNegotiation, artifact_response
from workflows.lifecycle import queue_clear, runs_cancel
from workflows.models import RunState
from workflows.services.runs import run_create

RUN_PARAM = OpenApiParameter("run", int, description="a run id of this workflow; the latest run when absent")


class RunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    workflow = serializers.IntegerField(source="workflow_id")
    state = serializers.CharField()
    revision = serializers.CharField()
    input_overrides = serializers.JSONField()
    reuse = serializers.BooleanField()
    rerun_from = serializers.ListField(child=serializers.CharField())
    created = serializers.DateTimeField()
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)


def _run_id(value) -> int:
    return serializers.IntegerField(min_value=1).run_validation(value)


class WorkflowExecuteApi(APIView):
    """Starts a run of the latest (or a given) revision, with optional input overrides for parameter sweeps."""

    class InputSerializer(serializers.Serializer):
        revision = serializers.RegexField(r"^[0-9a-fA-F]{7,40}$", required=False, allow_blank=True)
        inputs = serializers.DictField(
            child=serializers.JSONField(), required=False, default=dict, help_text='{"node.terminal": value}'
        )
        reuse = serializers.BooleanField(
            required=False, default=True,
            help_text="reuse the outputs of an earlier task of this workflow with the same inputs (default true); "
            "false runs every node",
        )
        rerun_from = serializers.ListField(
            child=serializers.CharField(max_length=255), required=False, default=list, max_length=100_000,
            help_text="node names that run, with their descendants, whatever their inputs; the rest is reused",
        )

    class OutputSerializer(serializers.Serializer):
        run = RunOutputSerializer()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = run_create(
            user=request.user,
            workflow=workflow,
            revision=data.validated_data.get("revision") or None,
            inputs=data.validated_data["inputs"],
            reuse=data.validated_data["reuse"],
            rerun_from=data.validated_data["rerun_from"],
        )
        run.refresh_from_db()  # an empty workflow finished inside run_create
        return Response(self.OutputSerializer({"run": run}).data, status=status.HTTP_201_CREATED)


class WorkflowCancelApi(APIView):
    """Cancels one run (`{run}`) or every active run of the workflow; answers the runs this call cancelled."""

    class InputSerializer(serializers.Serializer):
        run = serializers.IntegerField(min_value=1, required=False)

    class OutputSerializer(serializers.Serializer):
        cancelled = serializers.ListField(child=serializers.IntegerField())

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def post(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        runs = workflow.runs.all()
        if "run" in data.validated_data:
            run = run_selectors.run_get(user=request.user, run_id=data.validated_data["run"], workflow=workflow)
            runs = runs.filter(pk=run.pk)
        cancelled = [run.pk for run in runs_cancel(runs=runs) if run.state == RunState.CANCELLED]
        return Response(self.OutputSerializer({"cancelled": cancelled}).data)


class WaitingSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        ["parents", "retry_backoff", "no_runner", "runners_offline", "runners_paused", "runners_busy"]
    )
    detail = serializers.CharField()


class NodeArtifactSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    sha256 = serializers.CharField()


class NodeStatusSerializer(serializers.Serializer):
    task_id = serializers.IntegerField(help_text="for POST runners/cancel/<task_id>")
    name = serializers.CharField(allow_null=True, help_text="the node's display name")
    path = serializers.ListField(child=serializers.CharField(), help_text='its kind, e.g. ["math", "Power"]')
    state = serializers.CharField()
    attempt = serializers.IntegerField()
    runner = serializers.CharField(allow_null=True, help_text="the runner's name")
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    outputs = serializers.JSONField(allow_null=True)
    artifacts = NodeArtifactSerializer(many=True, help_text="of the current attempt")
    waiting = WaitingSerializer(allow_null=True, help_text="why a pending or queued task has not started")
    error = serializers.CharField(allow_null=True)


class RunStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    revision = serializers.CharField()
    created = serializers.DateTimeField()
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    estimated_finish = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField(allow_null=True, help_text="the username of who started it")


class WorkflowStatusApi(APIView):
    """SPEC.md "Status payload": the run and, per node, state, times, outputs, artifacts and why it waits."""

    class OutputSerializer(serializers.Serializer):
        run = RunStatusSerializer()
        nodes = serializers.DictField(child=NodeStatusSerializer(), help_text="by node uniquename")

    @extend_schema(parameters=[RUN_PARAM], responses={200: OutputSerializer})
    def get(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        if "run" in request.query_params:
            run_id = _run_id(request.query_params["run"])
            run = run_selectors.run_get(user=request.user, run_id=run_id, workflow=workflow)
        else:
            run = run_selectors.run_latest(workflow=workflow)
        # Built as plain data by the selector (a run may have 100,000 nodes); the serializers above document it.
        return Response(run_selectors.run_status(run=run))


class WorkflowGetRunApi(WorkflowGetApi):
    """The `.nc` object: as published (latest or `?revision=`), or with `?run=` the run's revision with
    the run's input overrides and output values in the terminals, as Nodeworks saves a sheet after a run."""

    @extend_schema(
        parameters=[REVISION_PARAM, OpenApiParameter("run", int, description="fill in this run's values")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, workflow_id: int):
        if "run" not in request.query_params:
            return super().get(request, workflow_id)
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        run = run_selectors.run_get(user=request.user, run_id=_run_id(request.query_params["run"]), workflow=workflow)
        revision = request.query_params.get("revision")
        if revision and not run.revision.startswith(revision.lower()):
            raise ValidationError({"revision": [f"run {run.pk} executed revision {run.revision}, not {revision}"]})
        document = run_selectors.run_sheet(run=run)
        response = HttpResponse(json.dumps(document), content_type="application/json")
        response["X-Nodeworks-Revision"] = run.revision
        response["X-Nodeworks-Run"] = str(run.pk)
        return response


# ---------------------------------------------------------------- logs and artifacts


class PlainTextRenderer(renderers.BaseRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data.encode(self.charset) if isinstance(data, str) else json.dumps(data).encode(self.charset)


class TaskLogApi(APIView):
    """A task's log, every attempt: text (default), or `{attempts: [...]}` with `Accept: application/json`."""

    renderer_classes = [PlainTextRenderer, renderers.JSONRenderer]

    class AttemptSerializer(serializers.Serializer):
        attempt = serializers.IntegerField()
        data = serializers.CharField()
        size = serializers.IntegerField(help_text="bytes received, including any beyond the stored limit")
        truncated = serializers.BooleanField()

    class OutputSerializer(serializers.Serializer):
        attempts = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR, (200, "application/json"): OutputSerializer})
    def get(self, request, run_id: int, node: str):
        task = run_selectors.task_by_node(user=request.user, run_id=run_id, node=node)
        logs = run_selectors.task_logs(task=task)
        if request.accepted_renderer.format == "json":
            return Response({"attempts": self.AttemptSerializer(logs, many=True).data})
        parts = []
        for log in logs:
            parts.append(f"----- attempt {log.attempt}{' (truncated)' if log.truncated else ''} -----\n")
            parts.append(log.data if log.data.endswith("\n") or not log.data else log.data + "\n")
        return Response("".join(parts))

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors stay JSON whatever the client accepts, as everywhere in the API.
        if isinstance(response, Response) and not isinstance(response.data, str):
            request.accepted_renderer, request.accepted_media_type = renderers.JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)


class ArtifactDownloadApi(APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, artifact_id):
        artifact = run_selectors.artifact_get(user=request.user, artifact_id=artifact_id)
        return artifact_response(artifact, as_attachment=True)


class ArtifactProvenanceApi(APIView):
    """Where an artifact comes from: node, attempt, run, workflow revision and runner."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        name = serializers.CharField()
        sha256 = serializers.CharField()
        size = serializers.IntegerField()
        content_type = serializers.CharField()
        created = serializers.DateTimeField()
        task_id = serializers.IntegerField()
        node = serializers.CharField()
        path = serializers.ListField(child=serializers.CharField())
        attempt = serializers.IntegerField()
        run_id = serializers.IntegerField()
        workflow_id = serializers.IntegerField()
        revision = serializers.CharField()
        runner = serializers.CharField(allow_null=True)
        runner_id = serializers.IntegerField(allow_null=True)

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request, artifact_id):
        artifact = run_selectors.artifact_get(user=request.user, artifact_id=artifact_id)
        return Response(self.OutputSerializer(run_selectors.artifact_provenance(artifact=artifact)).data)


# ---------------------------------------------------------------- queue


class QueueGroupSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField())
    executor = serializers.CharField()
    queued = serializers.IntegerField()
    leased = serializers.IntegerField()
    running = serializers.IntegerField()
    oldest_queued = serializers.DateTimeField(allow_null=True)


class QueueStatusApi(APIView):
    """Queued and leased tasks by required tags and executor: the caller's own (an admin's: everyone's)."""

    class OutputSerializer(serializers.Serializer):
        groups = QueueGroupSerializer(many=True)
        totals = serializers.DictField(child=serializers.IntegerField(), help_text="{queued, leased, running}")

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        return Response(self.OutputSerializer(run_selectors.queue_status(user=request.user)).data)


class QueueClearApi(APIView):
    """Removes (cancels) the caller's queued tasks (an admin's: all); runs left with nothing to do finish."""

    class OutputSerializer(serializers.Serializer):
        cleared = serializers.IntegerField()

    @extend_schema(request=None, responses={200: OpenApiResponse(OutputSerializer)})
    def post(self, request):
        cleared = queue_clear(tasks=run_selectors.task_list(user=request.user))
        return Response(self.OutputSerializer({"cleared": cleared}).data)
