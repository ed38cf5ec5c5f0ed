from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions

from accounts.authentication import PrefixedTokenAuthentication
from accounts.secrets import RUNNER_TOKEN_PREFIX
from nodeworks_server.fast_json import FastJSONRenderer
from runners.models import Runner
from runners.selectors import runner_by_token_digest
from runners.services import runner_contact_write


class RunnerAuthentication(PrefixedTokenAuthentication):
    """`Authorization: Runner nwr_...`, accepted only on runner endpoints. `request.auth` is the Runner."""

    keyword = "Runner"
    prefix = RUNNER_TOKEN_PREFIX
    kind = "runner token"

    def authenticate_digest(self, digest: str, request):
        runner = runner_by_token_digest(digest)
        if runner is None or not runner.owner.is_active:
            return None
        _touch(runner, request)
        return runner.owner, runner


def _touch(runner: Runner, request) -> None:
    now = timezone.now()
    changes = {}
    # Every call counts as contact, but "online" is "seen within two heartbeat periods" (30 s): a write
    # every RUNNER_CONTACT_WRITE_S is plenty, and idle runners turned away every few seconds no longer
    # write on every call. A long-poll that will outlast the window writes before it waits
    # (runners/services.py runner_contact_keep).
    if runner.last_contact is None or (now - runner.last_contact).total_seconds() >= settings.RUNNER_CONTACT_WRITE_S:
        changes["last_contact"] = now
    for field, header in (("version", "X-Nodeworks-Runner-Version"), ("hostname", "X-Nodeworks-Runner-Host")):
        value = request.headers.get(header, "")[: Runner._meta.get_field(field).max_length]
        if value and value != getattr(runner, field):
            changes[field] = value
    if list(changes) == ["last_contact"]:
        runner_contact_write(runner=runner, now=now)
    elif changes:
        Runner.objects.filter(pk=runner.pk).update(**changes)
        for field, value in changes.items():
            setattr(runner, field, value)


class RunnerProtocolMixin:
    """Runner endpoints: runner tokens only, and a protocol version this server speaks (else 426)."""

    authentication_classes = [RunnerAuthentication]
    renderer_classes = [FastJSONRenderer]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not isinstance(request.auth, Runner):
            raise exceptions.NotAuthenticated("runner endpoints take `Authorization: Runner nwr_...`")
        version = request.headers.get("X-Nodeworks-Protocol", "")
        if version not in settings.RUNNER_PROTOCOL_VERSIONS:
            raise UnsupportedProtocol(
                f"protocol version {version or '(none)'} is not spoken here; "
                f"send X-Nodeworks-Protocol: one of {', '.join(settings.RUNNER_PROTOCOL_VERSIONS)}"
            )


class UnsupportedProtocol(exceptions.APIException):
    status_code = 426
    default_code = "upgrade_required"
