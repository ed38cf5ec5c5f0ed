"""GET /api/v1/: what the API offers, grouped, read from the URL map itself so it cannot drift from it.

The OpenAPI schema (/api/v1/schema) is the full reference; this index is the page a person or a
script lands on first: every endpoint with its methods, who may call it and one line about it.
"""

import re

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

API_ROOT = "/api/v1/"
# The first segment of a path names its group; the runner protocol is told apart by its credentials.
GROUPS = {
    "": "about",
    "status": "about",
    "schema": "about",
    "docs": "about",
    "redoc": "about",
    "register": "accounts",
    "login": "accounts",
    "logout": "accounts",
    "token": "accounts",
    "workflow": "workflows",
    "runs": "runs",
    "artifacts": "runs",
    "queue": "queue",
    "runners": "runners",
    "events": "events",
    "timers": "timers",
    "nodes": "runners",  # the node library of the caller's runners
    "admin": "admin",
    "runners/protocol": "runner protocol",
}
RUNNER_PROTOCOL_GROUP = GROUPS["runners/protocol"]
HIDDEN_METHODS = {"options", "head", "trace"}
CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _patterns(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def _api_v1_patterns():
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and str(pattern.pattern) == API_ROOT.lstrip("/"):
            return list(_patterns(pattern.url_patterns))
    return []


def _access(view_class) -> str:
    # By class name: nodeworks_server must not import the apps it serves.
    permissions = {cls.__name__ for cls in getattr(view_class, "permission_classes", [])}
    authentications = {cls.__name__ for cls in getattr(view_class, "authentication_classes", [])}
    if "RunnerAuthentication" in authentications:
        return "runner"
    if not permissions or "AllowAny" in permissions:
        return "public"
    if "IsAdminUser" in permissions:
        return "admin"
    return "user"


def _summary(view_class, url_name: str | None) -> str:
    """The view's own docstring (first paragraph); else its URL name, e.g. "runner lease"."""
    doc = view_class.__dict__.get("__doc__") or ""
    return " ".join(doc.strip().split("\n\n")[0].split()) or (url_name or "").replace("-", " ")


def endpoint_index() -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    seen = set()
    for route, pattern in _api_v1_patterns():
        view_class = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
        if view_class is None:
            continue
        path = API_ROOT + CONVERTER.sub(r"{\1}", route)
        methods = [
            method.upper()
            for method in view_class.http_method_names
            if method not in HIDDEN_METHODS and hasattr(view_class, method)
        ]
        if (path, tuple(methods)) in seen:
            continue
        seen.add((path, tuple(methods)))
        access = _access(view_class)
        group = RUNNER_PROTOCOL_GROUP if access == "runner" else GROUPS.get(route.split("/", 1)[0], route.split("/", 1)[0])
        groups.setdefault(group, []).append(
            {"path": path, "methods": methods, "access": access, "summary": _summary(view_class, pattern.name)}
        )
    order = list(dict.fromkeys(GROUPS.values()))
    return dict(sorted(groups.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


class EndpointSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="OpenAPI style: {name} is a path parameter")
    methods = serializers.ListField(child=serializers.CharField())
    access = serializers.ChoiceField(["public", "user", "admin", "runner"])
    summary = serializers.CharField()


class ApiIndexApi(APIView):
    """This index: every endpoint by group, with links to the OpenAPI schema and its documentation."""

    permission_classes = [AllowAny]
    authentication_classes = []

    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        version = serializers.CharField()
        schema = serializers.CharField(help_text="OpenAPI 3 (YAML; ?format=json for JSON)")
        docs = serializers.CharField(help_text="Swagger UI")
        redoc = serializers.CharField()
        authentication = serializers.DictField(child=serializers.CharField())
        endpoints = serializers.DictField(child=EndpointSerializer(many=True), help_text="by group")

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request):
        body = {
            "name": settings.SPECTACULAR_SETTINGS["TITLE"],
            "version": settings.VERSION,
            "schema": API_ROOT + "schema",
            "docs": API_ROOT + "docs",
            "redoc": API_ROOT + "redoc",
            "authentication": {
                "user": "Authorization: Token nwu_... (a personal API token, POST token) or Bearer <access JWT> (POST login)",
                "runner": "Authorization: Runner nwr_... (POST runners/register)",
            },
            "endpoints": endpoint_index(),
        }
        return Response(self.OutputSerializer(body).data)
