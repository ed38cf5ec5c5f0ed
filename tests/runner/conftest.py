"""Live tests of runner_client: a real server process (gunicorn, gthread) and real `nodeworks-runner` processes.

Reusable fixtures (also for the container/slurm executor tests):

* ``live_server_url``: base URL of a server started once per session, with short lease timings
  (TTL 2 s, heartbeat 0.5 s, reaper 0.5 s) and its own data dir and database (a fresh SQLite file,
  or ``<db>_runner_tests`` beside the PostgreSQL database of ``DATABASE_URL``).
* ``make_api_user(name)`` / ``user_api`` (a fresh user per test): an :class:`Api` with that user's
  personal token (``.token``); ``user_token`` is that token.
* ``start_runner(name, tags=..., executors=..., extra_args=..., api=...)``: registers a runner with
  the CLI and starts ``nodeworks-runner run`` as a subprocess; stopped at the end of the test.
* ``publish_and_execute(workflow, name=..., api=...)`` -> (workflow id, run id).
* ``wait_run(workflow_id, api=..., timeout=...)`` -> the status payload once the run is final.
* ``nc_sample(name)``: a .nc (a project fixture of tests/fixtures, or a real sample of ../shared,
  skipped when missing) with every output and every connected input set to null.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import nc_file

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
RUNNER_EXE = str(VENV_BIN / "nodeworks-runner")
FINAL_RUN_STATES = ("succeeded", "failed", "cancelled")

SERVER_ENV = {
    "NODEWORKS_LEASE_TTL_S": "2",
    "NODEWORKS_HEARTBEAT_INTERVAL_S": "0.5",
    "NODEWORKS_REAPER_INTERVAL_S": "0.5",
    "NODEWORKS_LEASE_POLL_INTERVAL_S": "0.1",
    "NODEWORKS_RETRY_BACKOFF_BASE_S": "0.2",
    "NODEWORKS_RETRY_BACKOFF_CAP_S": "1",
    "NODEWORKS_REGISTER_RATE": "100000/min",
    "NODEWORKS_LOGIN_RATE": "100000/min",
    "NODEWORKS_Q_WORKERS": "1",
}


# ---------------------------------------------------------------- HTTP helper


class Api:
    """A tiny JSON client of the user API (urllib, like the runner)."""

    def __init__(self, base: str, token: str = ""):
        self.base = base.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body=None, *, expect=(200, 201, 202, 204), auth: str | None = None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if auth or self.token:
            headers["Authorization"] = auth or f"Token {self.token}"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        payload = json.loads(raw) if raw and raw[:1] in (b"{", b"[") else raw
        if expect and status not in expect:
            raise AssertionError(f"{method} {path} -> {status}: {payload!r}"[:2000])
        return payload

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body if body is not None else {}, **kw)

    def download(self, path) -> bytes:
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()


# ---------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_database(url: str, *, create: bool) -> dict:
    """A separate PostgreSQL database `<name>_runner_tests` beside DATABASE_URL's (made fresh, or dropped)."""
    import psycopg  # the server's own driver

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_runner_tests"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')
    return {"DATABASE_URL": urlunsplit(parts._replace(path="/" + name))}


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


class LiveServer:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.pop("DATABASE_URL", None)
        self.env.update(SERVER_ENV)
        self.env["NODEWORKS_DATA_DIR"] = str(tmp / "data")  # SQLite: a fresh file in it
        url = os.environ.get("DATABASE_URL", "")
        self.postgres_url = url if _is_postgres(url) else ""
        if self.postgres_url:
            self.env.update(_postgres_database(self.postgres_url, create=True))
        self.env["PYTHONUNBUFFERED"] = "1"
        self.log_path = tmp / "server.log"
        self.process = None

    def start(self):
        (self.tmp / "data").mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=self.env,
                       check=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (lives as long as the server)
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "nodeworks_server.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--worker-class", "gthread", "--threads", "32", "--timeout", "120",
             "--graceful-timeout", "2"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log_path.read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.url + "/api/v1/status", timeout=2):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError("server did not start:\n" + self.log_path.read_text()[-3000:])

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.postgres_url:
            _postgres_database(self.postgres_url, create=False)


@pytest.fixture(scope="session")
def runner_live_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("runner-server")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server_url(runner_live_server) -> str:
    return runner_live_server.url


# ---------------------------------------------------------------- users

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def make_api_user(live_server_url):
    """make_api_user(prefix) -> Api authenticated with a fresh user's personal API token."""

    def make(prefix: str = "user") -> Api:
        username = f"{prefix}{next(_counter)}{uuid.uuid4().hex[:6]}"
        password = "a long test password 123"
        api = Api(live_server_url)
        api.post("/api/v1/register", {"username": username, "email": f"{username}@example.org", "password": password})
        tokens = api.post("/api/v1/login", {"username": username, "password": password})
        created = api.call("POST", "/api/v1/token", {"name": "tests"}, auth=f"Bearer {tokens['access']}")
        api.token = created["token"]
        api.username = username
        return api

    return make


@pytest.fixture
def user_api(make_api_user) -> Api:
    return make_api_user("alice")


@pytest.fixture
def user_token(user_api) -> str:
    return user_api.token


# ---------------------------------------------------------------- runners


class RunnerProcess:
    def __init__(self, name: str, home: Path, process: subprocess.Popen, log_path: Path, args: list, env: dict):
        self.name, self.home, self.process, self.log_path, self.args, self.env = name, home, process, log_path, args, env

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, sig) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def kill9(self) -> None:
        self.process.kill()
        self.process.wait()

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout)

    def restart(self) -> RunnerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                        start_new_session=True)
        return self

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGTERM)  # second signal: stop tasks now
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait()


def runner_env(home: Path) -> dict:
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("NODEWORKS_RUNNER_"):
            del env[key]
    env["NODEWORKS_RUNNER_CONFIG"] = str(home / "config.json")
    env["XDG_DATA_HOME"] = str(home / "data")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def start_runner(live_server_url, user_api, tmp_path):
    """start_runner(name, tags=(), executors=("local","shell"), extra_args=(), api=None, register=True)."""
    started: list[RunnerProcess] = []

    def start(name: str, tags=(), executors=("local", "shell"), extra_args=(), api: Api | None = None,
              concurrency: int = 2) -> RunnerProcess:
        api = api or user_api
        home = tmp_path / f"runner-{name}"
        home.mkdir(parents=True, exist_ok=True)
        env = runner_env(home)
        register = [RUNNER_EXE, "register", "--url", live_server_url, "--token", api.token, "--name", name,
                    "--tags", ",".join(tags), "--executors", ",".join(executors)]
        done = subprocess.run(register, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr + done.stdout
        args = [RUNNER_EXE, "run", "--concurrency", str(concurrency), "--heartbeat", "0.5", "--lease-wait", "2",
                "--log-interval", "0.2", "--cancel-grace", "1", "--retry-max", "1", *extra_args]
        log_path = home / "runner.log"
        log = open(log_path, "ab")  # noqa: SIM115
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        runner = RunnerProcess(name, home, process, log_path, args, env)
        started.append(runner)
        return runner

    yield start
    for runner in started:
        runner.stop()


# ---------------------------------------------------------------- workflows


def nc_sample(name: str) -> dict:
    """A sample .nc with every output value and every connected input value set to null.

    (The samples carry their computed results; a test must not be able to pass by reading them.)
    Values of nodes without inputs (types/*) are what they are: they are the workflow's parameters.
    """
    document = nc_file(name)
    connected = {tuple(obj["output"]) for obj in document.values() if obj.get("type") == "Connection"}
    for key, obj in document.items():
        if obj.get("type") != "Node":
            continue
        has_inputs = any(t["opts"].get("in") for t in obj["terminals"].values())
        for terminal_name, terminal in obj["terminals"].items():
            if terminal["opts"].get("out") and has_inputs:
                terminal["value"] = None
            if terminal["opts"].get("in") and (key, terminal_name) in connected:
                terminal["value"] = None
    return document


@pytest.fixture
def publish_and_execute(user_api):
    def publish(workflow: dict, *, name: str | None = None, api: Api | None = None, inputs: dict | None = None):
        api = api or user_api
        created = api.post("/api/v1/workflow/publish",
                           {"name": name or f"wf-{uuid.uuid4().hex[:8]}", "workflow": workflow})
        body = {"inputs": inputs} if inputs else {}
        run = api.post(f"/api/v1/workflow/execute/{created['id']}", body)["run"]
        return created["id"], run["id"]

    return publish


@pytest.fixture
def wait_run(user_api):
    def wait(workflow_id: int, *, run_id: int | None = None, api: Api | None = None, timeout: float = 30.0,
             states=FINAL_RUN_STATES) -> dict:
        api = api or user_api
        path = f"/api/v1/workflow/status/{workflow_id}" + (f"?run={run_id}" if run_id else "")
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = api.get(path)
            if status["run"]["state"] in states:
                return status
            time.sleep(0.1)
        raise AssertionError(f"run not final after {timeout}s: {json.dumps(status)[:3000]}")

    return wait


def node(status: dict, name: str) -> dict:
    return status["nodes"][name]


def make_node(name: str, path, *, inputs: dict | None = None, outputs: tuple = (), multi: tuple = (),
              requirements: dict | None = None) -> dict:
    """A Nodeworks node object: ``inputs`` {terminal: saved value}, ``outputs`` names, ``multi`` multiinputs."""
    terminals = {}
    for terminal, value in (inputs or {}).items():
        opts = {"in": True, "out": False, "multiinput": terminal in multi, "dtype": "None"}
        terminals[terminal] = {"value": value, "flipped": False, "opts": opts}
    for terminal in outputs:
        terminals[terminal] = {"value": None, "flipped": False, "opts": {"in": False, "out": True, "dtype": "None"}}
    obj = {"type": "Node", "name": name, "uniquename": name, "pos": [0.0, 0.0], "path": list(path),
           "terminals": terminals, "tunnel": False, "forcerun": False, "hidden": False, "customState": None,
           "layer": 1}
    if requirements:
        obj["requirements"] = requirements
    return obj


def connect(document: dict, source: tuple, target: tuple) -> None:
    """Adds a Connection: ``input`` is the source [node, output], ``output`` the destination [node, input]."""
    name = f"connection.{sum(1 for o in document.values() if o.get('type') == 'Connection')}"
    document[name] = {"type": "Connection", "name": name, "uniquename": name, "line": "cubic",
                      "input": list(source), "output": list(target), "controlpoints": []}


def workflow_of(*nodes) -> dict:
    return {obj["uniquename"]: obj for obj in nodes}


def plugin_file(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


__all__ = ["FINAL_RUN_STATES", "Api", "connect", "make_node", "nc_sample", "node", "plugin_file", "workflow_of"]


def wait_task_state(api, workflow_id: int, run_id: int, state: str, name: str = "task", timeout: float = 60) -> dict:
    """The run turns cancelled at once; its running task only when the runner reports it."""
    deadline = time.monotonic() + timeout
    status = {}
    while time.monotonic() < deadline:
        status = api.get(f"/api/v1/workflow/status/{workflow_id}?run={run_id}")
        if status["nodes"][name]["state"] == state:
            return status
        time.sleep(0.2)
    raise AssertionError(f"task {name} not {state} after {timeout}s: {status}")


def task_log(api, run_id: int, name: str = "task") -> str:
    answer = api.get(f"/api/v1/runs/{run_id}/logs/{name}")
    return "".join(attempt["data"] for attempt in answer["attempts"])
