"""The chaos harness (issue 11, item 10): real gunicorn servers, real `nodeworks-runner` processes, and a
fault-injecting HTTP proxy between them, over back-to-back runs of a 50-node `shell/Command` workflow.

Used by tests/chaos/test_chaos.py (a short version in CI, the long one with ``-m chaos_long``) and by
bench/chaos.py (``--rounds 1000``). Nothing here imports Django: the harness talks to the servers over
HTTP and reads the database with its own driver, as an outside observer.

How the counts are known, independently of the server's own bookkeeping:

* The proxy reads every answer the server gives to a runner, whether the runner gets it or not. It maps
  every lease handed out (``tasks`` of a lease answer, ``next`` of a results answer) to its task, and
  counts every result the server *accepted* (``accepted: true`` and not ``duplicate``) per task. A task
  with two such answers is a double completion. Leases in an answer no runner received (a dropped
  answer, the copy of a duplicated call that was not delivered, an answer to a runner that died while
  waiting) are *orphaned*: nobody will ever report them, so each must come back as exactly one lost lease.
* Each node appends a line (node, a fresh id, its lease) to a side-effect file before it prints its
  output, so the real executions are counted, duplicates included (at-least-once).
* Each node's output holds its id, its value (its own number plus the sum of its parents' values) and
  the ids of the parents' outputs it consumed: a parent whose stored output changed after a child read it
  (an accepted second result) is caught by the child's check.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
RUNNER_EXE = str(VENV_BIN / "nodeworks-runner")
FINAL_RUN_STATES = ("succeeded", "failed", "cancelled")
HELD = ("leased", "running")

# Lease timings: short enough that a killed runner's tasks come back within seconds, long enough that a
# busy 2-core machine with faulty answers (a heartbeat dropped or delayed, retried after 0.5-1 s) never
# lets a live runner's lease expire: every lost lease is then explained by a kill or an orphaned answer.
LEASE_TTL_S = 5
SERVER_ENV = {
    "NODEWORKS_LEASE_TTL_S": str(LEASE_TTL_S),
    "NODEWORKS_HEARTBEAT_INTERVAL_S": "0.5",
    "NODEWORKS_REAPER_INTERVAL_S": "0.5",
    "NODEWORKS_LEASE_POLL_INTERVAL_S": "0.1",
    "NODEWORKS_RETRY_BACKOFF_BASE_S": "0.2",
    "NODEWORKS_RETRY_BACKOFF_CAP_S": "1",
    "NODEWORKS_REGISTER_RATE": "100000/min",
    "NODEWORKS_LOGIN_RATE": "100000/min",
    "NODEWORKS_Q_WORKERS": "1",
    # A task may lose many leases in a chaos run (its runner killed again and again): that must not fail it.
    "NODEWORKS_MAX_LOST_LEASES": "1000",
}
CONCURRENCY = 3  # tasks per runner


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


# ---------------------------------------------------------------- the database, read from outside


class Database:
    """The chaos servers' own database: a fresh PostgreSQL database beside ``DATABASE_URL``'s, or a SQLite file."""

    def __init__(self, data_dir: Path, *, postgres_url: str = "", name: str = ""):
        self.data_dir = data_dir
        self.admin_url = ""
        self.url = ""
        if postgres_url:
            parts = urlsplit(postgres_url)
            # Created and dropped from the maintenance database: DATABASE_URL's own may not exist yet.
            self.admin_url = urlunsplit(parts._replace(path="/postgres"))
            self.name = name or parts.path.lstrip("/") + "_chaos"
            self.url = urlunsplit(parts._replace(path="/" + self.name))

    @property
    def postgres(self) -> bool:
        return bool(self.url)

    def server_env(self) -> dict:
        return {"DATABASE_URL": self.url} if self.url else {}

    def create(self) -> None:
        if self.postgres:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.postgres:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.postgres:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                return conn.execute(sql, params).fetchall()
        conn = sqlite3.connect(str(self.data_dir / "nodeworks.sqlite3"), timeout=30)
        try:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            conn.close()


# ---------------------------------------------------------------- the servers


class Servers:
    """Two gunicorn processes (gthread) on one database; either may be restarted while the other serves."""

    def __init__(self, tmp: Path, database: Database, count: int = 2):
        self.tmp = tmp
        self.database = database
        self.env = dict(os.environ)
        self.env.pop("DATABASE_URL", None)
        self.env.update(SERVER_ENV)
        self.env.update(database.server_env())
        self.env["NODEWORKS_DATA_DIR"] = str(database.data_dir)
        self.env["PYTHONUNBUFFERED"] = "1"
        self.ports = [_free_port() for _ in range(count)]
        self.processes: list[subprocess.Popen | None] = [None] * count
        self.log_path = tmp / "servers.log"

    def url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def start_all(self) -> None:
        self.database.data_dir.mkdir(parents=True, exist_ok=True)
        self.database.create()
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=self.env,
                       check=True)
        for index in range(len(self.ports)):
            self.start(index)

    def start(self, index: int, timeout: float = 90) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (lives as long as the server)
        process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "nodeworks_server.wsgi:application", "--bind", f"127.0.0.1:{self.ports[index]}",
             "--workers", "1", "--worker-class", "gthread", "--threads", "24", "--timeout", "120",
             "--graceful-timeout", "3"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.processes[index] = process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log_tail())
            try:
                with urllib.request.urlopen(self.url(index) + "/api/v1/status", timeout=5):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError("server did not start:\n" + self.log_tail())

    def stop(self, index: int, sig=signal.SIGTERM) -> None:
        process = self.processes[index]
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self, index: int, sig=signal.SIGTERM) -> None:
        self.stop(index, sig)
        self.start(index)

    def stop_all(self) -> None:
        for index in range(len(self.ports)):
            self.stop(index)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


# ---------------------------------------------------------------- the fault-injecting proxy

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "content-length"}


@dataclass
class Request:
    method: str
    target: str
    headers: list
    body: bytes
    keep_alive: bool


@dataclass
class Answer:
    status: int
    reason: str
    headers: list
    body: bytes


@dataclass
class ProxyCounts:
    requests: int = 0
    delays: int = 0
    drops: int = 0
    duplicates: int = 0
    undelivered: int = 0  # answers to a runner that had died while waiting
    upstream_lost: int = 0  # calls whose server died before answering: their outcome is unknown
    no_backend: int = 0  # 503s of the proxy itself (every server down at that moment)


class FaultProxy:
    """A threaded HTTP/1.1 reverse proxy in front of the servers, faulty on purpose for runner calls.

    Faults: a **delay** before forwarding; a **drop** (the request is forwarded and answered, then the
    connection is closed without an answer: the runner must retry); a **duplicate** (the same request sent
    twice at once; one answer is delivered). Random at the rates set, plus the ones armed by chaos rounds.
    """

    def __init__(self, servers: Servers, rng: random.Random, *, drop_p=0.02, dup_p=0.02, delay_p=0.05,
                 delay_max_s=0.4):
        self.servers = servers
        self.rng = rng
        self.rng_lock = threading.Lock()
        self.rates = {"drop": drop_p, "dup": dup_p, "delay": delay_p}
        self.delay_max_s = delay_max_s
        self.quiet = False  # no random fault (the end of a chaos session)
        self.armed: Counter = Counter()  # faults forced on the next runner calls
        self.down: set[int] = set()  # servers being restarted: not tried
        self.counts = ProxyCounts()
        self.lock = threading.Lock()
        self.lease_tasks: dict[str, int] = {}  # every lease the servers handed out -> its task id
        self.orphaned: set[str] = set()  # leases in answers no runner received
        # Leases a heartbeat answered `lost`: reaped while their runner lived, or simply finished (a heartbeat
        # sent while the result was on its way).
        self.heard_lost: set[str] = set()
        self.reported: set[str] = set()  # leases whose result was accepted (any state, resends too)
        self.accepted: Counter = Counter()  # task id -> results accepted (not as duplicates)
        self.duplicate_acks = 0
        self.requeued_reports = 0
        self.unknown_accepts = 0  # accepted results of leases never seen (their lease answer was lost upstream)
        self.statuses: Counter = Counter()
        self.trace: dict[int, list] = {}  # task id -> what the proxy saw of its results (for the report)
        self.server_errors: list[str] = []
        self._backend = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stopping = False
        self._thread = threading.Thread(target=self._accept_loop, name="chaos-proxy", daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self.sock.close()

    def arm(self, fault: str, count: int) -> None:
        # Capped: when runners are few (most just killed), armed faults must not pile up faster than calls.
        with self.lock:
            self.armed[fault] = min(self.armed[fault] + count, 5)

    # ---- plumbing

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            rfile = client.makefile("rb")
            while True:
                request = _read_request(rfile)
                if request is None:
                    return
                if not self._one(client, request) or not request.keep_alive:
                    return
        except (OSError, ValueError):
            return
        finally:
            with contextlib.suppress(OSError):
                client.close()

    def _pick_fault(self, request: Request) -> str | None:
        if not request.target.startswith("/api/v1/runners/") or request.target.startswith("/api/v1/runners/register"):
            return None
        with self.rng_lock:
            draw = self.rng.random()
            order = self.rng.sample(("drop", "dup", "delay"), 3)
        with self.lock:
            for fault in order:
                if self.armed[fault] > 0:
                    self.armed[fault] -= 1
                    return fault
            if self.quiet:
                return None
        for fault in ("drop", "dup", "delay"):
            if draw < self.rates[fault]:
                return fault
            draw -= self.rates[fault]
        return None

    def _one(self, client: socket.socket, request: Request) -> bool:
        """Forwards one request with its fault; False when the client connection is to be closed."""
        fault = self._pick_fault(request)
        with self.lock:
            self.counts.requests += 1
        if fault == "delay":
            with self.rng_lock:
                pause = self.rng.uniform(0.05, self.delay_max_s)
            with self.lock:
                self.counts.delays += 1
            time.sleep(pause)
        if fault == "dup":
            answers: list = [None, None]

            def send(slot: int) -> None:
                answers[slot] = self._forward(request)

            threads = [threading.Thread(target=send, args=(slot,)) for slot in (0, 1)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            with self.rng_lock:
                kept = self.rng.randrange(2)
            with self.lock:
                self.counts.duplicates += 1
            if answers[1 - kept] is not None:
                self._observe(request, answers[1 - kept], delivered=False, fault=fault)
            answer = answers[kept]
        else:
            answer = self._forward(request)
        if answer is None:  # the server died mid-call (or none was up): the runner sees a broken connection
            return False
        if fault == "drop":
            with self.lock:
                self.counts.drops += 1
            self._observe(request, answer, delivered=False, fault=fault)
            return False
        if _peer_closed(client):
            with self.lock:
                self.counts.undelivered += 1
            self._observe(request, answer, delivered=False)
            return False
        # Counted as delivered before it is written: a runner killed in between is counted by its kill.
        self._observe(request, answer, delivered=True, fault=fault)
        client.sendall(_render(answer, request.keep_alive))
        return True

    def _forward(self, request: Request) -> Answer | None:
        count = len(self.servers.ports)
        with self.lock:
            start = self._backend
            self._backend = (self._backend + 1) % count
            down = set(self.down)
        order = [(start + offset) % count for offset in range(count)]
        order.sort(key=lambda index: index in down)  # a server being restarted only as a last resort
        for index in order:
            conn = http.client.HTTPConnection("127.0.0.1", self.servers.ports[index], timeout=90)
            headers = {name: value for name, value in request.headers if name.lower() not in HOP_BY_HOP}
            headers["Connection"] = "close"
            try:
                conn.request(request.method, request.target, body=request.body or None, headers=headers)
            except (ConnectionRefusedError, ConnectionResetError):
                conn.close()
                continue  # not accepted by that server: nothing happened there, try the other one
            except OSError:
                conn.close()
                continue
            try:
                response = conn.getresponse()
                body = response.read()
                answer = Answer(response.status, response.reason, response.getheaders(), body)
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.counts.upstream_lost += 1
                return None
            finally:
                conn.close()
            with self.lock:
                self.statuses[answer.status] += 1
                if answer.status >= 500 and answer.status != 503:
                    self.server_errors.append(f"{request.method} {request.target} -> {answer.status}: {body[:500]!r}")
            return answer
        with self.lock:
            self.counts.no_backend += 1
        body = b'{"detail": "chaos proxy: no server is up"}'
        return Answer(503, "Service Unavailable", [("Content-Type", "application/json"), ("Retry-After", "1")], body)

    def _observe(self, request: Request, answer: Answer, *, delivered: bool, fault: str | None = None) -> None:
        """Records the leases an answer hands out and the results it accepted."""
        path = request.target.split("?")[0]
        if path not in ("/api/v1/runners/lease", "/api/v1/runners/results", "/api/v1/runners/heartbeat"):
            return
        try:
            body = json.loads(answer.body)
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        if path == "/api/v1/runners/heartbeat":
            lost = {lease for lease, verdict in (body.get("leases") or {}).items() if verdict == "lost"}
            with self.lock:
                self.heard_lost |= lost
            return
        given = body.get("tasks") or body.get("next") or []
        with self.lock:
            for task in given:
                self.lease_tasks[task["lease_id"]] = task["task_id"]
                if not delivered:
                    self.orphaned.add(task["lease_id"])
            for item in body.get("results") or []:
                if not item.get("accepted"):
                    continue
                self.reported.add(item["lease_id"])
                if item.get("state") != "succeeded":
                    # A task killed with its runner, reported `cancelled` by the runner's next life: requeued.
                    self.requeued_reports += 1
                elif item.get("duplicate"):
                    self.duplicate_acks += 1
                elif item["lease_id"] in self.lease_tasks:
                    self.accepted[self.lease_tasks[item["lease_id"]]] += 1
                if item["lease_id"] in self.lease_tasks:
                    self.trace.setdefault(self.lease_tasks[item["lease_id"]], []).append(
                        f"{time.strftime('%H:%M:%S')} {path} {answer.status} fault={fault} delivered={delivered} "
                        f"lease={item['lease_id'][:8]} duplicate={item.get('duplicate')} "
                        f"request={request.body[:300]!r}")
                else:
                    self.unknown_accepts += 1


def _read_request(rfile) -> Request | None:
    line = rfile.readline(65537)
    if not line:
        return None
    method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers = []
    while True:
        header = rfile.readline(65537)
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    lower = {name.lower(): value for name, value in headers}
    if lower.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int(rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            parts.append(rfile.read(size))
            rfile.readline()
        body = b"".join(parts)
    else:
        body = rfile.read(int(lower.get("content-length", "0") or 0))
    connection = lower.get("connection", "").lower()
    keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return Request(method, target, headers, body, keep_alive)


def _render(answer: Answer, keep_alive: bool) -> bytes:
    lines = [f"HTTP/1.1 {answer.status} {answer.reason}"]
    lines += [f"{name}: {value}" for name, value in answer.headers if name.lower() not in HOP_BY_HOP]
    lines += [f"Content-Length: {len(answer.body)}", "Connection: " + ("keep-alive" if keep_alive else "close")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + answer.body


def _peer_closed(client: socket.socket) -> bool:
    """Whether the runner closed its end (it died) while its call was being answered."""
    try:
        readable, _, _ = select.select([client], [], [], 0)
        if not readable:
            return False
        return client.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


# ---------------------------------------------------------------- the workflow

# Each node: reads its parents' outputs from task.json, appends one line to the side-effect file (a real
# execution, counted), works a little, and prints its output: its own number plus its parents' values.
NODE_SCRIPT = r"""
import json, os, random, sys, time, uuid
name, base, side = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open("task.json") as handle:
    task = json.load(handle)
ups = task.get("inputs", {}).get("up") or []
if isinstance(ups, str):
    ups = [ups]
parents = [json.loads(up) for up in ups]
value = base + sum(parent["value"] for parent in parents)
uid = uuid.uuid4().hex
line = json.dumps({"run": task.get("run_id"), "node": name, "id": uid, "task": task.get("task_id"),
                   "lease": task.get("lease_id"), "attempt": task.get("attempt")})
fd = os.open(side, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.write(fd, (line + "\n").encode())
os.close(fd)
time.sleep(random.random() * 0.3)  # the side effect is done; a kill now makes it happen twice
print(json.dumps({"node": name, "id": uid, "value": value, "parents": sorted(p["id"] for p in parents)}))
"""


def _node(name: str, base: int, side: Path, has_parents: bool) -> dict:
    terminals = {
        "command": {"value": [sys.executable, "-c", NODE_SCRIPT, name, str(base), str(side)], "flipped": False,
                    "opts": {"in": True, "out": False, "multiinput": False, "dtype": "None"}},
    }
    if has_parents:
        terminals["up"] = {"value": None, "flipped": False,
                           "opts": {"in": True, "out": False, "multiinput": True, "dtype": "None"}}
    for out in ("stdout", "stderr", "returncode"):
        terminals[out] = {"value": None, "flipped": False, "opts": {"in": False, "out": True, "dtype": "None"}}
    return {"type": "Node", "name": name, "uniquename": name, "pos": [0.0, 0.0], "path": ["shell", "Command"],
            "terminals": terminals, "tunnel": False, "forcerun": False, "hidden": False, "customState": None,
            "layer": 1, "requirements": {"executor": "shell"}}


def workflow_shape() -> dict[str, list[str]]:
    """50 nodes: node -> parents. A fan-out of 12, fan-ins of 3 into 4, a gather, a chain of 5, a fan-out
    of 8 and its gather (32 connected nodes), and 18 independent nodes."""
    shape: dict[str, list[str]] = {"src": []}
    fan = [f"a{index:02d}" for index in range(12)]
    for name in fan:
        shape[name] = ["src"]
    for group in range(4):
        shape[f"b{group}"] = fan[group * 3:group * 3 + 3]
    shape["m"] = [f"b{group}" for group in range(4)]
    previous = "m"
    for index in range(5):
        shape[f"c{index}"] = [previous]
        previous = f"c{index}"
    for index in range(8):
        shape[f"d{index}"] = ["c4"]
    shape["e"] = [f"d{index}" for index in range(8)]
    for index in range(18):
        shape[f"i{index:02d}"] = []
    assert len(shape) == 50
    return shape


def base_value(name: str) -> int:
    return sum(ord(char) for char in name)


def build_workflow(side: Path) -> dict:
    shape = workflow_shape()
    document = {name: _node(name, base_value(name), side, bool(parents)) for name, parents in shape.items()}
    count = 0
    for child, parents in shape.items():
        for parent in parents:
            name = f"connection.{count}"
            count += 1
            document[name] = {"type": "Connection", "name": name, "uniquename": name, "line": "cubic",
                              "input": [parent, "stdout"], "output": [child, "up"], "controlpoints": []}
    return document


# ---------------------------------------------------------------- the user API (any server that is up)


class UserApi:
    def __init__(self, servers: Servers):
        self.servers = servers
        self.token = ""

    def call(self, method: str, path: str, body=None, *, auth: str | None = None, timeout: float = 120):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if auth or self.token:
            headers["Authorization"] = auth or f"Token {self.token}"
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for index in range(len(self.servers.ports)):
                request = urllib.request.Request(self.servers.url(index) + path, data=data, method=method,
                                                 headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        return json.loads(response.read() or b"null")
                except urllib.error.HTTPError as exc:
                    raw = exc.read()
                    if exc.code in (502, 503, 504):
                        last = f"{exc.code}"
                        continue
                    raise AssertionError(f"{method} {path} -> {exc.code}: {raw[:1000]!r}") from None
                except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                    last = repr(exc)  # that server is being restarted: the other one answers
            time.sleep(0.3)
        raise AssertionError(f"{method} {path}: no server answered in {timeout} s ({last})")

    def make_user(self) -> None:
        username = f"chaos{uuid.uuid4().hex[:8]}"
        password = "a long chaos password 123"
        self.call("POST", "/api/v1/register", {"username": username, "email": f"{username}@example.org",
                                               "password": password})
        tokens = self.call("POST", "/api/v1/login", {"username": username, "password": password})
        self.token = self.call("POST", "/api/v1/token", {"name": "chaos"}, auth=f"Bearer {tokens['access']}")["token"]


# ---------------------------------------------------------------- runners


@dataclass
class Runner:
    name: str
    runner_id: int
    token: str
    home: Path
    args: list
    env: dict
    process: subprocess.Popen | None = None
    started_at: float = 0.0

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        log = open(self.home / "runner.log", "ab")  # noqa: SIM115 (lives as long as the runner)
        self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                        start_new_session=True)
        self.started_at = time.monotonic()

    def log(self) -> str:
        path = self.home / "runner.log"
        return path.read_text(errors="replace") if path.exists() else ""


# ---------------------------------------------------------------- the chaos session


@dataclass
class Summary:
    rounds: int = 0
    runs: int = 0
    kills: int = 0  # kill -9 of a runner
    sigterms: int = 0  # SIGTERM of a runner (drain)
    restarted_runners: int = 0  # a killed runner started again with its state (spool, journal)
    new_runners: int = 0
    server_restarts: int = 0
    server_kills: int = 0  # of which with kill -9
    drops: int = 0
    duplicates: int = 0
    delays: int = 0
    undelivered: int = 0
    upstream_lost: int = 0
    executions: int = 0
    duplicate_executions: int = 0
    accepted_completions: int = 0
    duplicate_acks: int = 0
    requeued_reports: int = 0  # tasks a restarted runner reported killed (accepted as `cancelled`, requeued)
    lost_leases: int = 0
    held_at_kills: int = 0
    expired_live: int = 0  # leases of live runners that expired anyway (a starved machine): 0 normally
    orphaned_leases: int = 0
    lost: int = 0
    double_completions: int = 0
    problems: list = field(default_factory=list)

    def line(self) -> str:
        skip = {"problems"}
        return "chaos: " + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in self.__dict__.items()
                                     if key not in skip)


class Chaos:
    """One chaos session: servers, proxy, runners, and the runs of the 50-node workflow."""

    ACTIONS = {  # round action -> weight
        "kill9": 3, "sigterm": 1, "server_restart": 1, "drop": 3, "dup": 3, "delay": 2, "pause": 2,
    }

    def __init__(self, tmp: Path, *, seed: int | None = None, runners: int = 3, postgres_url: str | None = None,
                 database_name: str = "", verbose: bool = False):
        self.tmp = tmp
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        url = os.environ.get("DATABASE_URL", "") if postgres_url is None else postgres_url
        self.database = Database(tmp / "data", postgres_url=url if _is_postgres(url) else "", name=database_name)
        self.servers = Servers(tmp, self.database)
        self.proxy = FaultProxy(self.servers, random.Random(self.seed + 1))
        self.api = UserApi(self.servers)
        self.side = tmp / "side-effects.jsonl"
        self.target_runners = runners
        self.runners: list[Runner] = []
        self.retired: list[Runner] = []
        self.summary = Summary()
        self.verbose = verbose
        self.run_ids: list[int] = []
        self.workflow_id = 0
        self._server_restart: threading.Thread | None = None
        self.killed_leases: set[str] = set()  # leases their runner held when it was killed
        self.terminated: list[Runner] = []  # runners sent SIGTERM: each must drain and exit 0
        self._counter = 0

    def say(self, text: str) -> None:
        if self.verbose:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    # ---- setup and teardown

    def start(self) -> Chaos:
        self.servers.start_all()
        self.proxy.start()
        self.api.make_user()
        created = self.api.call("POST", "/api/v1/workflow/publish",
                                {"name": "chaos-50", "workflow": build_workflow(self.side)})
        self.workflow_id = created["id"]
        for _ in range(self.target_runners):
            self.new_runner()
        return self

    def close(self) -> None:
        self.proxy.quiet = True
        for runner in self.runners + self.retired:
            if runner.alive():
                runner.process.send_signal(signal.SIGKILL)
                runner.process.wait()
        if self._server_restart is not None:
            self._server_restart.join(120)
        self.servers.stop_all()
        self.proxy.stop()
        with contextlib.suppress(Exception):
            self.database.drop()

    def new_runner(self) -> Runner:
        self._counter += 1
        name = f"chaos-{self._counter}-{uuid.uuid4().hex[:4]}"
        answer = self.api.call("POST", "/api/v1/runners/register", {"name": name, "executors": ["shell"]})
        home = self.tmp / name
        home.mkdir(parents=True)
        env = dict(os.environ)
        for key in list(env):
            if key.startswith("NODEWORKS_RUNNER_"):
                del env[key]
        env.update({"NODEWORKS_RUNNER_CONFIG": str(home / "config.json"), "XDG_DATA_HOME": str(home / "data"),
                    "PYTHONUNBUFFERED": "1"})
        args = [RUNNER_EXE, "run", "--url", self.proxy.url, "--token", answer["token"], "--name", name,
                "--executors", "shell", "--concurrency", str(CONCURRENCY), "--heartbeat", "0.5",
                "--lease-wait", "2", "--log-interval", "0.5", "--cancel-grace", "1", "--retry-max", "1",
                "--http-timeout", "20", "--work-dir", str(home / "work")]
        runner = Runner(name, answer["id"], answer["token"], home, args, env)
        runner.start()
        self.runners.append(runner)
        self.summary.new_runners += 1
        return runner

    # ---- rounds

    def held_by(self, runner: Runner) -> set[str]:
        rows = self.database.query(
            "SELECT lease_id FROM workflows_task WHERE runner_id = %s AND state IN ('leased', 'running')",
            (runner.runner_id,))
        return {str(uuid.UUID(str(lease))) for (lease,) in rows}  # SQLite stores a UUID as 32 hex digits

    def round(self, action: str) -> None:
        self.summary.rounds += 1
        live = [runner for runner in self.runners if runner.alive()]
        # Signals go to runners that have had time to start: a SIGTERM drains only once the runner has set up
        # its signal handling (before that its default action ends it like a kill), and killing runners
        # still starting up tests nothing but starves the runs.
        settled = [runner for runner in live if time.monotonic() - runner.started_at > 3]
        deadline = time.monotonic() + 15
        while action in ("kill9", "sigterm") and not settled and time.monotonic() < deadline:
            time.sleep(0.2)  # every runner is starting: wait for one, so that each planned signal is sent
            live = [runner for runner in self.runners if runner.alive()]
            settled = [runner for runner in live if time.monotonic() - runner.started_at > 3]
        if action == "kill9" and settled:
            runner = self.rng.choice(settled)
            runner.process.send_signal(signal.SIGKILL)
            runner.process.wait()
            held = self.held_by(runner)
            self.killed_leases |= held
            self.summary.kills += 1
            self.summary.held_at_kills += len(held)
            self.say(f"kill -9 {runner.name} (held {len(held)})")
            if self.rng.random() < 0.5:
                runner.start()  # the same runner again: its spool and journal are recovered
                self.summary.restarted_runners += 1
            else:
                self.runners.remove(runner)
                self.retired.append(runner)
                self.new_runner()
        elif action == "sigterm" and settled:
            runner = self.rng.choice(settled)
            runner.process.send_signal(signal.SIGTERM)  # drains: finishes its tasks, sends their results, exits
            self.summary.sigterms += 1
            self.say(f"SIGTERM {runner.name}")
            self.terminated.append(runner)
            self.runners.remove(runner)
            self.retired.append(runner)
            self.new_runner()
        elif action == "server_restart":
            if self._server_restart is None or not self._server_restart.is_alive():
                index = self.rng.randrange(len(self.servers.ports))
                sig = signal.SIGKILL if self.rng.random() < 0.3 else signal.SIGTERM
                self.summary.server_restarts += 1
                self.summary.server_kills += sig == signal.SIGKILL
                self.say(f"restart server {index} ({sig.name})")
                self._server_restart = threading.Thread(target=self._restart_server, args=(index, sig), daemon=True)
                self._server_restart.start()
        elif action in ("drop", "dup", "delay"):
            self.proxy.arm(action, self.rng.randint(1, 3))
        if len([runner for runner in self.runners if runner.alive()]) < self.target_runners:
            self.new_runner()

    def _restart_server(self, index: int, sig) -> None:
        with self.proxy.lock:
            self.proxy.down.add(index)
        try:
            self.servers.restart(index, sig)
        except Exception as exc:  # reported with the other problems: the session goes on on the other server
            self.summary.problems.append(f"server {index} did not restart: {exc}"[:3000])
        finally:
            with self.proxy.lock:
                self.proxy.down.discard(index)

    def execute(self) -> int:
        run = self.api.call("POST", f"/api/v1/workflow/execute/{self.workflow_id}", {})["run"]
        self.run_ids.append(run["id"])
        self.say(f"run {run['id']} started")
        return run["id"]

    def run_state(self, run_id: int) -> str:
        return self.database.query("SELECT state FROM workflows_run WHERE id = %s", (run_id,))[0][0]

    def session(self, *, rounds: int, min_runs: int = 1, must: tuple = (), run_timeout: float = 600,
                round_pause: tuple = (0.05, 0.4)) -> Summary:
        """`rounds` fault actions (the `must` ones first, in random order) while runs go on back to back;
        then quiet: every fault off, the last run left to finish, and everything checked."""
        plan = list(must)
        self.rng.shuffle(plan)
        names, weights = zip(*self.ACTIONS.items(), strict=True)
        while len(plan) < rounds:
            plan.append(self.rng.choices(names, weights)[0])
        current = self.execute()
        started = time.monotonic()
        for action in plan:
            self.round(action)
            time.sleep(self.rng.uniform(*round_pause))
            if self.run_state(current) in FINAL_RUN_STATES:
                current = self.execute()
                started = time.monotonic()
            elif time.monotonic() - started > run_timeout:
                break
        self.proxy.quiet = True
        self.proxy.armed.clear()
        if self._server_restart is not None:
            self._server_restart.join(120)
        while len([runner for runner in self.runners if runner.alive()]) < self.target_runners:
            self.new_runner()
        while True:
            deadline = time.monotonic() + run_timeout
            while self.run_state(current) not in FINAL_RUN_STATES and time.monotonic() < deadline:
                time.sleep(0.3)
            if len(self.run_ids) >= min_runs or self.run_state(current) not in FINAL_RUN_STATES:
                break
            current = self.execute()
        return self.check()

    # ---- the checks

    def check(self) -> Summary:
        summary = self.summary
        problems = summary.problems
        counts = self.proxy.counts
        summary.runs = len(self.run_ids)
        summary.drops, summary.duplicates, summary.delays = counts.drops, counts.duplicates, counts.delays
        summary.undelivered, summary.upstream_lost = counts.undelivered, counts.upstream_lost
        shape = workflow_shape()
        executions: Counter = Counter()
        ids_executed: set = set()
        if self.side.exists():
            for line in self.side.read_text().splitlines():
                record = json.loads(line)
                executions[(record["run"], record["node"])] += 1
                ids_executed.add(record["id"])
        summary.executions = sum(executions.values())
        summary.duplicate_executions = sum(count - 1 for count in executions.values() if count > 1)
        run_list = ",".join(str(run_id) for run_id in self.run_ids)
        runs = dict(self.database.query(f"SELECT id, state FROM workflows_run WHERE id IN ({run_list})"))
        rows = self.database.query(
            "SELECT id, run_id, node, state, outputs, attempt, lost_leases, failures, finished_lease_id "
            f"FROM workflows_task WHERE run_id IN ({run_list})"
        )
        tasks = {}
        for task_id, run_id, node, state, outputs, attempt, lost, failures, finished_lease in rows:
            if isinstance(outputs, str):
                outputs = json.loads(outputs)
            tasks[(run_id, node)] = {"id": task_id, "state": state, "outputs": outputs, "attempt": attempt,
                                     "lost": lost, "failures": failures, "finished_lease": finished_lease}
        summary.lost_leases = sum(task["lost"] for task in tasks.values())
        for run_id in self.run_ids:
            if runs.get(run_id) != "succeeded":
                problems.append(f"run {run_id} is {runs.get(run_id)}, not succeeded")
            stored = {}
            for name in shape:
                task = tasks.get((run_id, name))
                if task is None:
                    problems.append(f"run {run_id}: no task {name}")
                    summary.lost += 1
                    continue
                if task["state"] != "succeeded":
                    problems.append(f"run {run_id}: task {name} is {task['state']} (attempt {task['attempt']})")
                    summary.lost += 1
                    continue
                if task["attempt"] != 1 + task["lost"] + task["failures"]:
                    problems.append(f"run {run_id}: task {name} attempt {task['attempt']} but {task['lost']} lost "
                                    f"leases and {task['failures']} failures")
                if task["failures"]:
                    problems.append(f"run {run_id}: task {name} failed {task['failures']} time(s)")
                if not task["finished_lease"]:
                    problems.append(f"run {run_id}: task {name} succeeded without a finished lease")
                try:
                    stored[name] = json.loads(task["outputs"]["stdout"])
                except (TypeError, KeyError, ValueError):
                    problems.append(f"run {run_id}: task {name} has outputs {task['outputs']!r}")
                    summary.lost += 1
                    continue
                if stored[name]["id"] not in ids_executed:
                    problems.append(f"run {run_id}: the output of {name} comes from no recorded execution")
                if executions[(run_id, name)] == 0:
                    problems.append(f"run {run_id}: {name} succeeded but never ran")
            for name, parents in shape.items():
                if name not in stored or any(parent not in stored for parent in parents):
                    continue
                mine = stored[name]
                expected = base_value(name) + sum(stored[parent]["value"] for parent in parents)
                consumed = sorted(stored[parent]["id"] for parent in parents)
                if mine["value"] != expected or mine["parents"] != consumed:
                    problems.append(f"run {run_id}: {name} consumed parents' outputs {mine['parents']} (value "
                                    f"{mine['value']}), but the stored ones are {consumed} (value {expected}): a parent's "
                                    "result was replaced after it was read")
        # Completions the proxy saw accepted, per task: exactly one each (a result never accepted twice).
        task_ids = {task["id"]: key for key, task in tasks.items()}
        accepted = self.proxy.accepted
        summary.accepted_completions = sum(count for task_id, count in accepted.items() if task_id in task_ids)
        summary.duplicate_acks = self.proxy.duplicate_acks
        summary.requeued_reports = self.proxy.requeued_reports
        for task_id, count in accepted.items():
            if task_id in task_ids and count > 1:
                summary.double_completions += 1
                problems.append(f"task {task_ids[task_id]} (id {task_id}): {count} results accepted: "
                                + "; ".join(self.proxy.trace.get(task_id, [])))
        unseen = [key for task_id, key in task_ids.items() if accepted[task_id] == 0]
        if unseen and not counts.upstream_lost and not self.proxy.unknown_accepts:
            problems.append(f"{len(unseen)} succeeded tasks whose accepted result the proxy never saw: {unseen[:5]}")
        # Lost leases: every orphaned lease came back once; the rest were held by killed runners or handed out
        # in answers a dying server never finished (at most 2 * CONCURRENCY leases each).
        summary.orphaned_leases = len(self.proxy.orphaned)
        # A lease of a live runner can also expire when the machine starves it past the TTL: its runner then
        # hears `lost` (counted, and printed: 0 on a machine that is not overloaded).
        expired_live = self.proxy.heard_lost - self.proxy.orphaned - self.killed_leases - self.proxy.reported
        summary.expired_live = len(expired_live)
        lower = summary.orphaned_leases
        explained = self.proxy.orphaned | self.killed_leases | expired_live
        upper = len(explained) + counts.upstream_lost * 2 * CONCURRENCY
        if not lower <= summary.lost_leases <= upper:
            problems.append(f"lost leases {summary.lost_leases} not within [{lower}, {upper}] (orphaned "
                            f"{lower}, held by killed runners {summary.held_at_kills}, heard lost by live runners "
                            f"{summary.expired_live}, calls lost with a server {counts.upstream_lost})")
        leftovers = self.database.query(
            "SELECT run_id, node, state FROM workflows_task WHERE state IN ('pending', 'queued', 'leased', 'running')"
        )
        if leftovers:
            problems.append(f"unfinished tasks left: {leftovers[:10]}")
        for runner in self.terminated:
            try:
                code = runner.process.wait(60)
            except subprocess.TimeoutExpired:
                code = None
            if code != 0:
                problems.append(f"runner {runner.name} sent SIGTERM: exit code {code}, not 0 after draining")
        if self.proxy.server_errors:
            problems.append(f"server errors: {self.proxy.server_errors[:5]}")
        return summary

    def diagnostics(self) -> str:
        parts = [f"seed {self.seed}", "server log tail:\n" + self.servers.log_tail(3000)]
        for runner in self.runners[-2:]:
            parts.append(f"runner {runner.name} log tail:\n" + runner.log()[-2000:])
        return "\n".join(parts)
