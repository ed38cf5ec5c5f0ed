import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "nodeworks-samples"
SAMPLE_NAMES = ["demo.nc", "demo1.nc", "demo2.nc", "node_ex.nc"]


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    """Each test gets its own git repositories and artifacts."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample(name: str) -> dict:
    return json.loads(sample_bytes(name))


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
