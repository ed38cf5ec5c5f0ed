from django.conf import settings
from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class StatusApi(APIView):
    """Public orchestrator status: version, database, queue length, runners online."""

    permission_classes = [AllowAny]
    authentication_classes = []

    # The queue's figures come from the apps (runners.selectors.queue_figures), handed in by the URL
    # map, so that this project package imports no app.
    figures = None

    class OutputSerializer(serializers.Serializer):
        version = serializers.CharField()
        database = serializers.DictField()
        queue_length = serializers.IntegerField()
        runners_online = serializers.IntegerField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            database = {"vendor": connection.vendor, "ok": True}
        except DatabaseError as exc:
            database = {"vendor": connection.vendor, "ok": False, "error": str(exc)}
            return Response({"version": settings.VERSION, "database": database}, status=503)
        return Response({"version": settings.VERSION, "database": database, **(self.figures() if self.figures else {})})
