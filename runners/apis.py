"""The runner protocol (SPEC.md, "The runner protocol"): thin views over runners/services.py."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from nodeworks_server.constants import EXECUTORS
from nodeworks_server.parsers import LimitedJSONParser
from runners import protocol_input, services
from runners.authentication import RunnerProtocolMixin
from workflows.artifact_files import AnyAcceptNegotiation, artifact_response

STALE = status.HTTP_409_CONFLICT


# The InputSerializers of lease, heartbeat and results document the bodies (OpenAPI); the bodies
# are validated by runners/protocol_input.py, which costs a fraction of a serializer per call.


class LeaseApi(RunnerProtocolMixin, APIView):
    class InputSerializer(serializers.Serializer):
        max_tasks = serializers.IntegerField(min_value=1, max_value=1000, default=1)
        wait_s = serializers.FloatField(min_value=0, max_value=30, default=0)
        executors = serializers.ListField(child=serializers.ChoiceField(EXECUTORS), max_length=len(EXECUTORS))
        last_finished = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=1000, default=list)

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        try:
            tasks = services.lease_tasks(runner=request.auth, **protocol_input.lease_input(request.data))
        except services.LongPollsFull as full:
            # Compatible addition: a runner that ignores it merely asks again sooner.
            return Response({"tasks": [], "retry_after_s": full.retry_after_s})
        return Response({"tasks": tasks})


class HeartbeatApi(RunnerProtocolMixin, APIView):
    class InputSerializer(serializers.Serializer):
        lease_ids = serializers.ListField(child=serializers.UUIDField(), max_length=10_000)
        running = serializers.DictField(child=serializers.DictField(), required=False, default=dict)

        def validate_running(self, running):
            try:
                return {serializers.UUIDField().to_internal_value(key): value for key, value in running.items()}
            except ValidationError:
                raise ValidationError("keys of `running` must be lease ids") from None

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        answer = services.lease_heartbeat(runner=request.auth, **protocol_input.heartbeat_input(request.data))
        body = {"leases": answer.leases, "expires_at": answer.expires_at, "shutdown": answer.shutdown}
        # Every lease named is stale: the call as a whole is refused (and changed nothing).
        all_lost = answer.leases and all(state == "lost" for state in answer.leases.values())
        return Response(body, status=STALE if all_lost else status.HTTP_200_OK)


class LogsApi(RunnerProtocolMixin, APIView):
    class InputSerializer(serializers.Serializer):
        lease_id = serializers.UUIDField()
        offset = serializers.IntegerField(min_value=0)
        data = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=4 * 1024 * 1024)

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        next_offset = services.log_append(runner=request.auth, **data.validated_data)
        return Response({"next_offset": next_offset})


class ArtifactUploadApi(RunnerProtocolMixin, APIView):
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        lease_id = serializers.UUIDField()
        name = serializers.RegexField(r"^[^/\\\x00]{1,255}$", help_text="a file name, no path")
        file = serializers.FileField(allow_empty_file=True)

    @extend_schema(request=InputSerializer, responses={201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        artifact = services.artifact_store(
            runner=request.auth,
            lease_id=data.validated_data["lease_id"],
            name=data.validated_data["name"],
            upload=upload,
            content_type=getattr(upload, "content_type", "") or "",
        )
        return Response({"id": str(artifact.id), "sha256": artifact.sha256, "size": artifact.size}, status=201)


class ArtifactDownloadApi(RunnerProtocolMixin, APIView):
    content_negotiation_class = AnyAcceptNegotiation

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, artifact_id):
        artifact = services.artifact_for_runner(runner=request.auth, artifact_id=artifact_id)
        if artifact is None:
            raise NotFound(f"artifact {artifact_id} not found")
        return artifact_response(artifact, as_attachment=False)


class ResultBodySerializer(serializers.Serializer):
    lease_id = serializers.UUIDField()
    state = serializers.ChoiceField(["succeeded", "failed", "cancelled"])
    outputs = serializers.DictField(required=False, default=dict)
    error = serializers.CharField(required=False, allow_blank=True, default="", max_length=100_000)
    started = serializers.DateTimeField(required=False, allow_null=True, default=None)
    finished = serializers.DateTimeField(required=False, allow_null=True, default=None)


class NextLeaseBodySerializer(serializers.Serializer):
    max_tasks = serializers.IntegerField(min_value=0, max_value=1000)
    executors = serializers.ListField(child=serializers.ChoiceField(EXECUTORS), max_length=len(EXECUTORS))


class ResultsApi(RunnerProtocolMixin, APIView):
    parser_classes = [LimitedJSONParser]

    class InputSerializer(serializers.Serializer):
        results = ResultBodySerializer(many=True, min_length=1, max_length=1000)
        lease = NextLeaseBodySerializer(required=False, help_text="optional: lease more tasks in the same call")

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        results, lease = protocol_input.results_input(request.data, max_lease_tasks=settings.LEASE_MAX_TASKS)
        answers, next_tasks = services.results_report(runner=request.auth, results=results, lease=lease)
        body = {
            "results": [{key: value for key, value in vars(a).items() if value is not None} for a in answers],
            "next": next_tasks,
        }
        all_stale = all(not answer.accepted for answer in answers)
        return Response(body, status=STALE if all_stale else status.HTTP_200_OK)
