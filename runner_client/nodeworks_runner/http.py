"""HTTP through the standard library (urllib): old HPC hosts need nothing else.

* Proxies: ``http_proxy`` / ``https_proxy`` / ``no_proxy`` from the environment (urllib's
  ProxyHandler), or an explicit ``--proxy`` URL.
* TLS: the system's CA store, or ``--ca-bundle`` (a PEM file).
* Every call has a timeout. Connection errors, timeouts, 5xx and 429 are :class:`Unreachable`
  (the caller backs off and retries; ``retries=`` retries here with exponential back-off and
  jitter). 409 is :class:`Stale`; other 4xx are :class:`ClientError`.
"""

from __future__ import annotations

import io
import json
import os
import random
import socket
import ssl
import time
import urllib.error
import urllib.request
import uuid
from typing import Optional

from nodeworks_runner import PROTOCOL_VERSION, __version__

USER_AGENT = "nodeworks-runner/%s" % __version__
HOSTNAME = socket.gethostname()


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
            context = ssl.create_default_context(cafile=ca_bundle or None)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError("cannot use the CA bundle %r: %s" % (ca_bundle, exc)) from None
        handlers.append(urllib.request.HTTPSHandler(context=context))
        self.opener = urllib.request.build_opener(*handlers)

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
        try:
            response = self.opener.open(request, timeout=timeout or self.timeout)
            self.last_ok_at = time.monotonic()
            return response
        except urllib.error.HTTPError as exc:
            body = _read_json(exc)
            message = "%s %s: HTTP %d %s" % (request.get_method(), request.full_url, exc.code, _detail(body))
            if exc.code == 409:
                raise Stale(message, exc.code, body) from None
            if exc.code >= 500 or exc.code == 429:
                raise Unreachable(message, exc.code, body) from None
            raise ClientError(message, exc.code, body) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise ClientError("%s: TLS certificate not trusted (%s); see --ca-bundle" % (self.url, reason)) from None
            raise Unreachable("%s %s: %s" % (request.get_method(), request.full_url, reason)) from None

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
                     retries: int = 0, headers: Optional[dict] = None):
        """JSON in, JSON out. Returns the decoded answer (409 raises Stale carrying the body)."""
        data = None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")
        extra = dict(headers or {})
        if data is not None:
            extra["Content-Type"] = "application/json"

        def call():
            request = urllib.request.Request(  # noqa: S310 (http(s) only: checked in __init__)
                self.url + path, data=data, method=method, headers=self._headers(extra)
            )
            with self._open(request, timeout) as response:
                return _read_json(response)

        return self._with_retries(call, retries)

    def post(self, path: str, body, **kwargs):
        return self.request_json("POST", path, body, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request_json("GET", path, None, **kwargs)

    def upload(self, path: str, fields: dict, file_field: str, file_path: str, file_name: str, *,
               content_type: str = "application/octet-stream", timeout: Optional[float] = None, retries: int = 0):
        """multipart/form-data POST of ``fields`` and one file, streamed from disk."""

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
            with open(file_path, "rb") as handle:
                body = _MultipartBody([head.getvalue(), handle, tail])
                headers = self._headers({
                    "Content-Type": "multipart/form-data; boundary=%s" % boundary,
                    "Content-Length": str(len(head.getvalue()) + size + len(tail)),
                })
                request = urllib.request.Request(  # noqa: S310 (http(s) only: checked in __init__)
                    self.url + path, data=io.BufferedReader(body), method="POST", headers=headers
                )
                with self._open(request, timeout) as response:
                    return _read_json(response)

        return self._with_retries(call, retries)

    def download(self, path: str, target: str, *, timeout: Optional[float] = None, retries: int = 0) -> dict:
        """GET to a file (written beside and renamed into place); returns the response headers."""

        def call():
            request = urllib.request.Request(  # noqa: S310 (http(s) only: checked in __init__)
                self.url + path, method="GET", headers=self._headers({"Accept": "*/*"})
            )
            tmp = target + ".part"
            with self._open(request, timeout) as response, open(tmp, "wb") as out:
                while True:
                    chunk = response.read(1024 * 1024)
                    if not chunk:
                        break
                    out.write(chunk)
                headers = dict(response.headers.items())
            os.replace(tmp, target)
            return headers

        return self._with_retries(call, retries)


def _read_json(response):
    try:
        raw = response.read()
    except Exception:
        return None
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
