"""A request that fails because the database cannot be reached answers JSON 503 with Retry-After.

During a PostgreSQL outage every view that touches the database raised OperationalError and Django
answered its HTML 500 page (only /api/v1/status said 503): clients could not tell "try again soon"
from "the server is broken", and the web app could not parse the page. The error is the server's
state, not the request's, so the answer says so, in JSON wherever the request came from (the API,
the admin, the web app's pages), with a Retry-After that HTTP clients and the runner honour or
treat as a transient failure (the runner retries any 5xx and keeps its results spooled).

Two ways in, one answer (`unavailable_response`):
* DRF views (the API): nodeworks_server/exceptions.py, the one exception handler, asks
  `is_unavailable` first.
* Everything else: `DatabaseOutageMiddleware`. Its process_exception answers for exceptions that
  escape a view (the admin); an exception raised inside another middleware (a session read, the
  user lookup) is turned into a 500 response by Django before it could reach us, so the
  got_request_exception signal marks the request and the middleware replaces that 500.

Which errors: django.db.OperationalError and InterfaceError, Django's wrappers of the driver's
"cannot connect", "connection lost", "server closed the connection", "the database system is
shutting down" (and SQLite's "database is locked" and "unable to open"). All of them mean that
this request could not use the database now and that the same request may work in a moment.
"""

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

logger = logging.getLogger("nodeworks.db_outage")

RETRY_AFTER_S = 5
DETAIL = f"database unavailable: the server cannot reach its database right now; retry in {RETRY_AFTER_S} s"
_MARK = "_nodeworks_db_unavailable"


def is_unavailable(exc: BaseException | None) -> bool:
    """True for the errors of a database that cannot be reached (or used) at the moment."""
    seen = set()
    while exc is not None and id(exc) not in seen:  # also when wrapped (raise ... from a DB error)
        if isinstance(exc, (OperationalError, InterfaceError)):
            return True
        seen.add(id(exc))
        exc = exc.__cause__
    return False


def body() -> dict:
    return {"detail": DETAIL, "retry_after_s": RETRY_AFTER_S}


def headers() -> dict:
    return {"Retry-After": str(RETRY_AFTER_S)}


# SQLSTATEs of a database that is not there: connection exceptions (class 08) and the server shutting
# down or starting (57P01..57P03). An error without one failed before reaching a server at all.
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03")


def _unreachable(exc: BaseException | None) -> bool:
    sqlstate = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
    return not sqlstate or sqlstate.startswith(_UNREACHABLE_STATES)


def log(request, exc: BaseException | None) -> None:
    path = getattr(request, "path_info", "?")
    if _unreachable(exc):
        # One line, not a traceback per request: an outage fails every request for its whole length.
        logger.warning("database unavailable (%s): %s", path, exc)
    else:
        # Reachable but failing (a deadlock, a timeout, a lock): also worth a retry, and worth a look.
        logger.error("database error answered 503 (%s)", path, exc_info=exc)


def unavailable_response(request=None, exc: BaseException | None = None) -> JsonResponse:
    log(request, exc)
    return JsonResponse(body(), status=503, headers=headers())


def _mark_request(sender, request=None, **kwargs) -> None:
    """got_request_exception is sent inside Django's `except` block: the exception is sys.exc_info()'s."""
    if request is not None and is_unavailable(sys.exc_info()[1]):
        setattr(request, _MARK, sys.exc_info()[1])


got_request_exception.connect(_mark_request, dispatch_uid="nodeworks_db_outage")


class DatabaseOutageMiddleware:
    """Placed right after ApiExceptionMiddleware, so its process_exception runs first (Django calls
    them in reverse order) and its __call__ sees what every later middleware answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except (OperationalError, InterfaceError) as exc:  # not converted on the way (e.g. raised by a test client)
            return unavailable_response(request, exc)
        exc = getattr(request, _MARK, None)
        if exc is not None and response.status_code >= 500:
            return unavailable_response(request, exc)
        return response

    def process_exception(self, request, exception):
        if is_unavailable(exception):
            return unavailable_response(request, exception)
        return None
