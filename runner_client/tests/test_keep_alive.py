"""Keep-alive connections of the runner's HTTP client, against a tiny real HTTP/1.1 server that keeps
connections open, closes idle ones (as gunicorn does after --keep-alive seconds) and can drop a
request it has read without answering (a connection closed under a call that was sent whole)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nodeworks_runner.http import Client, Unreachable


class KeepAliveServer:
    def __init__(self, idle_close_s: float = 5.0):
        self.connections = 0  # TCP connections accepted
        self.requests = []  # (connection number, path, body)
        self.drop_next = 0  # read the next N requests whole, then close without a byte of answer
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive
            timeout = idle_close_s  # an idle connection is closed after this long

            def setup(self):
                super().setup()
                with owner.lock:
                    owner.connections += 1
                    self.number = owner.connections

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with owner.lock:
                    owner.requests.append((self.number, self.path, body))
                    drop = owner.drop_next > 0
                    owner.drop_next -= 1 if drop else 0
                if drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                answer = json.dumps({"path": self.path, "connection": self.number}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    started = []

    def start(**kwargs) -> KeepAliveServer:
        started.append(KeepAliveServer(**kwargs))
        return started[-1]

    yield start
    for one in started:
        one.stop()


def test_one_connection_serves_many_calls(server, monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    srv = server()
    client = Client(srv.url, "nwr_x")
    answers = [client.post("/api/v1/runners/heartbeat", {"n": n}) for n in range(20)]
    assert {answer["connection"] for answer in answers} == {1}
    assert srv.connections == 1 and client.connections_opened == 1 and len(srv.requests) == 20


def test_each_thread_has_its_own_connection(server, monkeypatch):
    """The heartbeat thread never waits for (or shares a socket with) the loop's calls."""
    monkeypatch.delenv("http_proxy", raising=False)
    srv = server()
    client = Client(srv.url, "nwr_x")
    seen = []

    def calls():
        seen.extend(client.post("/x", {})["connection"] for _ in range(5))

    threads = [threading.Thread(target=calls) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 15 and len(set(seen)) == 3 and srv.connections == 3


@pytest.mark.parametrize("resend_safe", [True, False], ids=["resend-safe", "lease-like"])
def test_a_connection_the_server_closed_while_idle_is_replaced_before_the_call(server, monkeypatch, resend_safe):
    """gunicorn closes a kept connection idle for --keep-alive seconds: the next call goes on a fresh one,
    with no error and sent once, even a call that must never be sent twice (a lease)."""
    monkeypatch.delenv("http_proxy", raising=False)
    srv = server(idle_close_s=0.2)
    client = Client(srv.url, "nwr_x")
    assert client.post("/a", {})["connection"] == 1
    time.sleep(0.5)  # the server has closed it
    assert client.post("/api/v1/runners/lease", {}, resend_safe=resend_safe)["connection"] == 2
    assert [path for _, path, _ in srv.requests] == ["/a", "/api/v1/runners/lease"]
    assert client.stale_retries == 0


def test_a_resend_safe_call_dropped_after_it_was_sent_is_sent_again_on_a_fresh_connection(server, monkeypatch):
    """The server read the heartbeat and closed without answering (its keep-alive timer raced the call):
    sent again once, transparently."""
    monkeypatch.delenv("http_proxy", raising=False)
    srv = server()
    client = Client(srv.url, "nwr_x")
    client.post("/first", {})
    srv.drop_next = 1
    answer = client.post("/api/v1/runners/heartbeat", {"lease_ids": ["l"]}, resend_safe=True)
    assert answer["connection"] == 2
    assert [(n, path) for n, path, _ in srv.requests] == [(1, "/first"), (1, "/api/v1/runners/heartbeat"),
                                                          (2, "/api/v1/runners/heartbeat")]
    assert client.stale_retries == 1


def test_a_lease_dropped_after_it_was_sent_is_not_sent_again(server, monkeypatch):
    """A lease (or results) call sent whole may have leased tasks: its answer is lost, so it is not resent
    behind the caller's back; the caller sees the failure (and backs off) as before keep-alive."""
    monkeypatch.delenv("http_proxy", raising=False)
    srv = server()
    client = Client(srv.url, "nwr_x")
    client.post("/first", {})
    srv.drop_next = 1
    with pytest.raises(Unreachable):
        client.post("/api/v1/runners/lease", {"max_tasks": 1})
    assert [path for _, path, _ in srv.requests] == ["/first", "/api/v1/runners/lease"]
    assert client.post("/api/v1/runners/lease", {"max_tasks": 1})["connection"] == 2  # a fresh one next time


def test_a_dropped_call_on_a_fresh_connection_is_not_resent(server, monkeypatch):
    """Only a kept connection can be stale: a new one that fails is the server's failure, not resent here."""
    monkeypatch.delenv("http_proxy", raising=False)
    srv = server()
    client = Client(srv.url, "nwr_x")
    srv.drop_next = 1
    with pytest.raises(Unreachable):
        client.post("/api/v1/runners/heartbeat", {}, resend_safe=True)
    assert len(srv.requests) == 1 and client.stale_retries == 0


def test_a_timeout_closes_the_connection_so_a_late_answer_is_never_read_as_the_next_one(monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    slow = {"first": True}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if slow.pop("first", False):
                time.sleep(0.6)
            answer = json.dumps({"path": self.path}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        client = Client("http://127.0.0.1:%d" % httpd.server_address[1], "nwr_x")
        with pytest.raises(Unreachable):
            client.post("/slow", {}, timeout=0.2)
        time.sleep(0.6)
        assert client.post("/second", {}) == {"path": "/second"}
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_environment_proxy_still_gets_the_calls(monkeypatch):
    """With http_proxy set (and the server not in no_proxy) the client goes through urllib as before."""
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert not Client("http://server.example:8000").keep_alive
    monkeypatch.setenv("no_proxy", "server.example")
    assert Client("http://server.example:8000").keep_alive
    assert not Client("http://server.example:8000", proxy="http://proxy:3128").keep_alive
