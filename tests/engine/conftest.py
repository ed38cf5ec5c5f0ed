"""Fixtures for the execution-engine tests: workflow builders, a reference evaluator and a test runner
that speaks the real runner protocol over HTTP (Django's test client, or urllib against `live_server`).

The test nodes are minimal Nodeworks nodes (`path: ["math", "Add"]`): input terminals `a` (multiinput),
optionally `b` (a plain input) and `k` (a plain input left unconnected: a per-node constant), and one
output `out`. The test runner computes `out = 1 + sum of all input numbers` (lists are summed, None
counts 0), so a wrong input anywhere shows up in every value downstream. Saved values of connected
inputs and of outputs are deliberate junk: a task must never receive them.
"""

from __future__ import annotations

import functools
import graphlib
import io
import itertools
import json
import random
import threading
import urllib.error
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from tests.conftest import make_user

PROTOCOL = "1"
API = "/api/v1/runners/"
FINAL_RUN_STATES = ("succeeded", "failed", "cancelled")


# ---------------------------------------------------------------- workflow builders


def term_in(value, *, multi: bool = False) -> dict:
    opts = {"in": True}
    if multi:
        opts["multiinput"] = True
    return {"value": value, "flipped": False, "opts": opts}


def add_node(name: str, *, a=None, k=0, b: object = ..., out=None, requirements: dict | None = None) -> dict:
    """A math/Add node: `a` multiinput, `k` plain (unconnected: a constant), `b` plain (only if given)."""
    terminals = {"a": term_in(a, multi=True), "k": term_in(k)}
    if b is not ...:
        terminals["b"] = term_in(b)
    terminals["out"] = {"value": out, "flipped": False, "opts": {"out": True}}
    node = {
        "type": "Node",
        "name": name,
        "uniquename": name,
        "pos": [0, 0],
        "path": ["math", "Add"],
        "terminals": terminals,
        "tunnel": False,
        "forcerun": False,
        "hidden": False,
        "customState": None,
        "layer": 0,
    }
    if requirements is not None:
        node["requirements"] = requirements
    return node


def connection(src: str, dst: str, terminal: str = "a") -> dict:
    key = f"{src}->{dst}.{terminal}"
    return {
        "type": "Connection",
        "name": key,
        "uniquename": key,
        "input": [src, "out"],
        "output": [dst, terminal],
        "line": None,
        "controlpoints": [],
        "feedback": False,
    }


def workflow_of(nodes: list[dict], connections: list[dict]) -> dict:
    obj = {node["uniquename"]: node for node in nodes}
    obj.update({conn["uniquename"]: conn for conn in connections})
    return obj


def junk(n: int) -> int:
    """A saved value that must never reach a task: far outside anything the runner computes."""
    return -1_000_000 - n


def diamond() -> dict:
    """top → left, top → right, left → bottom, right → bottom. The connections into `bottom` are in the
    file as right-then-left, so bottom.a must be [right.out, left.out]."""
    nodes = [
        add_node("top", a=[2, 3], k=1, out=junk(1)),  # a unconnected multiinput: the saved list as it is
        add_node("left", a=[junk(2)], k=10, out=junk(3)),
        add_node("right", a=[junk(4)], k=100, out=junk(5)),
        add_node("bottom", a=[junk(6), junk(7)], k=1000, out=junk(8)),
    ]
    conns = [connection("top", "right"), connection("top", "left"), connection("right", "bottom"), connection("left", "bottom")]
    return workflow_of(nodes, conns)


def chain(length: int = 8) -> dict:
    """c0 → c1 → ... along the plain input `b`; each c_i also has an unconnected multiinput `a` saved as a scalar."""
    nodes = [add_node("c0", a=5, k=0, b=7, out=junk(0))]  # c0.b is unconnected: keeps 7
    nodes += [add_node(f"c{i}", a=i, k=i * 3, b=junk(100 + i), out=junk(200 + i)) for i in range(1, length)]
    conns = [connection(f"c{i - 1}", f"c{i}", "b") for i in range(1, length)]
    random.Random(length).shuffle(nodes)  # file order of nodes is not the execution order
    return workflow_of(nodes, conns)


def fan_out(width: int = 100) -> dict:
    """src → m0..m{width-1} → sink. The connections into `sink` are in a shuffled file order."""
    nodes = [add_node("src", a=1, k=0, out=junk(0))]
    nodes += [add_node(f"m{i:03d}", a=[junk(i)], k=i * 7, out=junk(1000 + i)) for i in range(width)]
    nodes.append(add_node("sink", a=[junk(9999)] * 3, k=0, out=junk(10_000)))
    into_sink = [connection(f"m{i:03d}", "sink") for i in range(width)]
    random.Random(width).shuffle(into_sink)
    conns = [connection("src", f"m{i:03d}") for i in range(width)] + into_sink
    return workflow_of(nodes, conns)


def unconnected(count: int = 6) -> dict:
    saved = [None, 4, [1, 2, 3], [], 10, [5]]
    nodes = [add_node(f"u{i}", a=saved[i % len(saved)], k=i * 11, out=junk(i)) for i in range(count)]
    return workflow_of(nodes, [])


def no_op_nodes(count: int, *, prefix: str = "n") -> dict:
    return workflow_of([add_node(f"{prefix}{i:05d}", a=None, k=i) for i in range(count)], [])


# ---------------------------------------------------------------- reference semantics


def flat_sum(value) -> float:
    if value is None:
        return 0
    if isinstance(value, list):
        return sum(flat_sum(item) for item in value)
    return value


def compute(inputs: dict) -> dict:
    """What the test runner's math/Add does: out = 1 + every input number."""
    return {"out": 1 + sum(flat_sum(value) for value in inputs.values())}


def graph_parents(workflow: dict) -> dict[str, set[str]]:
    parents = {key: set() for key, obj in workflow.items() if obj["type"] == "Node"}
    for obj in workflow.values():
        if obj["type"] == "Connection" and not obj.get("feedback", False):
            parents[obj["output"][0]].add(obj["input"][0])
    return parents


def expected_values(workflow: dict) -> dict[str, dict]:
    """{node: {"inputs": ..., "outputs": ...}} by SPEC.md's value rules, computed independently of the server."""
    nodes = {key: obj for key, obj in workflow.items() if obj["type"] == "Node"}
    conns = [obj for obj in workflow.values() if obj["type"] == "Connection"]
    result: dict[str, dict] = {}
    for name in graphlib.TopologicalSorter(graph_parents(workflow)).static_order():
        node = nodes[name]
        inputs = {}
        for terminal, spec in node["terminals"].items():
            if not spec["opts"].get("in"):
                continue
            into = [c for c in conns if c["output"] == [name, terminal]]  # file order
            if not into:
                inputs[terminal] = spec["value"]
                continue
            values = [result[c["input"][0]]["outputs"][c["input"][1]] for c in into]
            inputs[terminal] = values if spec["opts"].get("multiinput") else values[0]
        result[name] = {"inputs": inputs, "outputs": compute(inputs)}
    return result


# ---------------------------------------------------------------- the protocol over HTTP


class ProtocolError(AssertionError):
    pass


@dataclass
class Received:
    node: str
    task_id: int
    lease_id: str
    attempt: int
    inputs: dict
    seq: int
    via: str  # "lease" or "next"


@dataclass
class Trace:
    """What a runner saw, with one sequence number over receipts and acceptances."""

    received: list[Received] = field(default_factory=list)
    accepted: dict[str, int] = field(default_factory=dict)  # node -> seq of its accepted success
    _counter: itertools.count = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_seq(self) -> int:
        with self._lock:
            return next(self._counter)


class ProtocolRunner:
    """A runner that talks to the server only through the runner protocol.

    Transport: a DRF `APIClient` (the whole Django stack, in-process), or, with `base_url`, real HTTP
    via urllib (against `live_server`), usable from several threads at once (one instance per thread).
    """

    def __init__(self, token: str, *, runner_id: int | None = None, base_url: str | None = None, executors=("local",)):
        self.token = token
        self.runner_id = runner_id
        self.base_url = base_url.rstrip("/") if base_url else None
        self.executors = list(executors)
        self.client = None if base_url else APIClient()
        self.headers = {"Authorization": f"Runner {token}", "X-Nodeworks-Protocol": PROTOCOL}

    # -- transport

    def request(self, method: str, call: str, body=None, *, headers: dict | None = None, raw: bool = False):
        """Returns (status, parsed JSON or bytes)."""
        headers = {**self.headers, **(headers or {})}
        path = call if call.startswith("/") else API + call
        if self.client is not None:
            extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items() if value is not None}
            send = self.client.get if method == "GET" else functools.partial(self.client.post, data=body, format="json")
            response = send(path, **extra)
            content = b"".join(response.streaming_content) if response.streaming else response.content
            return response.status_code, content if raw else _json_or_text(content)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        for name, value in headers.items():
            if value is not None:
                request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, content = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, content = error.code, error.read()
        return status, content if raw else _json_or_text(content)

    def post(self, call: str, body, **kwargs):
        return self.request("POST", call, body, **kwargs)

    # -- protocol calls

    def lease(self, *, max_tasks: int = 1, wait_s: float = 0, last_finished=None, expect: int = 200) -> list[dict]:
        body = {"max_tasks": max_tasks, "wait_s": wait_s, "executors": self.executors}
        if last_finished:
            body["last_finished"] = list(last_finished)
        status, answer = self.post("lease", body)
        if status != expect:
            raise ProtocolError(f"lease: {status} {answer}")
        return answer["tasks"] if status == 200 else answer

    def heartbeat(self, lease_ids, running: dict | None = None):
        return self.post("heartbeat", {"lease_ids": [str(x) for x in lease_ids], "running": running or {}})

    def log(self, lease_id, offset: int, data: str):
        return self.post("logs", {"lease_id": str(lease_id), "offset": offset, "data": data})

    def results(self, results: list[dict]):
        return self.post("results", {"results": results})

    def result(self, lease_id, state: str = "succeeded", outputs: dict | None = None, error: str | None = None):
        item = {"lease_id": str(lease_id), "state": state, "outputs": outputs or {}}
        if error is not None:
            item["error"] = error
        return self.results([item])

    def upload(self, lease_id, name: str, content: bytes):
        if self.client is not None:
            upload = io.BytesIO(content)
            upload.name = name
            extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in self.headers.items()}
            response = self.client.post(
                API + "artifacts", {"lease_id": str(lease_id), "name": name, "file": upload}, format="multipart", **extra
            )
            return response.status_code, _json_or_text(response.content)
        boundary = uuid.uuid4().hex
        parts = []
        for key, value in (("lease_id", str(lease_id)), ("name", name)):
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        request = urllib.request.Request(self.base_url + API + "artifacts", data=b"".join(parts), method="POST")
        for key, value in self.headers.items():
            request.add_header(key, value)
        request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, _json_or_text(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _json_or_text(error.read())

    def download(self, artifact_id):
        return self.request("GET", f"artifacts/{artifact_id}", raw=True)

    # -- a whole runner

    def drive(
        self,
        run_id: int,
        *,
        trace: Trace | None = None,
        max_tasks: int = 1,
        heartbeat: bool = True,
        follow_next: bool = True,
        is_finished=None,
        max_idle: int = 200,
    ) -> Trace:
        """Leases, heartbeats and reports tasks (following `next`) until the run is finished.

        Each task's outputs come from `compute(inputs)`: the server's inputs decide everything downstream.
        """
        from workflows.models import Run

        trace = trace or Trace()
        is_finished = is_finished or (lambda: Run.objects.values_list("state", flat=True).get(pk=run_id) in FINAL_RUN_STATES)
        pending: deque[tuple[dict, str]] = deque()
        idle = 0
        while True:
            if not pending:
                if is_finished():
                    return trace
                leased = self.lease(max_tasks=max_tasks, wait_s=0)
                if not leased:
                    idle += 1
                    if idle > max_idle:
                        raise ProtocolError("no work leased although the run is not finished")
                    threading.Event().wait(0.01)
                    continue
                idle = 0
                pending.extend((task, "lease") for task in leased)
            task, via = pending.popleft()
            trace.received.append(
                Received(
                    node=task["node"]["uniquename"],
                    task_id=task["task_id"],
                    lease_id=task["lease_id"],
                    attempt=task["attempt"],
                    inputs=task["inputs"],
                    seq=trace.next_seq(),
                    via=via,
                )
            )
            if heartbeat:
                # Every lease held, as a real runner does: with leases of 2 s in tests, a batch of
                # leased tasks must not expire while the ones before it are worked through.
                held = [task["lease_id"]] + [other["lease_id"] for other, _ in pending]
                status, answer = self.heartbeat(held, {task["lease_id"]: {"pid": 4242}})
                if status != 200 or answer["leases"][task["lease_id"]] != "ok":
                    raise ProtocolError(f"heartbeat of {task['node']['uniquename']}: {status} {answer}")
            status, answer = self.result(task["lease_id"], "succeeded", compute(task["inputs"]))
            if status != 200 or not answer["results"][0]["accepted"]:
                raise ProtocolError(f"result of {task['node']['uniquename']}: {status} {answer}")
            trace.accepted[task["node"]["uniquename"]] = trace.next_seq()
            if follow_next:
                pending.extend((child, "next") for child in answer["next"])
            else:
                assert not answer["next"], "next tasks must be executed"


def _json_or_text(content: bytes):
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")


# ---------------------------------------------------------------- fixtures and helpers


def publish_workflow(user, obj: dict, name: str = "wf", requirements: dict | None = None):
    from workflows.documents import document_from_object
    from workflows.services.publishing import workflow_publish

    workflow, _ = workflow_publish(
        user=user, document=document_from_object(obj), name=name, message="test", requirements=requirements
    )
    return workflow


def start_run(user, obj: dict, name: str = "wf", inputs: dict | None = None):
    from workflows.services.runs import run_create

    workflow = publish_workflow(user, obj, name)
    return run_create(user=user, workflow=workflow, inputs=inputs)


def register(user, name: str = "r1", *, tags=(), executors=("local",), **fields):
    """(Runner, token); extra fields (shared_with_all, ...) are set on the row."""
    from runners.services import runner_register

    runner, token = runner_register(user=user, name=name, tags=list(tags), executors=list(executors))
    if fields:
        for key, value in fields.items():
            setattr(runner, key, value)
        runner.save(update_fields=list(fields))
    return runner, token


def tasks_by_node(run) -> dict:
    from workflows.models import Task

    return {task.node: task for task in Task.objects.filter(run=run)}


@pytest.fixture
def engine_settings(settings):
    """Fast, explicit timings for the engine tests (all ≤ 2 s); tests tighten them further where needed."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LEASE_TTL_S = 2.0
    settings.LEASE_POLL_INTERVAL_S = 0.05
    settings.LEASE_MAX_WAIT_S = 2.0
    settings.REAPER_INTERVAL_S = 2.0
    settings.MAX_LOST_LEASES = 3
    settings.RETRY_BACKOFF_BASE_S = 0.5
    settings.RETRY_BACKOFF_CAP_S = 2.0
    settings.RUNNER_HEARTBEAT_INTERVAL_S = 1.0
    return settings


@pytest.fixture
def owner(db, engine_settings):
    return make_user("owner")


@pytest.fixture
def owner_runner(owner):
    runner, token = register(owner, "owner-runner")
    return runner, ProtocolRunner(token, runner_id=runner.pk)


@pytest.fixture
def wide_live_server(transactional_db):
    """A live server like pytest-django's, but with a listen backlog of 128 instead of Django's 10,
    so 50 clients connecting at once are accepted rather than reset. Yields the base URL."""
    from django.core.servers.basehttp import ThreadedWSGIServer
    from django.test.testcases import LiveServerThread, _StaticFilesHandler

    class Server(ThreadedWSGIServer):
        request_queue_size = 128

    class Thread(LiveServerThread):
        server_class = Server

    thread = Thread("127.0.0.1", _StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()
