import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.shared_samples import SAMPLE_NAMES, shared_sample_bytes

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The project's own workflow files: arithmetic.nc ((5 ** 5) * 87 - sqrt(225), with its saved
# results), product.nc (3 * 6), sine_plot.nc (numpy range, sin and cos, a matplotlib plot) and
# custom_string.nc (a string into a plug-in node no runner has).
FIXTURE_NAMES = tuple(sorted(path.name for path in FIXTURES.glob("*.nc")))


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    """Each test gets its own git repositories and artifacts."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    # No lease-clock thread in the test process: it would write to the test database between and
    # across tests (workflows/lifecycle/leases.py); live servers (subprocesses) run theirs.
    settings.LEASE_CLOCK_TICK_S = 0
    # What this process remembers of empty claims (runners/services.py) belongs to the test that claimed.
    from runners import services

    services.lease_memo_forget()


def nc_bytes(name: str) -> bytes:
    """A project fixture by name, or one of the real samples of ../shared (skipped when missing)."""
    if name in SAMPLE_NAMES:
        return shared_sample_bytes(name)
    return (FIXTURES / name).read_bytes()


def nc_file(name: str) -> dict:
    return json.loads(nc_bytes(name))


def make_user(username: str, *, staff: bool = False):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.org", password="a long test password", is_staff=staff
    )


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def alice_client(alice):
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def bob_client(bob):
    client = APIClient()
    client.force_authenticate(bob)
    return client


def publish(client, name: str, workflow: dict, **extra):
    return client.post("/api/v1/workflow/publish", {"name": name, "workflow": workflow, **extra}, format="json")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite test databases live in a file, not in memory.

    Django's in-memory test database is shared between threads only through SQLite's shared cache,
    whose table locks fail at once ("database table is locked") instead of waiting; tests that
    publish from several threads (tests/test_concurrent_publish.py) need a real file with WAL.
    """
    from django.conf import settings

    for alias, database in settings.DATABASES.items():
        if database["ENGINE"] == "django.db.backends.sqlite3":
            test = database.setdefault("TEST", {})
            if not test.get("NAME") or test["NAME"] == ":memory:" or "mode=memory" in str(test["NAME"]):
                test["NAME"] = str(tmp_path_factory.mktemp("db") / f"test_{alias}.sqlite3")


@pytest.fixture
def fast_password_hashing(settings):
    """MD5 instead of PBKDF2 for test users: hashing dominated the run time of API tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's own, plus: the queue listener thread (workflows/queue_events.py) closes its
    connection before the test database is dropped (PostgreSQL refuses to drop a database in use)."""
    yield
    from workflows import queue_events

    queue_events.listener_stop()
