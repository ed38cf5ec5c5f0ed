"""The real runner gets its next task inside the results call (`lease` in the body), not by a second
lease call per task: counted by an HTTP proxy between a real runner process and the live server."""

from __future__ import annotations

import collections
import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.runner.conftest import connect, make_node, node, workflow_of

LEASE, RESULTS = "/api/v1/runners/lease", "/api/v1/runners/results"


class CountingProxy:
    """Forwards every request to `upstream` as is, counting requests by path (counted on arrival)."""

    def __init__(self, upstream: str):
        target = urlsplit(upstream)
        counts: collections.Counter = collections.Counter()
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                with lock:
                    counts[self.path.split("?")[0]] += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    upstream_conn.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream_conn.getresponse()
                    payload = response.read()
                    self.send_response(response.status)
                    for key, value in response.getheaders():
                        if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    upstream_conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, *args):
                pass

        self.counts, self._lock = counts, lock
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def snapshot(self) -> collections.Counter:
        with self._lock:
            return collections.Counter(self.counts)

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _run_through(proxy, runner, publish_and_execute, wait_run, document: dict, *, timeout: float = 30.0):
    """Once the runner long-polls through the proxy: runs `document`; its final status and the calls it took."""
    deadline = time.monotonic() + 30
    while proxy.snapshot()[LEASE] == 0:  # up, registered and long-polling through the proxy
        assert time.monotonic() < deadline and runner.process.poll() is None, runner.log()
        time.sleep(0.1)
    before = proxy.snapshot()
    workflow_id, run_id = publish_and_execute(document)
    status = wait_run(workflow_id, run_id=run_id, timeout=timeout)
    return status, proxy.snapshot() - before


def _floats(count: int) -> dict:
    nodes = []
    for i in range(count):
        obj = make_node(f"value{i}", ["types", "Float"], outputs=("float",))
        obj["terminals"]["float"]["value"] = float(i)
        nodes.append(obj)
    return workflow_of(*nodes)


def test_the_runner_takes_its_next_task_from_the_results_answer(
    live_server_url, start_runner, publish_and_execute, wait_run
):
    count = 20
    with CountingProxy(live_server_url) as proxy:
        # No prefetch: one task held at a time, so each result goes alone and its answer carries the next.
        runner = start_runner("r-chain", concurrency=1, extra_args=("--url", proxy.url, "--prefetch", "0"))
        status, calls = _run_through(proxy, runner, publish_and_execute, wait_run, _floats(count))

    assert status["run"]["state"] == "succeeded", status
    assert [node(status, f"value{i}")["outputs"]["float"] for i in range(count)] == [float(i) for i in range(count)]
    # One slot: a result per call, and each answer carries the next task. Separate lease calls are
    # only the long-poll that picks up the first task and the ones once the queue is empty
    # (each ends after --lease-wait 2 s), never one per task.
    assert calls[RESULTS] >= count, calls
    assert calls[LEASE] <= 4, (calls, runner.log()[-3000:])


def test_quick_built_in_tasks_come_hundreds_per_call(live_server_url, start_runner, publish_and_execute, wait_run):
    """Built-in `types` nodes run in the runner process in well under a millisecond: the automatic
    prefetch then leases them by the hundred and one results call answers for as many (issue 12)."""
    count = 400
    with CountingProxy(live_server_url) as proxy:
        runner = start_runner("r-burst", concurrency=1, extra_args=("--url", proxy.url))
        status, calls = _run_through(proxy, runner, publish_and_execute, wait_run, _floats(count))

    assert status["run"]["state"] == "succeeded", status
    assert [node(status, f"value{i}")["outputs"]["float"] for i in range(count)] == [float(i) for i in range(count)]
    # One slot and no prefetch would take a call per task (the test above); here a handful do.
    assert calls[RESULTS] + calls[LEASE] <= count // 10, (calls, runner.log()[-3000:])


def _doubling_chain(length: int, *, broken_at: int | None = None) -> dict:
    """n0 = 1, then each node adds its parent's result twice (two connections into one multiinput):
    n_i = 2**i. At `broken_at` a Power node raises a string to its parent's result: that link fails."""
    document = {}
    for i in range(length):
        if i == broken_at:
            obj = make_node(f"n{i}", ["math", "Power"], inputs={"base": "not a number", "exponent": None},
                            outputs=("result",))
        else:
            obj = make_node(f"n{i}", ["math", "Add"], inputs={"input": [1] if i == 0 else None},
                            outputs=("result",), multi=("input",))
        document[obj["uniquename"]] = obj
    for i in range(1, length):
        if i == broken_at:
            connect(document, (f"n{i - 1}", "result"), (f"n{i}", "exponent"))
        else:
            connect(document, (f"n{i - 1}", "result"), (f"n{i}", "input"))
            connect(document, (f"n{i - 1}", "result"), (f"n{i}", "input"))
    return document


def test_a_chain_runs_in_segments_on_its_runner_each_link_as_its_parent_ends(
    live_server_url, start_runner, publish_and_execute, wait_run
):
    """The chain's links are leased below the task the runner holds (workflows/lifecycle/segments.py)
    and start here the moment the one above succeeds: many links per call, none started early."""
    length = 60
    with CountingProxy(live_server_url) as proxy:
        runner = start_runner("r-segments", concurrency=1, extra_args=("--url", proxy.url, "--segment-max", "25"))
        status, calls = _run_through(proxy, runner, publish_and_execute, wait_run, _doubling_chain(length),
                                     timeout=60)

    assert status["run"]["state"] == "succeeded", status
    assert [node(status, f"n{i}")["outputs"]["result"] for i in range(length)] == [2**i for i in range(length)]
    # A few segments of up to 25 links after the first task, not a results call per link (60 of them).
    assert calls[RESULTS] <= 10, (calls, runner.log()[-3000:])
    times = [(node(status, f"n{i}")["started"], node(status, f"n{i}")["finished"]) for i in range(length)]
    assert all(times[i][0] >= times[i - 1][1] for i in range(1, length)), "a link started before its parent ended"


def test_a_failed_link_ends_the_links_below_it_and_the_runner_goes_on(
    start_runner, publish_and_execute, wait_run
):
    runner = start_runner("r-segment-failure", concurrency=1)
    workflow_id, run_id = publish_and_execute(_doubling_chain(12, broken_at=5))
    status = wait_run(workflow_id, run_id=run_id, timeout=60)
    assert status["run"]["state"] == "failed", status
    assert [node(status, f"n{i}")["state"] for i in range(12)] == (
        ["succeeded"] * 5 + ["failed"] + ["upstream_failed"] * 6
    )
    assert "not a number" in (node(status, "n5")["error"] or "")
    # The same runner runs the next chain whole: nothing of the failed segment is left held.
    workflow_id, run_id = publish_and_execute(_doubling_chain(12))
    status = wait_run(workflow_id, run_id=run_id, timeout=60)
    assert status["run"]["state"] == "succeeded", (status, runner.log()[-3000:])
