"""HTTP through the standard library (http.client; urllib behind a proxy): old HPC hosts need nothing else.

* Keep-alive: each thread of the runner keeps one connection to the server open and reuses it (the
  loop's calls, the long-poll's, the heartbeats' each their own: a heartbeat never waits behind a
  results call). A new TCP connection (and TLS handshake) per call cost more than a small call
  itself (docs/benchmarks.md, "Keep-alive connections"). A connection the server closed while idle
  (gunicorn closes idle ones after ``--keep-alive`` seconds) is noticed before the call and
  replaced; one that breaks while the request is sent was not acted on and is retried once on a
  fresh connection. A call the server may have acted on (sent whole, then no answer) is resent here
  only when resending is harmless (``resend_safe``: heartbeats, logs, the library, downloads): a
  lease or a results call may lease tasks, whose answer would be lost, so those fail as before
  (:class:`Unreachable`) and their callers retry with back-off.
* Proxies: ``http_proxy`` / ``https_proxy`` / ``no_proxy`` from the environment, or an explicit
  ``--proxy`` URL: then every call goes through urllib (its ProxyHandler), as before keep-alive.
* TLS: the system's CA store, or ``--ca-bundle`` (a PEM file); the host name is checked.
* A redirect is followed as urllib follows it (the call is made again through urllib).
* Every call has a timeout. Connection errors, timeouts, 5xx and 429 are :class:`Unreachable`
  (the caller backs off and retries; ``retries=`` retries here with exponential back-off and
  jitter). 409 is :class:`Stale`; other 4xx are :class:`ClientError`.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import random
import select
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Callable, Optional, Tuple
from urllib.parse import urlsplit

from nodeworks_runner import PROTOCOL_VERSION, __version__

USER_AGENT = "nodeworks-runner/%s" % __version__
HOSTNAME = socket.gethostname()
UPLOAD_BLOCK = 256 * 1024  # bytes per send of a streamed artifact (http.client's default: 8 KB)


class HttpError(Exception):
    def __init__(self, message: str, status: int = 0, body=None):
        super().__init__(message)
        self.status = status
        self.body = body


class Unreachable(HttpError):
    """Network error, timeout, 5xx or 429: try again later."""


class Stale(HttpError):
    """409: the lease named is not current (its body is still returned in ``body``)."""


class ClientError(HttpError):
    """Another 4xx: our request is wrong, or our token is (401/403), or the protocol (426)."""


def backoff_delay(failures: int, cap: float, base: float = 0.5) -> float:
    """Exponential back-off with full jitter: a random delay in [base/2, min(cap, base * 2**failures)]."""
    ceiling = min(cap, base * (2 ** min(failures, 16)))
    return random.uniform(min(base / 2, ceiling), max(ceiling, base / 2))  # noqa: S311 (jitter, not a secret)


class Backoff:
    """When an activity may try again after failures (exponential, with jitter, capped)."""

    def __init__(self, cap: float):
        self.cap = cap
        self.failures = 0
        self.next_at = 0.0

    def ready(self) -> bool:
        return time.monotonic() >= self.next_at

    def failed(self) -> float:
        delay = backoff_delay(self.failures, self.cap)
        self.failures += 1
        self.next_at = time.monotonic() + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self.next_at = 0.0


class _MultipartBody(io.RawIOBase):
    """A multipart/form-data body read from several file-like parts in turn (the file is streamed)."""

    def __init__(self, parts):
        self.parts = [io.BytesIO(part) if isinstance(part, bytes) else part for part in parts]
        self.index = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        while self.index < len(self.parts):
            data = self.parts[self.index].read(len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
            self.index += 1
        return 0


class Client:
    def __init__(self, url: str, token: str = "", *, ca_bundle: str = "", timeout: float = 60.0, proxy: str = "",
                 auth_scheme: str = "Runner", retry_max_s: float = 30.0):
        if not url.lower().startswith(("http://", "https://")):
            # The token must never go to file: or another scheme urllib would happily open.
            raise ClientError("the server URL must start with http:// or https://, got %r" % url)
        self.url = url.rstrip("/")
        self.token = token
        self.auth_scheme = auth_scheme
        self.timeout = timeout
        self.retry_max_s = retry_max_s
        self.last_ok_at = 0.0  # monotonic time of the last answer below 400: the server works
        handlers = []
        if proxy:
            handlers.append(urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
        else:
            handlers.append(urllib.request.ProxyHandler())  # from the environment
        try:
            self.context = ssl.create_default_context(cafile=ca_bundle or None)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError("cannot use the CA bundle %r: %s" % (ca_bundle, exc)) from None
        handlers.append(urllib.request.HTTPSHandler(context=self.context))
        self.opener = urllib.request.build_opener(*handlers)
        parts = urlsplit(self.url)
        self.scheme = parts.scheme.lower()
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        # Behind a proxy every call goes through urllib, which speaks to proxies (CONNECT, no_proxy...).
        self.keep_alive = not proxy and not _environment_proxy(self.scheme, parts.netloc)
        self._local = threading.local()  # this thread's connection to the server
        self._count_lock = threading.Lock()
        self.connections_opened = 0  # counted for tests and measurements
        self.stale_retries = 0  # calls sent again on a fresh connection (the kept one was closed under them)

    # ------------------------------------------------------------ plumbing

    def _headers(self, extra: Optional[dict] = None) -> dict:
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "X-Nodeworks-Protocol": PROTOCOL_VERSION,
            # For the server's runner list (version, host); it may ignore them.
            "X-Nodeworks-Runner-Version": __version__,
            "X-Nodeworks-Runner-Host": HOSTNAME,
        }
        if self.token:
            headers["Authorization"] = "%s %s" % (self.auth_scheme, self.token)
        headers.update(extra or {})
        return headers

    def _open(self, request: urllib.request.Request, timeout: Optional[float]):
        """A call through urllib (behind a proxy, or a redirect): a new connection per call."""
        try:
            response = self.opener.open(request, timeout=timeout or self.timeout)
            self.last_ok_at = time.monotonic()
            return response
        except urllib.error.HTTPError as exc:
            self._raise_for_status(request.get_method(), request.full_url, exc.code, _read_json(exc))
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError, ssl.SSLError) as exc:
            raise self._network_error(request.get_method(), request.full_url, getattr(exc, "reason", exc)) from None

    def _raise_for_status(self, method: str, url: str, status: int, body) -> None:
        message = "%s %s: HTTP %d %s" % (method, url, status, _detail(body))
        if status == 409:
            raise Stale(message, status, body) from None
        if status >= 500 or status == 429:
            raise Unreachable(message, status, body) from None
        raise ClientError(message, status, body) from None

    def _network_error(self, method: str, url: str, reason) -> HttpError:
        if isinstance(reason, ssl.SSLCertVerificationError):
            return ClientError("%s: TLS certificate not trusted (%s); see --ca-bundle" % (self.url, reason))
        return Unreachable("%s %s: %s" % (method, url, reason))

    # ------------------------------------------------------------ keep-alive

    def _connection(self) -> Tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it is open already (reused) or opens with the call."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.scheme == "https":
                conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.context,
                                                   blocksize=UPLOAD_BLOCK)
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout, blocksize=UPLOAD_BLOCK)
            self._local.conn = conn
        if conn.sock is not None and _closed_by_peer(conn.sock):
            conn.close()  # the server closed it while it was idle: a fresh one, before anything is sent
        return conn, conn.sock is not None

    def close(self) -> None:
        """Closes this thread's connection (it reopens with the next call)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()

    def _exchange(self, method: str, path: str, body: Callable[[], object], headers: dict,
                  timeout: Optional[float], resend_safe: bool) -> http.client.HTTPResponse:
        """Sends one request on this thread's connection; the response, whose body the caller reads whole.

        A kept connection the server closed under the request is replaced and the request sent again
        once: always when it broke while the request was being sent (the server cannot have acted on
        half a request), and after it was sent whole only when ``resend_safe``. Any other failure
        closes the connection (an answer arriving late must never be read as the next call's)."""
        url = self.url + path
        timeout = timeout or self.timeout
        for attempt in (1, 2):
            conn, reused = self._connection()
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            else:
                with self._count_lock:
                    self.connections_opened += 1
            try:
                conn.request(method, self.base_path + path, body=body(), headers=headers)
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as exc:
                conn.close()
                if reused and attempt == 1:
                    self._count_stale_retry()
                    continue
                raise self._network_error(method, url, exc) from None
            except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
                conn.close()
                raise self._network_error(method, url, exc) from None
            except BaseException:
                conn.close()
                raise
            try:
                return conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError) as exc:
                conn.close()
                if reused and attempt == 1 and resend_safe:
                    self._count_stale_retry()
                    continue
                raise self._network_error(method, url, exc) from None
            except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
                conn.close()
                raise self._network_error(method, url, exc) from None
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover (the loop returns or raises)

    def _count_stale_retry(self) -> None:
        with self._count_lock:
            self.stale_retries += 1

    def _keep_alive_call(self, method: str, path: str, body: Callable[[], object], headers: dict,
                         timeout: Optional[float], resend_safe: bool, read: Callable) -> Tuple[bool, object]:
        """One call on the kept connection: (True, read(response)) for an answer below 300; (False, None)
        for a redirect (the caller makes the call again through urllib, which follows it); raises for
        4xx/5xx and network errors as :meth:`_open` does."""
        url = self.url + path
        response = self._exchange(method, path, body, headers, timeout, resend_safe)
        conn = self._local.conn
        try:
            if response.status >= 400:
                self._raise_for_status(method, url, response.status, _read_json(response))
            if response.status >= 300:
                response.read()
                return False, None
            self.last_ok_at = time.monotonic()
            result = read(response)
            response.read()  # the rest, if any: the connection is ready for the next call
            return True, result
        except HttpError:
            if not response.isclosed():
                conn.close()  # the body was not read whole (e.g. no JSON): not reusable
            raise
        except (OSError, http.client.HTTPException, ssl.SSLError, ValueError) as exc:
            conn.close()
            raise self._network_error(method, url, exc) from None
        except BaseException:
            conn.close()
            raise

    def _with_retries(self, call, retries: int):
        failures = 0
        while True:
            try:
                return call()
            except Unreachable:
                if failures >= retries:
                    raise
                time.sleep(backoff_delay(failures, self.retry_max_s))
                failures += 1

    def request_json(self, method: str, path: str, body=None, *, timeout: Optional[float] = None,
                     retries: int = 0, headers: Optional[dict] = None, resend_safe: bool = False):
        """JSON in, JSON out. Returns the decoded answer (409 raises Stale carrying the body).

        ``resend_safe``: the call may be sent twice (it leases nothing and the server answers a repeat as
        the first), so a kept connection that drops it after it was sent whole may resend it at once."""
        data = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        extra = dict(headers or {})
        if data is not None:
            extra["Content-Type"] = "application/json"

        def through_urllib():
            request = urllib.request.Request(  # noqa: S310 (http(s) only: checked in __init__)
                self.url + path, data=data, method=method, headers=self._headers(extra)
            )
            with self._open(request, timeout) as response:
                return _read_json(response)

        def call():
            if self.keep_alive:
                answered, answer = self._keep_alive_call(method, path, lambda: data, self._headers(extra), timeout,
                                                         resend_safe, _read_json_whole)
                if answered:
                    return answer
            return through_urllib()

        return self._with_retries(call, retries)

    def post(self, path: str, body, **kwargs):
        return self.request_json("POST", path, body, **kwargs)

    def get(self, path: str, **kwargs):
        kwargs.setdefault("resend_safe", True)
        return self.request_json("GET", path, None, **kwargs)

    def upload(self, path: str, fields: dict, file_field: str, file_path: str, file_name: str, *,
               content_type: str = "application/octet-stream", timeout: Optional[float] = None, retries: int = 0):
        """multipart/form-data POST of ``fields`` and one file, streamed from disk.

        Never resent once sent whole: a second upload would store the file twice (and count twice
        against the owner's quota)."""

        def call():
            boundary = "nwr-" + uuid.uuid4().hex
            head = io.BytesIO()
            for key, value in fields.items():
                head.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                            % (boundary, key, value)).encode("utf-8"))
            safe_name = file_name.replace('"', "_").replace("\r", "_").replace("\n", "_")
            head.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                        "Content-Type: %s\r\n\r\n" % (boundary, file_field, safe_name, content_type)).encode("utf-8"))
            tail = ("\r\n--%s--\r\n" % boundary).encode("ascii")
            size = os.path.getsize(file_path)
            headers = self._headers({
                "Content-Type": "multipart/form-data; boundary=%s" % boundary,
                "Content-Length": str(len(head.getvalue()) + size + len(tail)),
            })
            with open(file_path, "rb") as handle:

                def body():  # from the start of the file each time it is sent (a stale connection: twice)
                    handle.seek(0)
                    return io.BufferedReader(_MultipartBody([head.getvalue(), handle, tail]))

                if self.keep_alive:
                    answered, answer = self._keep_alive_call("POST", path, body, headers, timeout, False,
                                                             _read_json_whole)
                    if answered:
                        return answer
                request = urllib.request.Request(  # noqa: S310 (http(s) only: checked in __init__)
                    self.url + path, data=body(), method="POST", headers=headers
                )
                with self._open(request, timeout) as response:
                    return _read_json(response)

        return self._with_retries(call, retries)

    def download(self, path: str, target: str, *, timeout: Optional[float] = None, retries: int = 0) -> dict:
        """GET to a file (written beside and renamed into place); returns the response headers."""
        tmp = target + ".part"
        headers = self._headers({"Accept": "*/*"})

        def save(response) -> dict:
            with open(tmp, "wb") as out:
                while True:
                    chunk = response.read(1024 * 1024)
                    if not chunk:
                        break
                    out.write(chunk)
            return dict(response.headers.items())

        def call():
            if self.keep_alive:
                answered, answer = self._keep_alive_call("GET", path, lambda: None, headers, timeout, True, save)
                if answered:
                    os.replace(tmp, target)
                    return answer
            request = urllib.request.Request(  # noqa: S310 (http(s) only: checked in __init__)
                self.url + path, method="GET", headers=headers
            )
            with self._open(request, timeout) as response:
                answer = save(response)
            os.replace(tmp, target)
            return answer

        return self._with_retries(call, retries)


def _environment_proxy(scheme: str, netloc: str) -> bool:
    """Whether urllib would send a call to this server through a proxy of the environment."""
    proxies = urllib.request.getproxies()
    if not proxies.get(scheme):
        return False
    try:
        return not urllib.request.proxy_bypass(netloc)
    except Exception:  # an odd no_proxy: let urllib decide, as before
        return True


def _closed_by_peer(sock) -> bool:
    """An idle kept connection with something to read has been closed by the server (a FIN, a TLS
    close_notify): nothing else arrives unasked in this protocol. Never blocks."""
    try:
        if hasattr(select, "poll"):  # any descriptor number (select() stops at FD_SETSIZE, 1024)
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _read_json_whole(response):
    """The JSON answer of a kept connection; a body cut short raises (the call failed, the connection goes)."""
    return _decode_json(response.read())


def _read_json(response):
    try:
        raw = response.read()
    except Exception:
        return None
    return _decode_json(raw)


def _decode_json(raw: bytes):
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return {"detail": raw[:500].decode("utf-8", errors="replace")}


def _detail(body) -> str:
    if isinstance(body, dict):
        for key in ("detail", "message", "error"):
            if key in body:
                return str(body[key])
    return json.dumps(body)[:500] if body is not None else ""
