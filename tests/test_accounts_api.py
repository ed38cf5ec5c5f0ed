"""Sign-up, JWT login/refresh, login throttling and personal API tokens (/api/v1/register, login, token)."""

import base64
import hashlib
import json

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken
from tests.conftest import nc_file, publish

PASSWORD = "a long test password"

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture(autouse=True)
def _fresh_throttle_cache(db):
    """Throttle counters live in the cache; every test starts with none and leaves none behind."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def anon():
    return APIClient()


def login(client, username="alice", password=PASSWORD):
    return client.post("/api/v1/login", {"username": username, "password": password}, format="json")


def new_token(client, name="nodeworks desktop") -> dict:
    response = client.post("/api/v1/token", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def token_client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plaintext}")
    return client


def bearer_client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def forced_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


# --- registration -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_creates_a_user_who_can_log_in(anon, django_user_model):
    response = anon.post(
        "/api/v1/register", {"username": "carol", "email": "carol@example.org", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "carol"
    assert body["email"] == "carol@example.org"
    assert "password" not in body
    user = django_user_model.objects.get(username="carol")
    assert body["id"] == user.pk
    assert user.check_password(PASSWORD)
    assert user.password != PASSWORD  # hashed

    tokens = login(anon, "carol").json()
    assert set(tokens) >= {"access", "refresh"}


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["alice", "ALICE"])
def test_register_duplicate_username_is_400(anon, alice, django_user_model, username):
    response = anon.post(
        "/api/v1/register", {"username": username, "email": "other@example.org", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert "taken" in response.json()["detail"]
    assert response.json()["detail"].startswith("username")
    assert django_user_model.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["short", "12345678901234", "password123", "carol123"])
def test_register_weak_password_is_400(anon, django_user_model, password):
    response = anon.post(
        "/api/v1/register", {"username": "carol", "email": "carol@example.org", "password": password}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("password:")
    assert not django_user_model.objects.filter(username="carol").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["username", "email", "password"])
def test_register_missing_field_is_400_with_message(anon, django_user_model, missing):
    body = {"username": "carol", "email": "carol@example.org", "password": PASSWORD}
    del body[missing]
    response = anon.post("/api/v1/register", body, format="json")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert missing in detail
    assert "required" in detail
    assert django_user_model.objects.count() == 0


@pytest.mark.django_db
def test_register_bad_email_is_400(anon, django_user_model):
    response = anon.post("/api/v1/register", {"username": "carol", "email": "not-an-email", "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("email:")
    assert django_user_model.objects.count() == 0


# --- JWT login and refresh ----------------------------------------------------------------------


@pytest.mark.django_db
def test_login_returns_jwts_that_authenticate(anon, alice):
    response = login(anon)
    assert response.status_code == 200, response.content
    tokens = response.json()
    for kind in ("access", "refresh"):
        assert tokens[kind].count(".") == 2  # header.payload.signature
    payload = json.loads(_b64url_decode(tokens["access"].split(".")[1]))
    assert str(payload["user_id"]) == str(alice.pk)

    assert anon.get("/api/v1/workflow/").status_code == 401
    assert bearer_client(tokens["access"]).get("/api/v1/workflow/").status_code == 200


@pytest.mark.django_db
def test_login_with_wrong_password_is_401(anon, alice):
    response = login(anon, password="not the password")
    assert response.status_code == 401
    assert "detail" in response.json()
    assert "access" not in response.json()


@pytest.mark.django_db
def test_refresh_rotates_and_blacklists_the_old_refresh_token(anon, alice):
    first = login(anon).json()
    response = anon.post("/api/v1/token/refresh", {"refresh": first["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    second = response.json()
    assert second["refresh"] != first["refresh"]
    assert bearer_client(second["access"]).get("/api/v1/workflow/").status_code == 200

    # The old refresh token was blacklisted by the rotation.
    again = anon.post("/api/v1/token/refresh", {"refresh": first["refresh"]}, format="json")
    assert again.status_code == 401
    assert "detail" in again.json()
    # The new one still works (once).
    assert anon.post("/api/v1/token/refresh", {"refresh": second["refresh"]}, format="json").status_code == 200


@pytest.mark.django_db
def test_refresh_with_garbage_is_401(anon):
    response = anon.post("/api/v1/token/refresh", {"refresh": "not.a.jwt"}, format="json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_login_is_throttled(anon, alice, monkeypatch):
    # DRF reads the rates once into this class attribute, so the setting alone would not apply.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "login": "3/min"})
    for _ in range(3):
        assert login(anon, password="wrong password").status_code == 401
    response = login(anon, password="wrong password")
    assert response.status_code == 429
    assert "detail" in response.json()
    assert "Retry-After" in response.headers
    # Even the right password is refused until the window passes.
    assert login(anon).status_code == 429


@pytest.mark.django_db
def test_register_is_throttled(anon, monkeypatch, django_user_model):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "register": "2/hour"})
    for i in range(2):
        body = {"username": f"user{i}", "email": f"user{i}@example.org", "password": PASSWORD}
        assert anon.post("/api/v1/register", body, format="json").status_code == 201
    body = {"username": "user9", "email": "user9@example.org", "password": PASSWORD}
    assert anon.post("/api/v1/register", body, format="json").status_code == 429
    assert not django_user_model.objects.filter(username="user9").exists()


@pytest.mark.django_db
def test_tampered_jwt_signature_is_401(alice):
    access = login(APIClient()).json()["access"]
    header, payload, signature = access.split(".")
    # Flip a character in the middle: the last base64 character may carry only padding bits.
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tampered = f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"
    assert _b64url_decode(tampered.split(".")[2]) != _b64url_decode(signature)
    response = bearer_client(tampered).get("/api/v1/workflow/")
    assert response.status_code == 401
    assert "detail" in response.json()


@pytest.mark.django_db
def test_tampered_jwt_payload_is_401(alice, bob):
    publish(forced_client(bob), "bobs", nc_file("product.nc"))
    access = login(APIClient()).json()["access"]
    header, payload, signature = access.split(".")
    claims = json.loads(_b64url_decode(payload))
    claims["user_id"] = str(bob.pk) if isinstance(claims["user_id"], str) else bob.pk
    forged = f"{header}.{_b64url_encode(json.dumps(claims).encode())}.{signature}"
    response = bearer_client(forged).get("/api/v1/workflow/")
    assert response.status_code == 401
    assert "bobs" not in response.content.decode()


@pytest.mark.django_db
def test_jwt_of_an_inactive_or_deleted_user_is_401(alice):
    access = login(APIClient()).json()["access"]
    client = bearer_client(access)
    assert client.get("/api/v1/workflow/").status_code == 200
    alice.is_active = False
    alice.save()
    assert client.get("/api/v1/workflow/").status_code == 401
    alice.delete()
    assert client.get("/api/v1/workflow/").status_code == 401


@pytest.mark.django_db
def test_refresh_token_is_not_an_access_token(alice):
    refresh = login(APIClient()).json()["refresh"]
    assert bearer_client(refresh).get("/api/v1/workflow/").status_code == 401


# --- personal API tokens ------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_token_shows_it_once_and_lists_without_value(alice_client, alice):
    created = new_token(alice_client)
    plaintext = created["token"]
    assert plaintext.startswith("nwu_")
    assert len(plaintext) >= 4 + 43  # 32 random bytes, url-safe base64
    assert created["name"] == "nodeworks desktop"
    assert plaintext.startswith(created["hint"])

    listed = alice_client.get("/api/v1/token")
    assert listed.status_code == 200
    rows = listed.json()
    assert [row["id"] for row in rows] == [created["id"]]
    assert "token" not in rows[0]
    assert "digest" not in rows[0]
    assert plaintext not in listed.content.decode()

    second = new_token(alice_client, name="laptop")
    assert second["token"] != plaintext
    assert {row["id"] for row in alice_client.get("/api/v1/token").json()} == {created["id"], second["id"]}


@pytest.mark.django_db
def test_token_name_too_long_is_400(alice_client):
    response = alice_client.post("/api/v1/token", {"name": "n" * 101}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("name:")
    assert ApiToken.objects.count() == 0


@pytest.mark.django_db
def test_database_holds_only_a_digest(alice_client):
    plaintext = new_token(alice_client)["token"]
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    # No column of the row holds the token, nor anything long enough to use: checked in raw SQL.
    table = connection.ops.quote_name(ApiToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        rows = cursor.fetchall()
    assert len(rows) == 1
    secret_part = plaintext[len("nwu_") :]
    for value in rows[0]:
        text = str(value)
        assert plaintext not in text
        assert secret_part not in text
        assert secret_part[:16] not in text  # the hint is only a few characters
    for field in ApiToken._meta.concrete_fields:
        assert plaintext not in str(getattr(token, field.attname))


@pytest.mark.django_db
def test_token_authenticates_and_records_last_used(alice_client, alice):
    publish(alice_client, "mine", nc_file("product.nc"))
    created = new_token(alice_client)
    assert ApiToken.objects.get().last_used is None

    client = token_client(created["token"])
    response = client.get("/api/v1/workflow/")
    assert response.status_code == 200
    assert [w["name"] for w in response.json()] == ["mine"]
    assert ApiToken.objects.get().last_used is not None
    listed = alice_client.get("/api/v1/token").json()
    assert listed[0]["last_used"] is not None

    # Token-authenticated requests act as the token's owner, e.g. publishing.
    published = publish(client, "from desktop", nc_file("arithmetic.nc"))
    assert published.status_code == 201
    assert client.get(f"/api/v1/workflow/history/{published.json()['id']}").json()[0]["author"] == "alice"


@pytest.mark.django_db
def test_last_used_is_written_at_most_once_a_minute(alice_client):
    from datetime import timedelta

    created = new_token(alice_client)
    client = token_client(created["token"])
    client.get("/api/v1/workflow/")
    first = ApiToken.objects.get().last_used
    client.get("/api/v1/workflow/")
    assert ApiToken.objects.get().last_used == first
    # An hour later it is written again.
    ApiToken.objects.update(last_used=first - timedelta(hours=1))
    client.get("/api/v1/workflow/")
    assert ApiToken.objects.get().last_used > first - timedelta(hours=1)


@pytest.mark.django_db
def test_revoked_token_is_401(alice_client):
    created = new_token(alice_client)
    client = token_client(created["token"])
    assert client.get("/api/v1/workflow/").status_code == 200

    response = alice_client.delete(f"/api/v1/token/{created['id']}")
    assert response.status_code == 204
    assert not ApiToken.objects.filter(pk=created["id"]).exists()
    assert alice_client.get("/api/v1/token").json() == []

    response = client.get("/api/v1/workflow/")
    assert response.status_code == 401
    assert "detail" in response.json()
    # Revoking again: it is gone.
    assert alice_client.delete(f"/api/v1/token/{created['id']}").status_code == 404


@pytest.mark.django_db
def test_revoke_by_id_in_body(alice_client):
    created = new_token(alice_client)
    assert alice_client.delete("/api/v1/token", {"id": created["id"]}, format="json").status_code == 204
    assert token_client(created["token"]).get("/api/v1/workflow/").status_code == 401


@pytest.mark.django_db
def test_another_user_cannot_revoke_or_see_a_token(alice_client, bob_client):
    created = new_token(alice_client)
    response = bob_client.delete(f"/api/v1/token/{created['id']}")
    assert response.status_code == 404
    assert "detail" in response.json()
    assert bob_client.get("/api/v1/token").json() == []
    assert ApiToken.objects.filter(pk=created["id"]).exists()
    assert token_client(created["token"]).get("/api/v1/workflow/").status_code == 200


@pytest.mark.django_db
def test_token_of_an_inactive_user_is_401(alice_client, alice):
    created = new_token(alice_client)
    alice.is_active = False
    alice.save()
    assert token_client(created["token"]).get("/api/v1/workflow/").status_code == 401


@pytest.mark.django_db
def test_token_endpoint_needs_a_user(anon):
    assert anon.get("/api/v1/token").status_code == 401
    assert anon.post("/api/v1/token", {}, format="json").status_code == 401
    assert ApiToken.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "Token nwr_" + "A" * 43,  # a runner token never works as a user token
        "Token nwu_" + "A" * 43,  # well-formed but unknown
        "Token garbage",
        "Token",
        "Token two parts",
        "Bearer not-a-jwt",
        "Token nwu_\u00e9\u00e9\u00e9",  # not ASCII
    ],
)
def test_bad_authorization_headers_are_401(alice, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/workflow/")
    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.django_db
def test_runner_token_with_a_real_digest_is_refused(alice):
    """Even a nwr_ secret whose digest sits in the user-token table is refused on user endpoints."""
    from accounts.secrets import RUNNER_TOKEN_PREFIX, secret_new

    plaintext, digest = secret_new(RUNNER_TOKEN_PREFIX)
    ApiToken.objects.create(user=alice, hint=plaintext[:8], digest=digest)
    response = token_client(plaintext).get("/api/v1/workflow/")
    assert response.status_code == 401
    assert "nwu_" in response.json()["detail"]


@pytest.mark.django_db
def test_user_token_is_a_distinct_secret_per_user(alice_client, bob_client, bob):
    a = new_token(alice_client)["token"]
    b = new_token(bob_client)["token"]
    assert a != b
    publish(bob_client, "bobs", nc_file("custom_string.nc"))
    assert [w["name"] for w in token_client(a).get("/api/v1/workflow/").json()] == []
    assert [w["name"] for w in token_client(b).get("/api/v1/workflow/").json()] == ["bobs"]
