"""The end-to-end benchmark (bench/e2e.py) still runs: a smoke at tiny sizes, no targets checked.

A benchmark is not a timed test; this only keeps the command from rotting. It starts what the
benchmark starts (a PostgreSQL database beside DATABASE_URL's, gunicorn, real runners, a Celery
worker on Redis) and checks that every scenario produced its figures, Celery's beside ours.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else ""


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _postgres_url(), reason="bench/e2e.py needs PostgreSQL (DATABASE_URL=postgres://...)")
def test_the_end_to_end_benchmark_runs_at_tiny_sizes(tmp_path):
    if not _reachable("127.0.0.1", 6379):
        pytest.skip("bench/e2e.py runs Celery on the Redis at 127.0.0.1:6379, which does not answer")
    database = (urlsplit(_postgres_url()).path.lstrip("/") or "postgres") + "_e2e_smoke"
    out = tmp_path / "e2e.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "e2e.py"), "--smoke", "--database", database, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for table in ("burn-down", "hop", "scaling"):
        assert f"\n{table}\n" in done.stdout, done.stdout
    report = json.loads(out.read_text())
    assert report["sizes"] == "small"
    rows = {(row["scenario"], row["metric"]): row for row in report["rows"]}
    burn = rows[("burn-down", "tasks/s")]
    assert burn["value"] > 0 and burn["baseline"] > 0 and burn["ratio"] > 0  # ours and Celery's, same run
    hop = rows[("hop", "p50")]
    assert hop["value"] > 0 and hop["baseline"] > 0
    assert rows[("scaling", "ratio")]["value"] > 0
    assert "MISSED" not in done.stdout  # no targets in a smoke
