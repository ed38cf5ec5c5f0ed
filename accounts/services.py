from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import ApiToken
from accounts.secrets import USER_TOKEN_PREFIX, secret_new
from nodeworks_server.errors import InvalidInput

User = get_user_model()


@transaction.atomic
def user_register(*, username: str, email: str, password: str):
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput("This username is taken.", field="username")
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise InvalidInput(exc.messages[0], field="password", more=tuple(exc.messages[1:])) from None
    candidate.set_password(password)
    try:
        # A savepoint, so that losing a race to the same username leaves the outer transaction usable.
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        raise InvalidInput("This username is taken.", field="username") from None
    return candidate


@transaction.atomic
def api_token_create(*, user, name: str = "") -> tuple[ApiToken, str]:
    plaintext, digest = secret_new(USER_TOKEN_PREFIX)
    token = ApiToken.objects.create(user=user, name=name, hint=plaintext[:8], digest=digest)
    return token, plaintext


def api_token_revoke(*, user, token_id: int) -> bool:
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return deleted > 0


@transaction.atomic
def refresh_token_revoke(*, refresh: str) -> None:
    """Blacklists a refresh token (log out): it can no longer be traded for access tokens.

    Raises simplejwt's TokenError when the token is invalid, expired or already blacklisted."""
    RefreshToken(refresh).blacklist()
