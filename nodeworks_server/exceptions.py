from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from nodeworks_server import db_outage, errors

# Each domain error kind answers one status; a subclass (e.g. LeaseNotCurrent) inherits its kind's.
DOMAIN_STATUS = {
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.InvalidInput: status.HTTP_400_BAD_REQUEST,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.TooLarge: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    errors.DomainError: status.HTTP_400_BAD_REQUEST,
}


def api_exception_handler(exc, context):
    """Every API error is JSON with a `detail` message; domain errors and Django's own limit errors become
    4xx, a database that cannot be reached 503 with Retry-After."""
    if isinstance(exc, errors.DomainError):
        return domain_error_response(exc)
    if db_outage.is_unavailable(exc):
        # The database is down or unreachable: the server's state, not the request's (db_outage.py).
        db_outage.log(context.get("request"), exc)
        return Response(db_outage.body(), status=status.HTTP_503_SERVICE_UNAVAILABLE, headers=db_outage.headers())
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": str(exc) or "request body too large"}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, (list, dict)) and "detail" not in response.data:
        response.data = {"detail": _first_message(response.data), "errors": response.data}
    return response


def domain_error_response(exc: errors.DomainError) -> Response:
    code = next(code for kind, code in DOMAIN_STATUS.items() if isinstance(exc, kind))
    if exc.field is None:
        return Response({"detail": exc.message}, status=code)
    return Response({"detail": f"{exc.field}: {exc.message}", "errors": {exc.field: exc.messages}}, status=code)


def _first_message(data) -> str:
    """A one-line summary of a serializer's error tree, e.g. "password: This field is required."."""
    path = []
    while isinstance(data, (dict, list)) and data:
        if isinstance(data, dict):
            key, data = next(iter(data.items()))
            if key != "non_field_errors":
                path.append(str(key))
        else:
            data = data[0]
    prefix = ".".join(path)
    return f"{prefix}: {data}" if prefix else str(data)
