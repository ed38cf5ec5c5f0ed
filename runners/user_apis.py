"""User-facing runner APIs (registration, status, cancel, shutdown) and the operators' /admin calls.

Only user credentials (Token / JWT) authenticate here: runner tokens work on the runner protocol alone.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from nodeworks_server.constants import EXECUTORS
from runners import node_library, selectors
from runners.apis import LibraryTerminalSerializer
from runners.services import runner_register, runner_shutdown_request, shutdown_all
from workflows.lifecycle import cancel_all, task_cancel
from workflows.run_selectors import task_get

TAG = serializers.RegexField(r"^[A-Za-z0-9_.:-]{1,64}\Z", help_text="letters, digits and _ . : - (at most 64)")


class CurrentTaskSerializer(serializers.Serializer):
    task_id = serializers.IntegerField(source="id")
    node = serializers.CharField()
    run = serializers.IntegerField(source="run_id")
    workflow = serializers.IntegerField(source="workflow_id", help_text="the run's workflow, for a link to the run")
    state = serializers.CharField()
    started = serializers.DateTimeField(allow_null=True, help_text="null while leased, not yet running")


class RunnerStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    tags = serializers.ListField(child=serializers.CharField())
    executors = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(["online", "offline", "paused", "draining"])
    paused = serializers.BooleanField()
    shutdown_requested = serializers.BooleanField()
    current_tasks = CurrentTaskSerializer(many=True)
    last_contact = serializers.DateTimeField(allow_null=True)
    version = serializers.CharField()
    hostname = serializers.CharField()
    shared_with_all = serializers.BooleanField()
    token_hint = serializers.CharField(help_text="the token's first characters, to tell tokens apart")
    created = serializers.DateTimeField()


class RunnerStatusApi(APIView):
    """The caller's runners (an admin's: all) and what they are doing."""

    @extend_schema(responses={200: RunnerStatusSerializer(many=True)})
    def get(self, request):
        return Response(RunnerStatusSerializer(selectors.runner_list(user=request.user), many=True).data)


class RunnerRegisterApi(APIView):
    """Registers a runner of the caller; its token is in this answer only (only a digest is stored)."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(min_length=1, max_length=100, trim_whitespace=True)
        tags = serializers.ListField(child=TAG, max_length=100, required=False, default=list)
        executors = serializers.ListField(
            child=serializers.ChoiceField(EXECUTORS), min_length=1, max_length=len(EXECUTORS), required=False,
            default=["local"],
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        tags = serializers.ListField(child=serializers.CharField())
        executors = serializers.ListField(child=serializers.CharField())
        token = serializers.CharField(help_text="shown once: `Authorization: Runner <token>`")

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        runner, token = runner_register(user=request.user, **data.validated_data)
        runner.token = token
        return Response(self.OutputSerializer(runner).data, status=status.HTTP_201_CREATED)


class RunnerTaskCancelApi(APIView):
    """Cancels one of the caller's tasks: a waiting one ends now, a running one is stopped by its runner
    at its next heartbeat (the answer then says `leased`/`running` with `cancel_requested`)."""

    class OutputSerializer(serializers.Serializer):
        task_id = serializers.IntegerField()
        state = serializers.CharField()
        cancel_requested = serializers.BooleanField()

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request, task_id: int):
        task = task_get(user=request.user, task_id=task_id)
        state = task_cancel(task=task)
        task.refresh_from_db(fields=["cancel_requested"])
        body = {"task_id": task.pk, "state": state, "cancel_requested": task.cancel_requested}
        return Response(self.OutputSerializer(body).data)


class RunnerShutdownApi(APIView):
    """Asks a runner to finish its work and exit (told in the answer to its next heartbeat)."""

    @extend_schema(request=None, responses={200: RunnerStatusSerializer})
    def post(self, request, runner_id: int):
        runner = runner_shutdown_request(runner=selectors.runner_get(user=request.user, runner_id=runner_id))
        return Response(RunnerStatusSerializer(selectors.runner_list(user=request.user).get(pk=runner.pk)).data)


class CancelAllSerializer(serializers.Serializer):
    cancelled = serializers.ListField(child=serializers.IntegerField(), help_text="runs this call cancelled")
    cleared = serializers.IntegerField(help_text="queued tasks removed beyond those runs")


class AdminCancelAllApi(APIView):
    """Cancels every running run and clears the queue."""

    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses={200: CancelAllSerializer})
    def post(self, request):
        cancelled, cleared = cancel_all()
        return Response(CancelAllSerializer({"cancelled": cancelled, "cleared": cleared}).data)


class AdminShutdownApi(APIView):
    """cancel_all, then every runner is told to exit."""

    permission_classes = [IsAdminUser]

    class OutputSerializer(CancelAllSerializer):
        runners = serializers.IntegerField(help_text="runners told to shut down")

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request):
        cancelled, cleared, runners = shutdown_all()
        return Response(self.OutputSerializer({"cancelled": cancelled, "cleared": cleared, "runners": runners}).data)


class NodeLibraryNodeSerializer(serializers.Serializer):
    path = serializers.ListField(child=serializers.CharField())
    group = serializers.CharField(help_text="the path without its last part, joined by /")
    name = serializers.CharField()
    source = serializers.CharField(help_text="builtin, plugin, ... as the runner said")
    doc = serializers.CharField()
    terminals = LibraryTerminalSerializer(many=True)
    runners = serializers.ListField(child=serializers.IntegerField(), help_text="ids of the runners offering it")
    online = serializers.BooleanField(help_text="offered by a runner online now")


class NodeLibraryRunnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    online = serializers.BooleanField()
    reported = serializers.DateTimeField()
    nodes = serializers.IntegerField()


class NodeLibrarySerializer(serializers.Serializer):
    source = serializers.ChoiceField(
        ["runners", "builtin"],
        help_text="runners: a runner that reported its library is online; builtin: none is, and the runner's "
        "built-in groups are listed too (with what offline runners reported)",
    )
    runners = NodeLibraryRunnerSerializer(many=True, help_text="the runners serving the caller that reported")
    nodes = NodeLibraryNodeSerializer(many=True)


class NodeLibraryApi(APIView):
    """The node types the caller can run: the union of the node libraries reported by the runners that
    serve them (their own, and admins' runners shared with them), for the web app's palette."""

    @extend_schema(responses={200: NodeLibrarySerializer})
    def get(self, request):
        return Response(NodeLibrarySerializer(node_library.node_library_for(user=request.user)).data)
