from rest_framework import authentication, exceptions

from accounts.models import ApiToken
from accounts.secrets import USER_TOKEN_PREFIX, secret_digest


class PrefixedTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: <keyword> <prefix>...`, looked up by its SHA-256 digest.

    Each kind of token has its own keyword and prefix, so a runner token is refused on user
    endpoints and a user token on runner endpoints before any lookup.
    """

    keyword: str
    prefix: str
    kind: str  # for messages: "user API token", "runner token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(f"{self.keyword} header must be '{self.keyword} <token>'.")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(f"Invalid {self.kind}.") from None
        if not key.startswith(self.prefix):
            raise exceptions.AuthenticationFailed(f"Not a {self.kind} (expected the {self.prefix} prefix).")
        found = self.authenticate_digest(secret_digest(key), request)
        if found is None:
            raise exceptions.AuthenticationFailed(f"Invalid or revoked {self.kind}.")
        return found

    def authenticate_digest(self, digest: str, request):
        """(user, auth) for the token with this digest, or None."""
        raise NotImplementedError

    def authenticate_header(self, request):
        return self.keyword


class ApiTokenAuthentication(PrefixedTokenAuthentication):
    """`Authorization: Token nwu_...`. Runner tokens (nwr_) are refused here: they work only on runner endpoints."""

    keyword = "Token"
    prefix = USER_TOKEN_PREFIX
    kind = "user API token"

    def authenticate_digest(self, digest: str, request):
        token = ApiToken.objects.select_related("user").filter(digest=digest).first()
        if token is None or not token.user.is_active:
            return None
        token.touch()
        return token.user, token
