from rest_framework import authentication, exceptions

from accounts.models import ApiToken
from accounts.secrets import USER_TOKEN_PREFIX, secret_digest


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token nwu_...`. Runner tokens (nwr_) are refused here: they work only on runner endpoints."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Token header must be 'Token <key>'.")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        if not key.startswith(USER_TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed("Not a user API token (expected the nwu_ prefix).")
        token = ApiToken.objects.select_related("user").filter(digest=secret_digest(key)).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        token.touch()
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
