"""The README's walkthrough, word for word, against a fresh ./run.sh: the README cannot drift from the code.

Starts ``./run.sh`` itself (SQLite in a temporary data directory, a free port), waits for its
"ready" line, then runs ``scripts/readme-walkthrough.sh``, which executes the README's marked bash
blocks exactly as written (only the address differs), as a user who has just signed up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def run_sh(tmp_path):
    """./run.sh on a free port with its own data directory; stopped (every process group) at the end."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("run.sh is tested on SQLite (the SQLite pass of ./test.sh runs this test)")
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("NODEWORKS_")}
    env.pop("DATABASE_URL", None)
    env.update(PORT=str(port), NODEWORKS_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["./run.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while "==> ready" not in log_path.read_text(errors="replace"):
            assert process.poll() is None, "run.sh exited:\n" + log_path.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, "run.sh not ready:\n" + log_path.read_text(errors="replace")[-4000:]
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", log_path
    finally:
        # run.sh's trap stops its children (each in its own process group), then it exits.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_readme_walkthrough_runs_word_for_word(run_sh, tmp_path):
    url, log_path = run_sh
    ready = log_path.read_text()
    assert f"{url}/admin/" in ready and "admin-password.txt" in ready and f"{url}/api/v1/docs" in ready
    # The walkthrough writes files where it runs: a scratch folder with the repository's examples and .venv.
    work = tmp_path / "work"
    work.mkdir()
    for name in ("examples", ".venv"):
        (work / name).symlink_to(ROOT / name)
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    env = {key: value for key, value in env.items() if not key.startswith("NODEWORKS_RUNNER_")}
    done = subprocess.run([str(ROOT / "scripts" / "readme-walkthrough.sh"), url], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "{'result': 13.0}" in output, output  # 2**2 + 2**3 + 2/2 with the override x.float = 2
    assert "with the outputs of run" in output  # the second revision is in the history
    assert (work / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ada-laptop" in output and "[1.0, 3.0, 7.0, 15.0, 31.0, 63.0, 127.0, 255.0]" in output, output
    assert '"name":"sweep as JSON"' in output, output
