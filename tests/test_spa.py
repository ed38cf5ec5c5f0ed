"""The built web app served at /: hashed assets cached for good, index.html for every page path (deep
links, reloads) and never cached stale, /api/, /admin/ and static files untouched, and a page saying
how to build the app when it is not built. Through Django's whole middleware stack, and once through
a real gunicorn in production mode."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

BASE_DIR = Path(__file__).resolve().parents[1]
INDEX = b'<!doctype html><html><head><script type="module" src="/assets/index-B3x_9aQe.js"></script></head><body></body></html>'
ASSET = b"console.log('the app');\n"
PAGE_PATHS = ["/", "/workflows/3", "/workflows/3/runs/12", "/runners", "/settings/tokens", "/no/such/page", "/login?next=/queue"]


def build(dist: Path) -> Path:
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_bytes(INDEX)
    (dist / "assets" / "index-B3x_9aQe.js").write_bytes(ASSET)
    (dist / "favicon.svg").write_bytes(b"<svg/>")
    return dist


@pytest.fixture
def dist(tmp_path, settings) -> Path:
    settings.FRONTEND_DIST = build(tmp_path / "dist")
    settings.WHITENOISE_ROOT = settings.FRONTEND_DIST
    return settings.FRONTEND_DIST


@pytest.fixture
def not_built(tmp_path, settings) -> Path:
    settings.FRONTEND_DIST = tmp_path / "nothing-here"
    settings.WHITENOISE_ROOT = None
    return settings.FRONTEND_DIST


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_every_page_path_answers_index_html(dist, path):
    response = Client().get(path)
    assert response.status_code == 200
    assert response.content == INDEX
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    assert response["ETag"]


def test_index_html_is_revalidated_not_refetched(dist):
    etag = Client().get("/workflows/1")["ETag"]
    assert Client().get("/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert Client().get("/", HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    (dist / "index.html").write_bytes(INDEX.replace(b"B3x_9aQe", b"Zz9_new1"))  # a rebuild
    fresh = Client().get("/", HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200
    assert b"Zz9_new1" in fresh.content
    assert fresh["ETag"] != etag


def test_hashed_assets_are_cached_for_good(dist):
    response = Client().get("/assets/index-B3x_9aQe.js")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == ASSET
    assert response["Content-Type"].startswith("text/javascript")
    assert "immutable" in response["Cache-Control"]
    assert "max-age=315360000" in response["Cache-Control"]


def test_other_files_of_the_app_are_served_and_index_html_never_cached(dist):
    favicon = Client().get("/favicon.svg")
    assert favicon.status_code == 200
    assert "immutable" not in favicon["Cache-Control"]
    direct = Client().get("/index.html")
    assert direct.status_code == 200
    assert direct["Cache-Control"] == "no-cache"


def test_a_missing_asset_is_a_404_not_the_page(dist):
    # An old tab asking for last build's script must not get HTML as JavaScript.
    response = Client().get("/assets/index-OLD.js")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    for sneaky in ("/assets/..%2Findex.html", "/assets/%2E%2E/index.html", "/assets/", "/assets/nested/../../index.html"):
        assert Client().get(sneaky).status_code == 404, sneaky


def test_assets_of_a_rebuild_after_start_are_served(dist):
    """WhiteNoise (without autorefresh, as in production) indexed the files at start; index.html is
    read per request, so a rebuild's page names assets only the disk knows: those are served too."""
    client = Client()
    assert client.get("/assets/index-B3x_9aQe.js").status_code == 200  # WhiteNoise now set up
    (dist / "assets" / "index-N3w_b1ld.js").write_bytes(b"// the rebuild\n")
    response = client.get("/assets/index-N3w_b1ld.js")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"// the rebuild\n"
    assert "immutable" in response["Cache-Control"]
    assert response["Content-Type"].startswith("text/javascript")


def test_api_admin_and_static_are_untouched(dist, admin_user_client):
    api = Client().get("/api/v1/no/such/thing")
    assert api.status_code == 404
    assert api["Content-Type"] == "application/json"
    assert Client().get("/api/v1/status").json()["database"]["ok"] is True
    login = Client().get("/admin/")
    assert login.status_code == 302
    assert login["Location"].startswith("/admin/login/")
    assert Client().get("/admin").status_code == 301  # Django's trailing slash, not the app
    assert admin_user_client.get("/admin/").status_code == 200
    static = Client().get("/static/no-such-file.css")
    assert static.status_code == 404
    assert INDEX not in static.content


def test_only_safe_methods_get_the_page(dist):
    assert Client().head("/workflows/1").status_code == 200
    response = Client().post("/workflows/1")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_not_built_says_how_to_build(not_built, db):
    for path in ("/", "/workflows/3/runs/12"):
        response = Client().get(path)
        assert response.status_code == 503
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert response["Cache-Control"] == "no-store"
        text = response.content.decode()
        assert "not built" in text
        assert "scripts/build-frontend.sh" in text
        assert str(not_built) in text
    assert Client().get("/api/v1/status").status_code == 200


@pytest.fixture
def admin_user_client(db):
    from tests.conftest import make_user

    client = Client()
    client.force_login(make_user("root", staff=True))
    return client


# ---------------------------------------------------------------- a real server in production mode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, **headers) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def production_server(tmp_path: Path, dist: Path):
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("NODEWORKS_", "DJANGO_"))}
    for key in ("DATABASE_URL", "DEBUG"):
        environment.pop(key, None)
    environment.update(
        NODEWORKS_PRODUCTION="true",
        SECRET_KEY="test-only-" + "k" * 60,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        NODEWORKS_DATA_DIR=str(tmp_path / "data"),
        NODEWORKS_FRONTEND_DIST=str(dist),
        PYTHONWARNINGS="always",
    )
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 (closed by the caller)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "nodeworks_server.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=BASE_DIR,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            fetch(base + "/favicon.svg")
            break
        except OSError:
            time.sleep(0.2)
    return process, base, log


@pytest.mark.parametrize("built", [True, False])
def test_gunicorn_in_production_mode_serves_the_app(tmp_path, built):
    dist = build(tmp_path / "dist") if built else tmp_path / "missing"
    process, base, log = production_server(tmp_path, dist)
    try:
        status, headers, body = fetch(base + "/workflows/3/runs/12")
        if built:
            assert status == 200
            assert body == INDEX
            assert headers["Cache-Control"] == "no-cache"
            status, headers, body = fetch(base + "/assets/index-B3x_9aQe.js")
            assert status == 200
            assert body == ASSET
            assert "immutable" in headers["Cache-Control"]
            (dist / "assets" / "index-N3w_b1ld.js").write_bytes(b"// rebuilt while running\n")
            status, headers, body = fetch(base + "/assets/index-N3w_b1ld.js")
            assert (status, body) == (200, b"// rebuilt while running\n")
        else:
            assert status == 503
            assert b"scripts/build-frontend.sh" in body
        status, headers, body = fetch(base + "/api/v1/nosuch/")
        assert status == 404
        assert headers["Content-Type"] == "application/json"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
    output = (tmp_path / "gunicorn.log").read_text()
    assert "No directory at" not in output  # WhiteNoise is not pointed at a missing app
    assert "Traceback" not in output
