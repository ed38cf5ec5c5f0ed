"""A stand-in for the server's runner protocol (stdlib only), with switches for failures."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_task(task_id: int, node: dict, inputs=None, *, executor: str = "local", run_id: int = 1, **requirements):
    requirements = dict(requirements)
    requirements.setdefault("executor", executor)
    return {
        "task_id": task_id,
        "lease_id": str(uuid.uuid4()),
        "attempt": 1,
        "run_id": run_id,
        "workflow_id": 1,
        "revision": "0" * 40,
        "node": node,
        "inputs": inputs or {},
        "requirements": requirements,
        "expires_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 30)),
    }


class FakeServer:
    def __init__(self, token: str = "nwr_test_token_0123456789abcdef"):
        self.token = token
        self.lock = threading.Lock()
        self.queue = []  # tasks to hand out
        self.successors = {}  # task_id -> tasks returned in `next` when its result is accepted
        self.leased = {}  # lease id -> task
        self.results = []  # result dicts accepted
        self.refused = []
        self.logs = {}  # lease id -> text
        self.artifacts = {}  # id -> (name, bytes, lease id)
        self.heartbeats = []
        self.lease_answers = {}  # lease id -> "cancel" | "lost"
        self.fail_results = 0  # answer the next N results calls with 503
        self.fail_all = False  # 503 for everything
        self.results_delay_s = 0.0  # a slow results call
        self.upload_delay_s = 0.0  # a slow artifact upload (answered after this long)
        self.download_delay_s = 0.0  # a slow artifact download
        self.slow_calls = []  # (call name, monotonic start, monotonic end) of every call delayed on purpose
        self.heartbeat_at = []  # monotonic arrival time of each heartbeat (beside `heartbeats`)
        self.poisoned = None  # set: results(result) -> True for a result that makes the whole batch fail ...
        self.poison_status = 500  # ... with this status (today's server: 500 for one NUL character)
        self.refuse_verdicts = {}  # task id -> the reason its result is answered `accepted: false` in a 200
        self.results_max_body = 0  # set: a results body larger than this many bytes answers 413
        self.refused_batches = []  # (status, lease ids) of every results call refused as a whole
        self.lease_in_results = "yes"  # `lease` in a results call: "yes" (fill `next`), "ignore" (old server), "reject"
        self.calls = []
        self.lease_retry_after_s = None  # set: an empty lease answers at once with this `retry_after_s`
        self.bodies = []  # (call name, JSON body) of every JSON call
        self.handed_in_next = []  # task ids leased through `next` in results answers
        self.most_leased = 0  # the most leases held at once (results not yet in)
        self.shutdown_flag = False
        self.registered = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length)

            def _auth(self):
                if self.headers.get("Authorization") != "Runner %s" % server.token:
                    self._json(401, {"detail": "bad token"})
                    return False
                if self.headers.get("X-Nodeworks-Protocol") != "1":
                    self._json(426, {"detail": "protocol"})
                    return False
                return True

            def do_GET(self):  # artifact download
                if not self._auth():
                    return
                match = re.match(r"^/api/v1/runners/artifacts/(.+)$", self.path)
                if not match or match.group(1) not in server.artifacts:
                    self._json(404, {"detail": "no such artifact"})
                    return
                data = server.artifacts[match.group(1)][1]
                server.delay("download", server.download_delay_s)
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                raw = self._body()
                name = self.path.rsplit("/", 1)[-1]
                server.calls.append(name)
                if server.fail_all:
                    self._json(503, {"detail": "down for maintenance"})
                    return
                if name == "register":
                    self._register(json.loads(raw or b"{}"))
                    return
                if not self._auth():
                    return
                if name == "artifacts":
                    self._artifact(raw)
                    return
                body = json.loads(raw or b"{}")
                server.bodies.append((name, body))
                if name == "results" and server.refuse_batch(self, raw, body):
                    return
                getattr(self, "_" + name)(body)

            def _register(self, body):
                if self.headers.get("Authorization") != "Token nwu_good":
                    self._json(401, {"detail": "Invalid token."})
                    return
                server.registered.append(body)
                self._json(201, {"id": 7, "name": body["name"], "tags": body.get("tags", []),
                                 "executors": body.get("executors", []), "token": server.token})

            def _library(self, body):  # as an older server: nodeworks_runner/library.py stops asking
                self._json(404, {"detail": "Not found."})

            def _lease(self, body):
                deadline = time.monotonic() + min(float(body.get("wait_s", 0)), 1.0)
                while True:
                    with server.lock:
                        if server.queue and not server.shutdown_flag:
                            count = int(body.get("max_tasks", 1))
                            tasks, server.queue = server.queue[:count], server.queue[count:]
                            for task in tasks:
                                server.leased[task["lease_id"]] = task
                            server.most_leased = max(server.most_leased, len(server.leased))
                            self._json(200, {"tasks": tasks})
                            return
                    if server.lease_retry_after_s is not None:
                        self._json(200, {"tasks": [], "retry_after_s": server.lease_retry_after_s})
                        return
                    if server.shutdown_flag:  # as the server does: an empty answer that says so
                        self._json(200, {"tasks": [], "shutdown": True})
                        return
                    if time.monotonic() >= deadline:
                        self._json(200, {"tasks": []})
                        return
                    time.sleep(0.02)

            def _heartbeat(self, body):
                server.heartbeats.append(body)
                server.heartbeat_at.append(time.monotonic())
                answers = {}
                for lease in body.get("lease_ids", []):
                    answers[lease] = server.lease_answers.get(lease, "ok" if lease in server.leased else "lost")
                status = 409 if answers and all(v == "lost" for v in answers.values()) else 200
                self._json(status, {"leases": answers, "expires_at": "2099-01-01T00:00:00+00:00",
                                    "shutdown": server.shutdown_flag})

            def _logs(self, body):
                lease = body["lease_id"]
                if lease not in server.leased:
                    self._json(409, {"detail": "stale"})
                    return
                stored = server.logs.get(lease, "")
                size = len(stored.encode())
                offset = body["offset"]
                if offset > size:
                    self._json(400, {"offset": ["past the end"]})
                    return
                chunk = body["data"].encode()[size - offset:]
                server.logs[lease] = stored + chunk.decode("utf-8", errors="ignore")
                self._json(200, {"next_offset": size + len(chunk)})

            def _artifact(self, raw):
                boundary = self.headers["Content-Type"].split("boundary=", 1)[1].encode()
                fields, data = {}, b""
                for part in raw.split(b"--" + boundary):
                    if b"\r\n\r\n" not in part:
                        continue
                    head, value = part.split(b"\r\n\r\n", 1)
                    value = value[:-2] if value.endswith(b"\r\n") else value
                    field = re.search(rb'name="([^"]+)"', head).group(1).decode()
                    if b"filename=" in head:
                        data = value
                    else:
                        fields[field] = value.decode()
                if fields.get("lease_id") not in server.leased:
                    self._json(409, {"detail": "stale"})
                    return
                server.delay("upload", server.upload_delay_s)
                artifact_id = str(uuid.uuid4())
                server.artifacts[artifact_id] = (fields["name"], data, fields["lease_id"])
                self._json(201, {"id": artifact_id, "sha256": "x", "size": len(data)})

            def _results(self, body):
                if server.fail_results > 0:
                    server.fail_results -= 1
                    self._json(503, {"detail": "try later"})
                    return
                server.delay("results", server.results_delay_s)
                more = body.get("lease") if server.lease_in_results != "ignore" else None
                if more is not None and server.lease_in_results == "reject":
                    self._json(400, {"executors": {"0": ["not a valid choice"]}})
                    return
                answers, released = [], []
                for result in body["results"]:
                    lease = result["lease_id"]
                    task = server.leased.get(lease)
                    if task is not None and task["task_id"] in server.refuse_verdicts:
                        server.refused.append(result)
                        answers.append({"lease_id": lease, "accepted": False,
                                        "reason": server.refuse_verdicts[task["task_id"]]})
                        continue
                    task = server.leased.pop(lease, None)
                    if task is None:
                        server.refused.append(result)
                        answers.append({"lease_id": lease, "accepted": False, "reason": "not current"})
                        continue
                    result["task_id"] = task["task_id"]
                    server.results.append(result)
                    answers.append({"lease_id": lease, "accepted": True, "state": result["state"]})
                    released += server.successors.pop(task["task_id"], [])
                with server.lock:
                    if more is None:  # as before the addition: every successor released
                        next_tasks = released
                    else:  # as the server: successors first, topped up from the queue, up to max_tasks
                        wanted = 0 if server.shutdown_flag else int(more["max_tasks"])
                        server.queue = released + server.queue  # what does not fit stays queued
                        next_tasks, server.queue = server.queue[:wanted], server.queue[wanted:]
                    for task in next_tasks:
                        server.leased[task["lease_id"]] = task
                        server.handed_in_next.append(task["task_id"])
                    server.most_leased = max(server.most_leased, len(server.leased))
                status = 409 if all(not a["accepted"] for a in answers) else 200
                self._json(status, {"results": answers, "next": next_tasks})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def refuse_batch(self, handler, raw: bytes, body: dict) -> bool:
        """A results call refused as a whole: 413 when too large, the poison status when an item is poisoned."""
        leases = [result.get("lease_id") for result in body.get("results") or []]
        if self.results_max_body and len(raw) > self.results_max_body:
            self.refused_batches.append((413, leases))
            handler._json(413, {"detail": "Request body too large."})
            return True
        if self.poisoned is not None and any(self.poisoned(result) for result in body.get("results") or []):
            self.refused_batches.append((self.poison_status, leases))
            if self.poison_status == 500:
                handler._json(500, {"detail": "A server error occurred."})
            else:
                handler._json(self.poison_status, {"results[0].outputs": ["cannot be stored"]})
            return True
        return False

    def delay(self, call: str, seconds: float) -> None:
        if seconds > 0:
            started = time.monotonic()
            time.sleep(seconds)
            self.slow_calls.append((call, started, time.monotonic()))

    def add(self, *tasks):
        with self.lock:
            self.queue.extend(tasks)

    def result_for(self, task_id):
        for result in self.results:
            if result["task_id"] == task_id:
                return result
        return None

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
