"""Shared by bench/ingest.py and bench/idle_cost.py: a deployed-like server and what it costs.

gunicorn is started as run.sh starts it (gthread, 2 workers x 16 threads); its processes' memory
and CPU are read from /proc (no psutil needed). The database helpers are bench/lease_throughput.py's.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from lease_throughput import (  # noqa: F401  (re-exported for the scripts)
    ROOT,
    database_urls,
    django_helper,
    free_port,
    machine,
    recreate_database,
    server_env,
    start_gunicorn,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def process_tree(root_pid: int) -> list[int]:
    """`root_pid` and its children (gunicorn's master and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB / 1024
    except OSError:
        return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class RssSampler:
    """Samples the RSS of every process of the tree every `interval` s; `peak()` since the last `reset()`."""

    def __init__(self, root_pid: int, interval: float = 0.02):
        self.root_pid, self.interval = root_pid, interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.reset()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        with self._lock:
            self._max_one = 0.0
            self._max_sum = 0.0

    def _run(self) -> None:
        pids: list[int] = []
        refreshed = 0.0
        while not self._stop.is_set():
            if time.monotonic() - refreshed > 1.0:
                pids, refreshed = process_tree(self.root_pid), time.monotonic()
            sizes = [rss_mb(pid) for pid in pids]
            with self._lock:
                self._max_one = max(self._max_one, max(sizes, default=0.0))
                self._max_sum = max(self._max_sum, sum(sizes))
            self._stop.wait(self.interval)

    def peak(self) -> tuple[float, float]:
        """(largest single process, largest sum over the tree), in MB."""
        with self._lock:
            return self._max_one, self._max_sum

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class Api:
    """One keep-alive connection to the user API with an API token."""

    def __init__(self, port: int, token: str, timeout: float = 600):
        self.port, self.token, self.timeout = port, token, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method: str, path: str, body: bytes | None = None, expect: int = 200) -> dict:
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        try:
            self.conn.request(method, "/api/v1/" + path, body, headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.conn.request(method, "/api/v1/" + path, body, headers)
            response = self.conn.getresponse()
        payload = response.read()
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:500]!r}")
        return json.loads(payload) if payload else {}


def stop_server(server) -> None:
    """SIGTERM (gunicorn finishes its requests), SIGKILL after 30 s."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def exit_on_sigterm() -> None:
    """A SIGTERM (bench/e2e.py stopping us) runs the `finally` blocks, so gunicorn is stopped too."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def row(scenario: str, metric: str, value: float, unit: str, target: str | None = None, baseline: float | None = None) -> dict:
    """One figure in the interface bench/e2e.py folds into its tables."""
    return {
        "scenario": scenario, "metric": metric, "value": round(value, 4), "unit": unit, "baseline": baseline, "target": target,
    }


def versions() -> dict:
    import django
    import psycopg

    figures = machine()
    figures.update(django=django.__version__, psycopg=psycopg.__version__)
    return figures
