"""Throttles that hold (issue 11, item 3): a forged X-Forwarded-For does not make a new client, the
count is shared by every server process (the database cache), parallel attempts are all counted, the
admin's login form is throttled per address and per username, and sign-up is throttled too.

The live tests start two real gunicorn servers (one of them with two worker processes) on one
database and alternate between them.
"""

from __future__ import annotations

import concurrent.futures
import http.cookiejar
import json
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.throttles import Rate, SlidingWindow
from tests.hardening.servers import ROOT, ServerPair

PASSWORD = "a long test password"

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def rates(monkeypatch):
    """DRF reads the rates once into this class attribute, so the setting alone would not apply."""

    def set_rates(**rates):
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **rates})

    return set_rates


def login(client, password="wrong password", username="alice", **headers):
    return client.post("/api/v1/login", {"username": username, "password": password}, format="json", **headers)


# ---------------------------------------------------------------- the client's address


@pytest.mark.django_db
def test_spoofed_forwarded_for_does_not_escape_the_login_throttle(alice, rates):
    rates(login="10/min")
    client = APIClient()
    answers = [login(client, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(200)]
    assert answers[:10] == [401] * 10
    assert set(answers[10:]) == {429}
    # And the right password from yet another "address" is refused until the window passes.
    right = login(client, password=PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert right.status_code == 429
    assert int(right["Retry-After"]) >= 1


@pytest.mark.django_db
def test_behind_trusted_proxies_the_address_they_add_is_the_client(alice, rates, settings):
    """NODEWORKS_TRUSTED_PROXIES=1: the last X-Forwarded-For entry (our proxy's) names the client;
    what the client itself put before it is ignored, and two real clients count apart."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    rates(login="3/min")
    client = APIClient()
    forged = [login(client, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}, 203.0.113.5").status_code for i in range(5)]
    assert forged == [401, 401, 401, 429, 429]
    assert login(client, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 401  # another client
    # The proxy itself (REMOTE_ADDR) is not the client: a request without the header counts apart too.
    assert login(client).status_code == 401


@pytest.mark.django_db
def test_sign_up_is_throttled_whatever_the_forwarded_for(rates, django_user_model):
    rates(register="3/hour")
    client = APIClient()
    answers = []
    for i in range(6):
        body = {"username": f"user{i}", "email": f"user{i}@example.org", "password": PASSWORD}
        answers.append(client.post("/api/v1/register", body, format="json", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}"))
    assert [answer.status_code for answer in answers] == [201, 201, 201, 429, 429, 429]
    assert "Retry-After" in answers[-1]
    assert sorted(django_user_model.objects.values_list("username", flat=True)) == ["user0", "user1", "user2"]


# ---------------------------------------------------------------- the admin's login form


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD)


def admin_login(client, username="root", password="wrong password", address="127.0.0.1"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password},
                       REMOTE_ADDR=address)


@pytest.mark.django_db
def test_admin_login_is_throttled_and_refuses_the_right_password_in_the_window(client, superuser, settings):
    settings.ADMIN_LOGIN_RATE = "5/min"
    answers = [admin_login(client).status_code for _ in range(5)]
    assert answers == [200] * 5  # the form again, with its error
    refused = admin_login(client)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "Too many failed logins" in refused.content.decode()
    right = admin_login(client, password=PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_admin_login_counts_per_username_across_addresses_and_per_address_across_usernames(client, superuser, settings):
    settings.ADMIN_LOGIN_RATE = "3/min"
    # One username from many addresses (a botnet on the superuser's account).
    assert [admin_login(client, address=f"198.51.100.{i}").status_code for i in range(3)] == [200] * 3
    assert admin_login(client, password=PASSWORD, address="198.51.100.200").status_code == 429
    # One address trying many usernames.
    assert [admin_login(client, username=f"user{i}", address="203.0.113.9").status_code for i in range(3)] == [200] * 3
    assert admin_login(client, username="someone", address="203.0.113.9").status_code == 429


@pytest.mark.django_db
def test_successful_admin_logins_do_not_count(client, superuser, settings):
    settings.ADMIN_LOGIN_RATE = "2/min"
    for _ in range(4):
        response = admin_login(client, password=PASSWORD)
        assert response.status_code == 302, response.content[:500]
        client.logout()
    assert admin_login(client).status_code == 200
    assert admin_login(client).status_code == 200
    assert admin_login(client).status_code == 429


# ---------------------------------------------------------------- the counter


@pytest.mark.django_db
def test_the_window_slides_across_a_window_edge():
    """Ten attempts at the end of one window still weigh at the start of the next: no double burst."""
    rate = Rate(limit=10, period=60)
    start = 6000 * 60 + 59.0  # one second before a window edge
    for _ in range(10):
        assert SlidingWindow("edge", rate, now=start).take() is None
    wait = SlidingWindow("edge", rate, now=start).take()
    assert wait is not None and wait >= 1
    just_after = SlidingWindow("edge", rate, now=start + 2)  # 1 s into the next window
    refused = just_after.take()
    assert refused is not None
    # About 1/10 of the previous window must slide out for one attempt: ~6 s into the new window.
    assert 4 <= refused <= 7
    assert SlidingWindow("edge", rate, now=start + 1 + 6.5).take() is None
    assert SlidingWindow("edge", rate, now=start + 1 + 6.6).take() is not None


@pytest.mark.django_db
def test_the_database_cache_increments_atomically():
    cache.add("counter", 0, timeout=60)
    assert [cache.incr("counter") for _ in range(3)] == [1, 2, 3]
    assert cache.decr("counter") == 2
    with pytest.raises(ValueError):
        cache.incr("missing")


def test_the_cache_setting():
    from django.core.exceptions import ImproperlyConfigured

    from nodeworks_server.env import caches_from_url

    assert caches_from_url("")["default"]["BACKEND"] == "nodeworks_server.cache.SharedDatabaseCache"
    redis = caches_from_url("redis://cache.example.org:6379/1")["default"]
    assert redis == {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://cache.example.org:6379/1"}
    assert caches_from_url("locmem://")["default"]["BACKEND"].endswith("LocMemCache")
    with pytest.raises(ImproperlyConfigured, match="NODEWORKS_CACHE_URL"):
        caches_from_url("memcached://x")


def test_migrate_makes_the_cache_table(tmp_path):
    """`manage.py migrate` alone (run.sh, a fresh clone) makes it. (Django's test databases get it anyway.)"""
    import os
    import sqlite3

    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["NODEWORKS_DATA_DIR"] = str(tmp_path)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    with sqlite3.connect(tmp_path / "nodeworks.sqlite3") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "nodeworks_cache" in tables


def test_by_default_forwarded_addresses_are_not_trusted():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    assert settings.CACHES["default"]["BACKEND"] == "nodeworks_server.cache.SharedDatabaseCache"


# ---------------------------------------------------------------- live: two server processes


SERVER_ENV = {
    "NODEWORKS_LOGIN_RATE": "10/min",
    "NODEWORKS_REGISTER_RATE": "5/hour",
    "NODEWORKS_ADMIN_LOGIN_RATE": "5/min",
    # The test poses as many clients behind one proxy: the last X-Forwarded-For entry is the client.
    "NODEWORKS_TRUSTED_PROXIES": "1",
    "NODEWORKS_Q_WORKERS": "1",
    "PYTHONUNBUFFERED": "1",
}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    pair = ServerPair(tmp_path_factory.mktemp("throttle-servers"), env=SERVER_ENV, name="throttle", workers=(2, 1)).start()
    yield pair
    pair.stop()


def call(url: str, path: str, body: dict, *, client: str) -> tuple[int, dict]:
    headers = {"X-Forwarded-For": client, "Content-Type": "application/json"}
    data = json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, dict(exc.headers)


def register(servers, username: str, client: str) -> int:
    body = {"username": username, "email": f"{username}@example.org", "password": PASSWORD}
    return call(servers.urls[0], "/api/v1/register", body, client=client)[0]


@pytest.mark.slow
def test_two_server_processes_share_the_login_count(servers):
    assert register(servers, "carol", client="192.0.2.1") == 201
    wrong = {"username": "carol", "password": "wrong password"}
    # Ten attempts a minute, alternating between the two servers (the first has two workers).
    answers = [call(servers.urls[i % 2], "/api/v1/login", wrong, client="203.0.113.10")[0] for i in range(10)]
    assert answers == [401] * 10, servers.logs()
    for url in servers.urls:  # the 11th, whichever process answers
        status, headers = call(url, "/api/v1/login", wrong, client="203.0.113.10")
        assert status == 429
        assert int(headers["Retry-After"]) >= 1
        right = {"username": "carol", "password": PASSWORD}
        assert call(url, "/api/v1/login", right, client="203.0.113.10")[0] == 429


@pytest.mark.slow
def test_parallel_attempts_on_two_servers_are_all_counted(servers):
    wrong = {"username": "nobody", "password": "wrong password"}
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda i: call(servers.urls[i % 2], "/api/v1/login", wrong, client="203.0.113.11")[0],
                                range(30)))
    assert sorted(answers) == [401] * 10 + [429] * 20, servers.logs()


@pytest.mark.slow
def test_sign_up_count_is_shared_by_two_server_processes(servers):
    answers = []
    for i in range(7):
        body = {"username": f"signup{i}", "email": f"signup{i}@example.org", "password": PASSWORD}
        answers.append(call(servers.urls[i % 2], "/api/v1/register", body, client="203.0.113.12")[0])
    assert answers == [201] * 5 + [429] * 2


class AdminBrowser:
    """A browser on the admin's login form: its CSRF cookie, sent back as the form's token."""

    def __init__(self, url: str):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())
        self.opener.open(url + "/admin/login/", timeout=30).read()

    @property
    def csrf(self) -> str:  # a login rotates it
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def login(self, url: str, username: str, password: str, *, client: str) -> int:
        body = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": self.csrf,
                          "next": "/admin/"}).encode()
        request = urllib.request.Request(url + "/admin/login/", data=body, method="POST", headers={
            "X-Forwarded-For": client, "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            exc.read()
            return exc.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.slow
def test_admin_login_is_throttled_across_server_processes(servers):
    """The issue's attack: 40 wrong superuser passwords in a few seconds, then the right one."""
    env = dict(servers.env, DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    subprocess.run([sys.executable, "manage.py", "createsuperuser", "--no-input", "--username", "root",
                    "--email", "root@example.org"], cwd=ROOT, env=env, check=True, capture_output=True)
    browser = AdminBrowser(servers.urls[0])
    assert browser.login(servers.urls[1], "root", PASSWORD, client="192.0.2.50") == 302  # the form works
    answers = [browser.login(servers.urls[i % 2], "root", "wrong password", client=f"198.51.100.{i}")
               for i in range(40)]
    assert answers == [200] * 5 + [429] * 35, answers  # 200: the form again, with its error
    assert browser.login(servers.urls[1], "root", PASSWORD, client="192.0.2.51") == 429
