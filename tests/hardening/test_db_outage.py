"""Issue 11, item 7: a database outage.

While PostgreSQL was down, user endpoints answered Django's HTML 500 page; and an outage longer than
the lease TTL made every lease expire when it ended, so work finished during it was thrown away, run
again, and counted toward NODEWORKS_MAX_LOST_LEASES. Now every request that cannot reach the
database answers JSON 503 with Retry-After (nodeworks_server/db_outage.py), and the reaper extends
live leases by the time in which no heartbeat could be accepted (workflows/lifecycle/leases.py), so
the runner's results spooled during the outage are accepted after it, once.

The live test puts a small TCP proxy between a real server (gunicorn) and PostgreSQL and stops it:
the outage is the server's alone, the shared PostgreSQL server is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import OperationalError
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import make_user
from tests.runner.conftest import (
    RUNNER_EXE,
    SERVER_ENV,
    VENV_BIN,
    Api,
    RunnerProcess,
    _free_port,
    make_node,
    runner_env,
    workflow_of,
)

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = DATABASE_URL.startswith(("postgres://", "postgresql://"))
TTL_S = 3.0
OUTAGE_S = 9.0  # three lease TTLs


# ---------------------------------------------------------------- JSON 503 (both databases)


@pytest.mark.django_db
def test_an_api_request_whose_database_is_unreachable_answers_json_503(monkeypatch):
    """Through DRF (the API): the one exception handler answers it."""
    user = make_user("outage")
    client = APIClient()
    client.force_authenticate(user)

    def unreachable(*args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr("django.db.models.query.QuerySet._fetch_all", unreachable)
    response = client.get("/api/v1/workflow/")
    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    assert "database unavailable" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
def test_a_page_whose_database_is_unreachable_answers_json_503_too(monkeypatch):
    """Outside DRF (the admin): the middleware answers it, not Django's HTML 500 page."""
    operator = make_user("operator", staff=True)
    operator.is_superuser = True
    operator.save()
    client = Client(raise_request_exception=False)
    client.force_login(operator)

    def unreachable(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("django.db.models.query.QuerySet._fetch_all", unreachable)
    response = client.get("/admin/workflows/run/")
    assert response.status_code == 503, response.content[:500]
    assert "database unavailable" in json.loads(response.content)["detail"]
    assert int(response["Retry-After"]) > 0


# ---------------------------------------------------------------- a real outage (PostgreSQL)


class PostgresProxy:
    """Forwards a local port to PostgreSQL; stop() drops every connection and refuses new ones."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = _free_port()
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.running = False

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self.listener, self.running = listener, True
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        self.running = False
        with self.lock:
            doomed, self.sockets = self.sockets, []
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def _accept(self, listener: socket.socket) -> None:
        while self.running and listener is self.listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _database_urls() -> tuple[str, str]:
    """A database of our own beside DATABASE_URL's: (direct URL, URL for the proxy's port placeholder)."""
    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/") + "_outage_tests"
    return urlunsplit(parts._replace(path="/" + name)), name


def _maintenance_url() -> str:
    """The server's `postgres` database, for CREATE and DROP (DATABASE_URL's own may not exist)."""
    return urlunsplit(urlsplit(DATABASE_URL)._replace(path="/postgres"))


@pytest.fixture
def outage_server(tmp_path):
    """gunicorn against its own PostgreSQL database, reached only through a PostgresProxy."""
    import psycopg

    direct_url, name = _database_urls()
    with psycopg.connect(_maintenance_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(DATABASE_URL)
    proxy = PostgresProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.start()
    proxied = urlunsplit(urlsplit(direct_url)._replace(netloc=f"{parts.username or 'postgres'}"
                                                       f"{':' + parts.password if parts.password else ''}"
                                                       f"@127.0.0.1:{proxy.port}"))
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(SERVER_ENV)
    env.update({
        "NODEWORKS_LEASE_TTL_S": str(TTL_S), "NODEWORKS_OUTAGE_GAP_S": "1.5", "NODEWORKS_MAX_LOST_LEASES": "3",
        "NODEWORKS_DATA_DIR": str(tmp_path / "server-data"), "PYTHONUNBUFFERED": "1", "DATABASE_URL": direct_url,
    })
    (tmp_path / "server-data").mkdir()
    subprocess.run([str(VENV_BIN / "python"), "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env,
                   check=True)
    env["DATABASE_URL"] = proxied
    port = _free_port()
    log_path = tmp_path / "server.log"
    log = open(log_path, "ab")  # noqa: SIM115 (lives as long as the server)
    server = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "nodeworks_server.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--worker-class", "gthread", "--threads", "16", "--timeout", "120",
         "--graceful-timeout", "2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/api/v1/status", timeout=2):
                break
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("server did not start:\n" + log_path.read_text()[-3000:]) from None
            time.sleep(0.2)
    try:
        yield url, proxy, direct_url, log_path
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        proxy.stop()
        with psycopg.connect(_maintenance_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _user(url: str) -> Api:
    api = Api(url)
    username = f"outage{uuid.uuid4().hex[:6]}"
    password = "a long test password 123"
    api.post("/api/v1/register", {"username": username, "email": f"{username}@example.org", "password": password})
    tokens = api.post("/api/v1/login", {"username": username, "password": password})
    api.token = api.call("POST", "/api/v1/token", {"name": "t"}, auth=f"Bearer {tokens['access']}")["token"]
    return api


def _runner(url: str, api: Api, home: Path) -> RunnerProcess:
    home.mkdir(parents=True)
    env = runner_env(home)
    register = [RUNNER_EXE, "register", "--url", url, "--token", api.token, "--name", "outage-runner",
                "--executors", "shell"]
    done = subprocess.run(register, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout
    args = [RUNNER_EXE, "run", "--concurrency", "4", "--heartbeat", "0.5", "--lease-wait", "2",
            "--log-interval", "0.2", "--cancel-grace", "1", "--retry-max", "1"]
    log_path = home / "runner.log"
    process = subprocess.Popen(args, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT, env=env,  # noqa: SIM115
                               start_new_session=True)
    return RunnerProcess("outage-runner", home, process, log_path, args, env)


def _shell(name: str, script: str) -> dict:
    return make_node(name, ["shell", "Command"], inputs={"command": ["sh", "-c", script]},
                     outputs=("stdout", "stderr", "returncode"), requirements={"executor": "shell"})


def _raw_get(url: str, token: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"not_json": raw[:300].decode(errors="replace")}
        return exc.code, dict(exc.headers), body


def _tasks(direct_url: str, run_id: int) -> dict[str, dict]:
    import psycopg

    with psycopg.connect(direct_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT node, state, attempt, lost_leases, failures, finished, outputs FROM workflows_task "
            "WHERE run_id = %s", [run_id]
        ).fetchall()
    return {node: {"state": state, "attempt": attempt, "lost_leases": lost, "failures": failures,
                   "finished": finished, "outputs": outputs}
            for node, state, attempt, lost, failures, finished, outputs in rows}


@pytest.mark.skipif(not ON_POSTGRES, reason="a live outage of PostgreSQL (the 503 answers are tested above on both)")
def test_a_database_outage_longer_than_the_lease_ttl_loses_no_work(outage_server, tmp_path):
    url, proxy, direct_url, server_log = outage_server
    api = _user(url)
    runner = _runner(url, api, tmp_path / "runner")
    try:
        # Three tasks finish during the outage (their results wait in the runner's spool), one runs through it.
        workflow = workflow_of(*[_shell(f"quick{i}", f"sleep 3; echo quick{i}") for i in range(3)],
                               _shell("long", f"sleep {OUTAGE_S + 4}; echo long"))
        created = api.post("/api/v1/workflow/publish", {"name": "outage", "workflow": workflow})
        run_id = api.post(f"/api/v1/workflow/execute/{created['id']}", {})["run"]["id"]
        status_path = f"/api/v1/workflow/status/{created['id']}?run={run_id}"
        deadline = time.monotonic() + 30
        while not all(node["state"] == "running" for node in api.get(status_path)["nodes"].values()):
            assert time.monotonic() < deadline, api.get(status_path)
            time.sleep(0.1)

        proxy.stop()
        outage_started = time.monotonic()
        answers = []
        while time.monotonic() - outage_started < OUTAGE_S:
            answers.append(_raw_get(url + status_path, api.token))
            time.sleep(0.5)
        proxy.start()
        outage_ended = time.time()

        # During the outage: JSON 503 with Retry-After, never Django's HTML 500.
        assert answers and all(code == 503 for code, _, _ in answers), [(c, b) for c, _, b in answers][:5]
        for _, headers, body in answers:
            assert "database unavailable" in body.get("detail", ""), body
            assert int(headers.get("Retry-After", "0")) > 0, headers

        deadline = time.monotonic() + 60
        while (status := api.get(status_path))["run"]["state"] == "running":
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        tasks = _tasks(direct_url, run_id)
        assert status["run"]["state"] == "succeeded", (status, tasks, runner.log()[-3000:])
        for name, task in tasks.items():
            # Accepted after the outage, from the spool: not re-run, no lease counted lost.
            assert task["state"] == "succeeded" and task["attempt"] == 1, (name, task, runner.log()[-3000:])
            assert task["lost_leases"] == 0 and task["failures"] == 0, (name, task)
            assert task["outputs"]["stdout"] == f"{name}\n", (name, task)
        for i in range(3):
            assert tasks[f"quick{i}"]["finished"].timestamp() < outage_ended, "finished during the outage"
        assert "extended" in server_log.read_text(), "the reaper saw the outage and extended the leases"
    finally:
        runner.stop()


# ---------------------------------------------------------------- the lease clock (both databases)


def _held_lease(owner, *, expires_in_s: float):
    from datetime import timedelta

    from django.utils import timezone

    from tests.engine.conftest import add_node, register, start_run, workflow_of
    from workflows.lifecycle import RunnerScope, tasks_claim
    from workflows.models import Task

    start_run(owner, workflow_of([add_node("x", a=1)], []), name=f"wf{uuid.uuid4().hex[:6]}")
    runner, _ = register(owner, f"r{uuid.uuid4().hex[:6]}")
    [task] = tasks_claim(RunnerScope(runner.pk, (owner.pk,), (), ("local",), ("local",)), max_tasks=1,
                         executors=["local"])
    Task.objects.filter(pk=task.pk).update(expires_at=timezone.now() + timedelta(seconds=expires_in_s))
    return Task.objects.get(pk=task.pk)


@pytest.mark.django_db
def test_the_reaper_extends_live_leases_over_a_gap_in_its_clock_once(settings):
    """A gap longer than OUTAGE_GAP_S since the clock last ticked: live leases are pushed by it, then
    reaped as usual; the next tick finds a short gap and changes nothing. An expired lease is not extended."""
    from datetime import timedelta

    from django.utils import timezone

    from workflows.lifecycle import lease_reap
    from workflows.lifecycle.leases import leases_extend_over_outage
    from workflows.models import LeaseClock, Task

    settings.OUTAGE_GAP_S = 5.0
    owner = make_user("clock")
    live = _held_lease(owner, expires_in_s=-2)  # expired during the outage, after the last tick
    dead = _held_lease(owner, expires_in_s=-60)  # expired before the last tick: reapable then already
    LeaseClock.objects.create(pk=1, seen=timezone.now() - timedelta(seconds=30))
    assert lease_reap() == 1  # the dead one only
    live.refresh_from_db()
    assert live.state == "leased" and live.expires_at > timezone.now() + timedelta(seconds=20)
    assert Task.objects.get(pk=dead.pk).state == "queued"
    before = live.expires_at
    assert leases_extend_over_outage() == timedelta(0)  # the gap was applied once
    live.refresh_from_db()
    assert live.expires_at == before


@pytest.mark.django_db
def test_a_short_gap_extends_nothing(settings):
    from datetime import timedelta

    from django.utils import timezone

    from workflows.lifecycle import lease_reap
    from workflows.models import LeaseClock, Task

    settings.OUTAGE_GAP_S = 5.0
    owner = make_user("clock")
    expired = _held_lease(owner, expires_in_s=-1)
    LeaseClock.objects.create(pk=1, seen=timezone.now() - timedelta(seconds=2))
    assert lease_reap() == 1
    assert Task.objects.get(pk=expired.pk).state == "queued"
