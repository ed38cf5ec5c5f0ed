import contextlib

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts.models import ApiToken
from accounts.refresh_cookie import (
    WEB_CLIENT_HEADER,
    WEB_CLIENT_VALUE,
    clear_refresh_cookie,
    is_web_client,
    refresh_from_cookie,
    set_refresh_cookie,
)
from accounts.services import api_token_create, api_token_revoke, refresh_token_revoke, user_register
from accounts.throttles import SharedScopedRateThrottle


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [SharedScopedRateThrottle]
    throttle_scope = "register"

    class InputSerializer(serializers.Serializer):
        username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, write_only=True)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(**data.validated_data)
        return Response(self.OutputSerializer(user).data, status=status.HTTP_201_CREATED)


WEB_CLIENT_PARAM = OpenApiParameter(
    WEB_CLIENT_HEADER,
    str,
    OpenApiParameter.HEADER,
    enum=[WEB_CLIENT_VALUE],
    description="the web app: the refresh token travels in the httpOnly `nw_refresh` cookie instead of the body",
)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(required=False, help_text="absent for the web app: it is in the cookie")


class AccessSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField(required=False, help_text="the rotated refresh token; absent for the web app")


def _cookie_refused() -> Response:
    detail = f"A refresh token in a cookie is used only with the header {WEB_CLIENT_HEADER}: {WEB_CLIENT_VALUE}."
    return Response({"detail": detail}, status=status.HTTP_403_FORBIDDEN)


def _session_ended(detail: str) -> Response:
    # The cookie is left alone: the browser may already hold a newer one, rotated by a request of
    # another tab that raced this one, and clearing it here would end that session too.
    return Response({"detail": detail, "code": "token_not_valid"}, status=status.HTTP_401_UNAUTHORIZED)


def _body_refresh(request) -> str | None:
    data = request.data
    return data.get("refresh") if isinstance(data, dict) and "refresh" in data else None


class LoginApi(TokenObtainPairView):
    """`{username, password}` → `{access, refresh}`; throttled per client address. With
    `X-Nodeworks-Client: web` the refresh token is set as the httpOnly `nw_refresh` cookie instead."""

    throttle_classes = [SharedScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(parameters=[WEB_CLIENT_PARAM], responses={200: TokenPairSerializer})
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == status.HTTP_200_OK and is_web_client(request):
            set_refresh_cookie(response, request, response.data.pop("refresh"))
        return response


class RefreshApi(TokenRefreshView):
    """`{refresh}` → a new `{access, refresh}`; the old refresh token is blacklisted (rotation).
    The web app sends an empty body with `X-Nodeworks-Client: web`: the cookie is used and rotated."""

    class InputSerializer(serializers.Serializer):
        refresh = serializers.CharField(required=False, help_text="required, except for the web app (the cookie)")

    @extend_schema(request=InputSerializer, parameters=[WEB_CLIENT_PARAM], responses={200: AccessSerializer})
    def post(self, request, *args, **kwargs):
        if _body_refresh(request) is None:
            cookie = refresh_from_cookie(request)
            if is_web_client(request):
                if cookie is None:
                    return _session_ended("No session: log in again.")
                return self._refresh_cookie(request, cookie)
            if cookie is not None:
                return _cookie_refused()
        try:
            return super().post(request, *args, **kwargs)
        except ObjectDoesNotExist:
            raise InvalidToken("The user of this token no longer exists.") from None

    def _refresh_cookie(self, request, cookie: str) -> Response:
        serializer = self.get_serializer(data={"refresh": cookie})
        try:
            serializer.is_valid(raise_exception=True)
        except (TokenError, AuthenticationFailed, ObjectDoesNotExist):
            return _session_ended("The session has ended (logged out, expired or replaced): log in again.")
        tokens = dict(serializer.validated_data)
        response = Response({"access": tokens["access"]})
        if "refresh" in tokens:
            set_refresh_cookie(response, request, tokens["refresh"])
        return response


class LogoutApi(APIView):
    """Ends a session: blacklists the refresh token (`{refresh}`, or the web app's cookie with
    `X-Nodeworks-Client: web`) and clears the cookie. Access tokens already given live out their
    few minutes."""

    permission_classes = [AllowAny]
    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        refresh = serializers.CharField(required=False, help_text="absent for the web app: it is in the cookie")

    def get_authenticate_header(self, request):
        # A refused token is a 401 as on token/refresh (DRF answers 403 without this header).
        return 'Bearer realm="api"'

    @extend_schema(request=InputSerializer, parameters=[WEB_CLIENT_PARAM], responses={204: None})
    def post(self, request):
        data = self.InputSerializer(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        refresh = data.validated_data.get("refresh")
        if refresh is not None:
            try:
                refresh_token_revoke(refresh=refresh)
            except TokenError as exc:
                raise InvalidToken(exc.args[0]) from None
        else:
            cookie = refresh_from_cookie(request)
            if not is_web_client(request):
                if cookie is not None:
                    return _cookie_refused()
                raise ValidationError({"refresh": ["This field is required."]})
            if cookie is not None:
                # An already ended session: logging out still clears the cookie.
                with contextlib.suppress(TokenError):
                    refresh_token_revoke(refresh=cookie)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        clear_refresh_cookie(response)
        return response


class ApiTokenOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "hint", "created", "last_used"]


class ApiTokenApi(APIView):
    """The caller's personal API tokens: list, create (the value is shown once), revoke."""

    class CreateSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    class RevokeSerializer(serializers.Serializer):
        id = serializers.IntegerField(min_value=1)

    class CreatedSerializer(ApiTokenOutputSerializer):
        token = serializers.CharField()

        class Meta(ApiTokenOutputSerializer.Meta):
            fields = [*ApiTokenOutputSerializer.Meta.fields, "token"]

    @extend_schema(responses={200: ApiTokenOutputSerializer(many=True)})
    def get(self, request):
        tokens = ApiToken.objects.filter(user=request.user)
        return Response(ApiTokenOutputSerializer(tokens, many=True).data)

    @extend_schema(request=CreateSerializer, responses={201: CreatedSerializer})
    def post(self, request):
        data = self.CreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, plaintext = api_token_create(user=request.user, name=data.validated_data["name"])
        token.token = plaintext
        return Response(self.CreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RevokeSerializer, responses={204: None})
    def delete(self, request):
        data = self.RevokeSerializer(data=request.data or request.query_params)
        data.is_valid(raise_exception=True)
        return _token_revoke(request, token_id=data.validated_data["id"])


class ApiTokenDetailApi(APIView):
    """One token by id: revoke only. Its own view, so GET and POST answer 405 instead of reaching
    the list/create handlers with an argument they do not take (a 500)."""

    @extend_schema(responses={204: None})
    def delete(self, request, token_id: int):
        return _token_revoke(request, token_id=token_id)


def _token_revoke(request, *, token_id: int) -> Response:
    if not api_token_revoke(user=request.user, token_id=token_id):
        raise NotFound(f"no token {token_id}")
    return Response(status=status.HTTP_204_NO_CONTENT)
