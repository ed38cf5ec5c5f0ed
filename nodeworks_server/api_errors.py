"""Every answer under /api/ is JSON, errors included: unknown paths, wrong slashes and Django-level errors.

DRF already answers its own errors as JSON (nodeworks_server/exceptions.py). What reaches Django instead
(a path no pattern matches, an exception DRF re-raises, a bad Host header) would get Django's HTML page,
in DEBUG the one listing every URL pattern; clients of the API (the web app, scripts) then fail to parse
it. Pages outside /api/ keep Django's own handling.
"""

import logging

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

API_PREFIX = "/api/"
API_INDEX = "/api/v1/"
NOT_FOUND_URL_NAME = "api-not-found"
INTERNAL_ERROR = "Internal server error. It has been logged; please report it if it persists."

logger = logging.getLogger("django.request")


def is_api_path(path: str) -> bool:
    return path == API_PREFIX.rstrip("/") or path.startswith(API_PREFIX)


def _endpoint_at(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.url_name != NOT_FOUND_URL_NAME and is_api_path(path)


def _other_slash_form(path: str) -> str | None:
    """The same path with the trailing slash toggled, when that one is an endpoint."""
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    return other if other != path and _endpoint_at(other) else None


def not_found_body(path: str) -> dict:
    other = _other_slash_form(path)
    if other is not None:
        slash = "without" if path.endswith("/") else "with"
        detail = f"No API endpoint at {path}; the endpoint is {other} ({slash} the trailing slash)."
        return {"detail": detail, "path": path, "did_you_mean": other}
    return {"detail": f"No API endpoint at {path}. The API's index is at {API_INDEX}.", "path": path, "index": API_INDEX}


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """The last pattern under /api/: whatever no endpoint matched, for every method."""
    return JsonResponse(not_found_body(request.path_info), status=404)


def _error(request, status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "path": request.path_info}, status=status)


# Django's error handlers (used when DEBUG is off): JSON under /api/, Django's pages elsewhere.


def handler400(request, exception=None):
    if is_api_path(request.path_info):
        return _error(request, 400, "Bad request.")
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if is_api_path(request.path_info):
        return _error(request, 403, "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)


def handler404(request, exception=None):
    if is_api_path(request.path_info):
        return JsonResponse(not_found_body(request.path_info), status=404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if is_api_path(request.path_info):
        return _error(request, 500, INTERNAL_ERROR)
    return defaults.server_error(request)


class ApiExceptionMiddleware:
    """An exception escaping an API view becomes a JSON answer, in DEBUG too (where Django would
    otherwise answer its HTML traceback page, which the web app cannot show)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_api_path(request.path_info):
            return None
        if isinstance(exception, Http404):
            return JsonResponse(not_found_body(request.path_info), status=404)
        if isinstance(exception, PermissionDenied):
            return _error(request, 403, str(exception) or "You do not have permission to perform this action.")
        if isinstance(exception, (BadRequest, SuspiciousOperation)):
            return _error(request, 400, str(exception) or "Bad request.")
        logger.error("Internal Server Error: %s", request.path_info, exc_info=exception, extra={"status_code": 500})
        body = {"detail": INTERNAL_ERROR, "path": request.path_info}
        if settings.DEBUG:
            body["exception"] = f"{type(exception).__name__}: {exception}"
        return JsonResponse(body, status=500)
