"""Live gunicorn servers of their own for the hardening tests that need settings the shared runner-test
server (tests/runner/conftest.py) does not have: real throttle rates, a small storage quota."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.runner.conftest import ROOT, VENV_BIN, _free_port, _is_postgres

__all__ = ["ROOT", "ServerPair"]


class ServerPair:
    """gunicorn servers (one per entry of `workers`, each with that many worker processes) on one fresh
    database (`<DATABASE_URL's>_<name>_tests`, or a SQLite file) and one data directory."""

    def __init__(self, tmp: Path, *, env: dict, name: str, workers: tuple[int, ...] = (1,)):
        self.tmp = tmp
        self.name = name
        self.workers = workers
        self.env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        self.env.update(env)
        self.env["NODEWORKS_DATA_DIR"] = str(tmp / "data")
        url = os.environ.get("DATABASE_URL", "")
        self.postgres_url = url if _is_postgres(url) else ""
        if self.postgres_url:
            self.env["DATABASE_URL"] = self._postgres(create=True)
        self.processes: list[subprocess.Popen] = []
        self.urls: list[str] = []

    def _postgres(self, *, create: bool) -> str:
        import psycopg

        parts = urlsplit(self.postgres_url)
        name = parts.path.lstrip("/") + f"_{self.name}_tests"
        with psycopg.connect(self.postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if create:
                conn.execute(f'CREATE DATABASE "{name}"')
        return urlunsplit(parts._replace(path="/" + name))

    def start(self) -> ServerPair:
        (self.tmp / "data").mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=self.env, check=True)
        for index, workers in enumerate(self.workers):
            port = _free_port()
            log = open(self.tmp / f"server{index}.log", "ab")  # noqa: SIM115 (lives as long as the server)
            self.processes.append(subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "nodeworks_server.wsgi:application", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(workers), "--worker-class", "gthread", "--threads", "8", "--graceful-timeout", "2"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            ))
            self.urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        for url, process in zip(self.urls, self.processes, strict=True):
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start:\n" + self.logs())
                try:
                    with urllib.request.urlopen(url + "/api/v1/status", timeout=2):
                        break
                except (urllib.error.URLError, OSError):
                    time.sleep(0.2)
        return self

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in sorted(self.tmp.glob("server*.log")))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self.postgres_url:
            self._postgres(create=False)
