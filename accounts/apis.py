from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke, user_register


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
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


class LoginApi(TokenObtainPairView):
    """`{username, password}` → `{access, refresh}`; throttled per client address."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


class RefreshApi(TokenRefreshView):
    """`{refresh}` → a new `{access, refresh}`; the old refresh token is blacklisted (rotation)."""


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
