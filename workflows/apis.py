
import orjson
from django.http import HttpResponse, QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from nodeworks_server.gc_pause import gc_paused
from nodeworks_server.json_limits import JSONInputError, loads_limited
from workflows import selectors
from workflows.documents import Document, document_from_bytes, document_from_object
from workflows.models import Workflow
from workflows.nodeworks_format import WorkflowFormatError, validate_requirements
from workflows.services.publishing import publish_warnings, workflow_delete, workflow_publish


class LimitedJSONField(serializers.JSONField):
    """JSON given as an object (JSON body) or as text (a multipart field), decoded under our limits.

    DRF's own JSONField decodes multipart text with plain json.loads: no depth limit (a RecursionError,
    a 500) and NaN accepted."""

    def to_internal_value(self, data):
        if isinstance(data, str) and isinstance(self.parent.initial_data, QueryDict):
            try:
                return loads_limited(data)
            except JSONInputError as exc:
                raise ValidationError(str(exc)) from None
        if not isinstance(self.parent.initial_data, QueryDict):
            # Decoded from the JSON body by our parser: DRF's check would only json.dumps it again
            # (0.2 s for a 12 MB workflow).
            return data
        return super().to_internal_value(data)


REVISION_PARAM = OpenApiParameter("revision", str, description="a revision sha (≥ 7 hex digits); latest when absent")


class WorkflowOutputSerializer(serializers.ModelSerializer):
    revision = serializers.CharField(source="head_revision")
    owner = serializers.CharField(source="owner.username")

    class Meta:
        model = Workflow
        fields = ["id", "name", "revision", "node_count", "owner", "created", "updated"]


class PublishInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, trim_whitespace=True)
    workflow = LimitedJSONField(required=False, help_text="the .nc object (JSON body)")
    file = serializers.FileField(required=False, help_text="the .nc file (multipart)")
    message = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
    base_revision = serializers.RegexField(r"^[0-9a-fA-F]{40}$", required=False)
    requirements = LimitedJSONField(required=False, help_text="workflow default requirements (requirements.json)")

    def validate(self, attrs):
        if ("workflow" in attrs) == ("file" in attrs):
            raise ValidationError({"workflow": ["send exactly one of `workflow` (JSON) or `file` (multipart)"]})
        requirements = attrs.get("requirements")
        if requirements is not None:
            try:
                attrs["requirements"] = validate_requirements(requirements, where="workflow requirements")
            except WorkflowFormatError as exc:
                raise ValidationError({"requirements": [exc.message]}) from None
        return attrs


def _document(attrs) -> Document:
    try:
        if "file" in attrs:
            return document_from_bytes(b"".join(attrs["file"].chunks()))
        # Both ways a `workflow` object arrives (JSON body, multipart text) decode it with loads_limited.
        return document_from_object(attrs["workflow"], depth_checked=True)
    except WorkflowFormatError as exc:
        error = {"detail": exc.message}
        if exc.obj is not None:
            error["object"] = exc.obj
        raise ValidationError(error) from None


class PublishedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    revision = serializers.CharField()
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="published all the same: e.g. node paths that none of your runners (that reported a node library) offers",
    )


def _published(workflow, revision, document: Document) -> dict:
    warnings = publish_warnings(owner_id=workflow.owner_id, document=document)
    return {"id": workflow.pk, "name": workflow.name, "revision": revision.sha, "warnings": warnings}


def _let_go_of_body(request) -> None:
    """Empties the decoded workflow once the publish is done with it. DRF's request and view point at
    each other, so the request, and the body it holds, is freed by the cyclic collector only, and
    late: a body's million objects grown old are left to a full collection (bodies of 100,000 nodes
    piled up, +370 MB a round of bench/ingest.py). What the graph keeps (its nodes) stays."""
    workflow = request.data.get("workflow") if isinstance(request.data, dict) else None
    if isinstance(workflow, dict):
        workflow.clear()


class WorkflowPublishApi(APIView):
    """New workflow: `{name, workflow, message?, requirements?}` or multipart `file` (name defaults to the file's)."""

    @extend_schema(request=PublishInputSerializer, responses={201: PublishedSerializer})
    def post(self, request):
        # One pause of the collector for decoding, checking and writing the body, not one per step: each
        # pause ends with a collection that walks what is alive (a million objects for 100,000 nodes).
        with gc_paused():
            try:
                return self._post(request)
            finally:
                _let_go_of_body(request)

    def _post(self, request):
        data = PublishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attrs = data.validated_data
        if "base_revision" in attrs:
            raise ValidationError({"base_revision": ["a new workflow has no base revision; publish to /publish/<id>"]})
        name = attrs.get("name") or (attrs["file"].name.rsplit(".", 1)[0][:200] if "file" in attrs else "")
        if not name:
            raise ValidationError({"name": ["a new workflow needs a name"]})
        document = _document(attrs)
        workflow, revision = workflow_publish(
            user=request.user,
            document=document,
            name=name,
            message=attrs["message"] or f"Create {name}",
            requirements=attrs.get("requirements"),
        )
        return Response(_published(workflow, revision, document), status=status.HTTP_201_CREATED)


class WorkflowPublishRevisionApi(APIView):
    """New revision: same body; `base_revision` (optional) must be the latest revision, else 409."""

    @extend_schema(request=PublishInputSerializer, responses={201: PublishedSerializer})
    def post(self, request, workflow_id: int):
        with gc_paused():  # as WorkflowPublishApi.post
            try:
                return self._post(request, workflow_id)
            finally:
                _let_go_of_body(request)

    def _post(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        data = PublishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attrs = data.validated_data
        document = _document(attrs)
        workflow, revision = workflow_publish(
            user=request.user,
            document=document,
            workflow=workflow,
            name=attrs.get("name"),
            message=attrs["message"] or "Update",
            requirements=attrs.get("requirements"),
            base_revision=(attrs.get("base_revision") or "").lower() or None,
        )
        return Response(_published(workflow, revision, document), status=status.HTTP_201_CREATED)


class WorkflowGetApi(APIView):
    """The `.nc` object exactly as published (byte for byte); its revision is in `X-Nodeworks-Revision`."""

    @extend_schema(parameters=[REVISION_PARAM], responses={200: OpenApiTypes.OBJECT})
    def get(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        sha = selectors.revision_resolve(workflow=workflow, revision=request.query_params.get("revision"))
        response = HttpResponse(selectors.workflow_file(workflow=workflow, sha=sha), content_type="application/json")
        response["X-Nodeworks-Revision"] = sha
        return response


class WorkflowDetailApi(APIView):
    """Metadata of a workflow at a revision, with its default requirements (requirements.json)."""

    class OutputSerializer(WorkflowOutputSerializer):
        requirements = serializers.JSONField()
        revision = serializers.CharField()

        class Meta(WorkflowOutputSerializer.Meta):
            fields = [*WorkflowOutputSerializer.Meta.fields, "requirements"]

    @extend_schema(parameters=[REVISION_PARAM], responses={200: OutputSerializer})
    def get(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        sha = selectors.revision_resolve(workflow=workflow, revision=request.query_params.get("revision"))
        workflow.revision = sha
        workflow.requirements = selectors.workflow_requirements(workflow=workflow, sha=sha)
        return Response(self.OutputSerializer(workflow).data)


class WorkflowHistoryApi(APIView):
    class OutputSerializer(serializers.Serializer):
        revision = serializers.CharField(source="sha")
        message = serializers.CharField()
        author = serializers.CharField(source="author_name")
        email = serializers.CharField(source="author_email")
        time = serializers.DateTimeField()

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description="newest first; default 100, at most 1000")],
        responses={200: OutputSerializer(many=True)},
    )
    def get(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        limit = serializers.IntegerField(min_value=1, max_value=1000).run_validation(
            request.query_params.get("limit", 100)
        )
        revisions = selectors.workflow_history(workflow=workflow, limit=limit)
        return Response(self.OutputSerializer(revisions, many=True).data)


class WorkflowDeleteApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        workflow_delete(workflow=workflow)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowPlanApi(APIView):
    """The DAG plan of a revision: topological `order`, `levels`, and each node's `critical_path` (its priority)."""

    @extend_schema(parameters=[REVISION_PARAM], responses={200: OpenApiTypes.OBJECT})
    def get(self, request, workflow_id: int):
        workflow = selectors.workflow_get(user=request.user, workflow_id=workflow_id)
        sha = selectors.revision_resolve(workflow=workflow, revision=request.query_params.get("revision"))
        # Written here by orjson, not by DRF's renderer: 3 MB for 100,000 nodes took 0.6-0.8 s there
        # (0.02 s here). The collector waits until the graph is gone (when not cached): 100,000 nodes
        # are a million objects for it to walk, again and again while they are alive.
        with gc_paused():
            plan = selectors.workflow_plan(workflow=workflow, sha=sha)
            body = orjson.dumps({"workflow": workflow.pk, "revision": sha, **plan.as_dict()})
            del plan
        return HttpResponse(body, content_type="application/json")


