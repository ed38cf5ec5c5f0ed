"""Domain errors: what services and selectors raise when they refuse a request.

They say what went wrong in the domain's terms and know nothing of HTTP; the one exception handler
(nodeworks_server/exceptions.py) maps each kind to its status. A `field` names the input at fault,
so the answer carries `errors: {field: [message]}` as a serializer's would.
"""


class DomainError(Exception):
    def __init__(self, message: str, *, field: str | None = None, more: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.field = field
        self.messages = [message, *more]  # every problem found with `field`, the first one in `message`


class NotFound(DomainError):
    """Missing, or not the caller's to see (the two are indistinguishable on purpose)."""


class InvalidInput(DomainError):
    """The request names something the domain cannot accept (a bad override, an offset past the end)."""


class Conflict(DomainError):
    """The request was made against a state that has moved on (a stale revision, a lease no longer current)."""


class TooLarge(DomainError):
    """Past one of the configured size limits."""
