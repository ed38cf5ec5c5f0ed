"""`GET /api/v1/workflow/estimate/<id>`: when each node would start and finish, and the workflow's finish, if run now."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows import estimates, selectors
from workflows.apis import REVISION_PARAM


class NodeEstimateSerializer(serializers.Serializer):
    estimated_start = serializers.DateTimeField(allow_null=True, help_text="null: no runner online fits it (or a parent)")
    estimated_finish = serializers.DateTimeField(allow_null=True)
    start_s = serializers.FloatField(allow_null=True, help_text="seconds from `now`")
    finish_s = serializers.FloatField(allow_null=True, help_text="seconds from `now`")
    duration = serializers.FloatField(help_text="median of the samples, in seconds")
    p90 = serializers.FloatField()
    samples = serializers.IntegerField()
    basis = serializers.ChoiceField(
        ["exact", "path", "group", "default"],
        help_text="exact: same path, executor and requirements; path: same node path; group: same first path "
        "element; default: no history (NODEWORKS_ESTIMATE_DEFAULT_S)",
    )


class WorkflowEstimateApi(APIView):
    """Estimated start and finish of each node and of the whole workflow (its critical path), were the
    revision (latest, or `?revision=`) executed now: durations from history, placed on the fitting
    runners online behind the tasks already queued (docs/api-decisions.md, "Estimates")."""

    class OutputSerializer(serializers.Serializer):
        workflow = serializers.IntegerField()
        revision = serializers.CharField()
        now = serializers.DateTimeField(help_text="the time the offsets count from")
        estimated_finish = serializers.DateTimeField(allow_null=True)
        finish_s = serializers.FloatField(allow_null=True)
        critical_path = serializers.ListField(child=serializers.CharField())
        runners = serializers.IntegerField(help_text="fitting runners online, accepting work")
        slots = serializers.IntegerField(help_text="their slots (tasks at once)")
        ahead = serializers.IntegerField(help_text="tasks of other runs queued or running ahead")
        unplaced = serializers.IntegerField(help_text="nodes no runner online fits, or downstream of one")
        nodes = serializers.DictField(child=NodeEstimateSerializer())

    @extend_schema(parameters=[REVISION_PARAM], responses={200: OutputSerializer})
    def get(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        sha, estimate = estimates.workflow_estimate(workflow=workflow, revision=request.query_params.get("revision"))
        body = {
            "workflow": workflow.pk,
            "revision": sha,
            "now": estimate.now,
            "estimated_finish": estimate.finish,
            "finish_s": estimate.finish_s,
            "critical_path": estimate.critical_path,
            "runners": estimate.runners,
            "slots": estimate.slots,
            "ahead": estimate.ahead,
            "unplaced": estimate.unplaced,
            "nodes": {
                name: {
                    "estimated_start": node.start,
                    "estimated_finish": node.finish,
                    "start_s": node.start_s,
                    "finish_s": node.finish_s,
                    "duration": round(node.duration.median, 3),
                    "p90": round(node.duration.p90, 3),
                    "samples": node.duration.samples,
                    "basis": node.duration.basis,
                }
                for name, node in estimate.nodes.items()
            },
        }
        # Plain data (a workflow may have thousands of nodes); the serializers above document it.
        return Response(body)
