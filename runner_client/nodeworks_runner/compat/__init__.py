"""Makes ``import nodeworks`` work for custom-node files.

When the real Nodeworks package is importable it is used; otherwise this folder (which holds a
small ``nodeworks`` compatibility package) is put on ``sys.path``. Set
``NODEWORKS_RUNNER_COMPAT=1`` to always use the compatibility package.
"""

from __future__ import annotations

import importlib.util
import os
import sys

COMPAT_DIR = os.path.dirname(os.path.abspath(__file__))
_state = {"real": None}


def real_nodeworks_available() -> bool:
    if _state["real"] is None:
        _state["real"] = _find_real()
    return bool(_state["real"])


def _find_real() -> bool:
    if os.environ.get("NODEWORKS_RUNNER_COMPAT", "") not in ("", "0"):
        return False
    module = sys.modules.get("nodeworks")
    if module is not None:
        return not getattr(module, "NODEWORKS_RUNNER_COMPAT", False)
    try:
        spec = importlib.util.find_spec("nodeworks")
    except (ImportError, ValueError):
        spec = None
    if spec is None or (spec.origin or "").startswith(COMPAT_DIR):
        return False
    try:
        importlib.import_module("nodeworks")
    except Exception as exc:  # e.g. no Qt on a headless host
        print("the nodeworks package is installed but does not import (%s); using the compatibility module" % exc,
              file=sys.stderr)
        sys.modules.pop("nodeworks", None)
        return False
    return True


def ensure_nodeworks_importable() -> None:
    """After this, ``import nodeworks`` gives the real package or the compatibility one."""
    if real_nodeworks_available():
        return
    if COMPAT_DIR not in sys.path:
        sys.path.append(COMPAT_DIR)
