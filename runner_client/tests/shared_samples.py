"""The real MFIX Nodeworks sample files, which are not part of the repository.

They sit beside a clone as ``../shared/`` in CI (``nodeworks-samples/*.nc`` copied from public
repositories, ``nodeworks-example/worked_example.nc``); ``NODEWORKS_SHARED_DIR`` points elsewhere.
A test that reads one calls :func:`shared_file` (or :func:`shared_sample`): without the file it is
skipped with a message naming the missing path, and under ``CI=true`` it fails instead, so CI can
never go green by skipping them. Every other test uses the project's own files in ``runner_client/tests/fixtures``.

(A copy of the server's ``tests/shared_samples.py``: the runner package never imports the server.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

SHARED_DIR = Path(os.environ.get("NODEWORKS_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")
SAMPLE_NAMES = ("demo.nc", "demo1.nc", "demo2.nc", "node_ex.nc")
WORKED_EXAMPLE = "nodeworks-example/worked_example.nc"


def shared_file(relative: str) -> Path:
    """``SHARED_DIR / relative``, or skip (fail under CI=true) the calling test when it is missing."""
    path = SHARED_DIR / relative
    if not path.is_file():
        message = (
            f"needs the real Nodeworks sample {path}, which is not in the repository: "
            f"put the shared folder beside the clone (or set NODEWORKS_SHARED_DIR)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
    return path


def shared_sample_bytes(name: str) -> bytes:
    return shared_file(f"nodeworks-samples/{name}").read_bytes()


def shared_sample(name: str) -> dict:
    return json.loads(shared_sample_bytes(name))
