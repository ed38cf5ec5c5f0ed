"""Production settings pass `check --deploy`; public status, schema and docs are served."""

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

BASE_DIR = Path(__file__).resolve().parents[1]


def run_manage(tmp_path, *args: str, **env: str | None) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("NODEWORKS_", "DJANGO_"))}
    for key in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DATABASE_URL", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"):
        environment.pop(key, None)
    environment["NODEWORKS_DATA_DIR"] = str(tmp_path / "data")
    environment["DJANGO_SETTINGS_MODULE"] = "nodeworks_server.settings"
    for key, value in env.items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def random_secret_key(length: int = 60) -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def test_production_settings_pass_check_deploy(tmp_path):
    result = run_manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        NODEWORKS_PRODUCTION="true",
        SECRET_KEY=random_secret_key(),
        ALLOWED_HOSTS="example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_development_settings_fail_check_deploy(tmp_path):
    """The control: without production mode the deploy checks do find problems (DEBUG, the dev key...)."""
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W" in result.stdout + result.stderr


@pytest.mark.parametrize("secret_key", [None, ""])
def test_production_without_secret_key_refuses_to_start(tmp_path, secret_key):
    result = run_manage(tmp_path, "check", NODEWORKS_PRODUCTION="true", SECRET_KEY=secret_key, ALLOWED_HOSTS="example.org")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_production_turns_debug_off_and_secures_cookies(tmp_path):
    script = (
        "from django.conf import settings;"
        "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
        " settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS > 0, settings.ALLOWED_HOSTS)"
    )
    result = run_manage(
        tmp_path,
        "shell",
        "-c",
        script,
        NODEWORKS_PRODUCTION="true",
        SECRET_KEY=random_secret_key(),
        ALLOWED_HOSTS="example.org",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False True True True True ['example.org']"


def test_bad_boolean_setting_is_a_clear_error(tmp_path):
    result = run_manage(tmp_path, "check", NODEWORKS_PRODUCTION="maybe")
    assert result.returncode != 0
    assert "NODEWORKS_PRODUCTION" in result.stderr


# --- public endpoints ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_status_is_public():
    response = APIClient().get("/api/v1/status")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == django_settings.VERSION
    assert body["database"]["ok"] is True
    assert body["database"]["vendor"] in ("sqlite", "postgresql")
    from django.db import connection

    assert body["database"]["vendor"] == connection.vendor
    assert isinstance(body["queue_length"], int)
    assert isinstance(body["runners_online"], int)


@pytest.mark.django_db
def test_status_ignores_bad_credentials():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token garbage")
    assert client.get("/api/v1/status").status_code == 200


@pytest.mark.django_db
def test_openapi_schema_is_served():
    response = APIClient().get("/api/v1/schema")
    assert response.status_code == 200
    text = response.content.decode()
    assert text.startswith("openapi: 3")
    for path in ("/api/v1/workflow/publish", "/api/v1/workflow/get/{workflow_id}", "/api/v1/token", "/api/v1/login"):
        assert f"{path}:" in text, path
    json_schema = APIClient().get("/api/v1/schema", {"format": "json"})
    assert json_schema.status_code == 200
    assert json_schema.json()["openapi"].startswith("3")
    assert json_schema.json()["info"]["version"] == django_settings.VERSION


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/docs", "/api/v1/redoc"])
def test_api_docs_are_html(url):
    response = APIClient().get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"<html" in response.content.lower()
    assert b"/api/v1/schema" in response.content
