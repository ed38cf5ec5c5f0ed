"""The runner protocol (SPEC.md, "The runner protocol"): thin views over runners/services.py."""

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.validators import ProhibitSurrogateCharactersValidator
from rest_framework.views import APIView

from nodeworks_server.parsers import LimitedJSONParser
from runners import node_library, services
from runners import protocol_bodies as bodies
from runners.authentication import RunnerProtocolMixin
from runners.client_gone import client_gone
from workflows.artifact_files import AnyAcceptNegotiation, artifact_response

STALE = status.HTTP_409_CONFLICT


# Lease, heartbeat and results bodies: one description each (runners/protocol_bodies.py) is both the
# OpenAPI schema and the validator, compiled to plain Python (a serializer per call cost more CPU
# than everything else in a results call).


class LeaseApi(RunnerProtocolMixin, APIView):
    @extend_schema(request={"application/json": bodies.LEASE}, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        try:
            tasks = services.lease_tasks(
                runner=request.auth, caller_gone=lambda: client_gone(request), **bodies.lease_input(request.data)
            )
        except services.LongPollsFull as full:
            # Compatible addition: a runner that ignores it merely asks again sooner.
            return Response({"tasks": [], "retry_after_s": full.retry_after_s})
        if request.auth.shutdown_requested:
            # Compatible addition: an idle runner holds no lease to heartbeat, so this is how it learns.
            return Response({"tasks": tasks, "shutdown": True})
        return Response({"tasks": tasks})


class HeartbeatApi(RunnerProtocolMixin, APIView):
    @extend_schema(request={"application/json": bodies.HEARTBEAT}, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        answer = services.lease_heartbeat(runner=request.auth, **bodies.heartbeat_input(request.data))
        body = {"leases": answer.leases, "expires_at": answer.expires_at, "shutdown": answer.shutdown}
        # Every lease named is stale: the call as a whole is refused (and changed nothing).
        all_lost = answer.leases and all(state == "lost" for state in answer.leases.values())
        return Response(body, status=STALE if all_lost else status.HTTP_200_OK)


class LogText(serializers.CharField):
    """A log chunk as the process wrote it. A NUL or a lone surrogate is not refused (a 400 would stop
    the task's log for good, every later chunk being past the offset): lifecycle/data.py stores it visible."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(validator, ProhibitNullCharactersValidator | ProhibitSurrogateCharactersValidator)
        ]


class LogsApi(RunnerProtocolMixin, APIView):
    class InputSerializer(serializers.Serializer):
        lease_id = serializers.UUIDField()
        offset = serializers.IntegerField(min_value=0)
        data = LogText(allow_blank=True, trim_whitespace=False, max_length=4 * 1024 * 1024)

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


class ResultsApi(RunnerProtocolMixin, APIView):
    parser_classes = [LimitedJSONParser]

    @extend_schema(request={"application/json": bodies.RESULTS}, responses={200: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        results, lease = bodies.results_input(
            request.data, max_lease_tasks=settings.LEASE_MAX_TASKS, max_segment=settings.LEASE_SEGMENT_MAX
        )
        answers, next_tasks = services.results_report(runner=request.auth, results=results, lease=lease)
        body = {
            "results": [{key: value for key, value in vars(a).items() if value is not None} for a in answers],
            "next": next_tasks,
        }
        # 409 only when every lease named is stale: a result refused on its own (400 in its answer)
        # failed its task, which is a change, so the call as a whole succeeded.
        all_stale = all(answer.status == 409 for answer in answers)
        return Response(body, status=STALE if all_stale else status.HTTP_200_OK)


class LibraryTerminalSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    dtype = serializers.CharField(max_length=200, allow_blank=True, required=False, default="None",
                                  help_text="as Nodeworks saves it, e.g. \"<class 'float'>\"; \"None\": any")
    multiinput = serializers.BooleanField(required=False, default=False)

    def get_fields(self):
        # "in" and "out" are the names in a .nc file's terminal opts; "in" is a Python keyword.
        fields = super().get_fields()
        fields["in"] = serializers.BooleanField(required=False, default=False)
        fields["out"] = serializers.BooleanField(required=False, default=False)
        return fields


class LibraryNodeSerializer(serializers.Serializer):
    path = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1, max_length=10)
    source = serializers.CharField(max_length=20, required=False, default="", allow_blank=True,
                                   help_text="builtin, plugin, ...")
    doc = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True, trim_whitespace=False)
    terminals = LibraryTerminalSerializer(many=True, max_length=500, required=False, default=list)


class LibraryApi(RunnerProtocolMixin, APIView):
    """The node library this runner offers (sent at start and when it changes; optional: a runner
    that never sends one is simply not known to offer anything in particular)."""

    class InputSerializer(serializers.Serializer):
        nodes = LibraryNodeSerializer(many=True, max_length=10_000)

    class OutputSerializer(serializers.Serializer):
        changed = serializers.BooleanField(help_text="false: the same library as stored before")
        nodes = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, 413: OpenApiTypes.OBJECT})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        nodes = data.validated_data["nodes"]
        changed = node_library.runner_library_report(runner=request.auth, nodes=nodes)
        return Response({"changed": changed, "nodes": len(nodes)})
