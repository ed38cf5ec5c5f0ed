"""The node library this runner offers, reported to the server (``POST /api/v1/runners/library``).

The server keeps it per runner: publish warns about node paths none of the user's runners offers,
and the web app's palette lists what can actually run (``GET /api/v1/nodes/library``). The library
is every path :func:`nodeworks_runner.nodes.resolve` would find: the plug-in files of ``--node-path``
(which win over a built-in of the same path, as in resolution) and the built-in groups, each with its
terminals (name, dtype, in, out, multiinput).

Built-in nodes are plain functions that read whatever terminals the saved node has, so their
terminals are listed here, as the Nodeworks desktop application saves those nodes (the samples'
``opts``). A plug-in's come from its class: an instance's ``terminals`` (built from ``terminalOpts``).

Reported at start, then again whenever the library changes (a plug-in file dropped into a folder is
picked up without a restart), from a thread with its own HTTP client. A server that does not know
the call (404/405: older than the library) is not asked again; nothing else depends on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import Dict, List, Optional, Tuple

from nodeworks_runner.http import Backoff, Client, ClientError, Unreachable
from nodeworks_runner.nodes import _BUILTINS, builtin_paths, plugins

log = logging.getLogger("nodeworks_runner")

LIBRARY_PATH = "/api/v1/runners/library"
RECHECK_S = 60.0  # how often the plug-in folders are looked at again for a changed library

FLOAT, INT, STR, ARRAY, BOOL = ("<class 'float'>", "<class 'int'>", "<class 'str'>", "<class 'numpy.ndarray'>",
                                "<class 'bool'>")

# (name, dtype, in, out, multiinput), in the order Nodeworks shows them.
Terminal = Tuple[str, str, bool, bool, bool]


def _inputs(*names: str, dtype: str = FLOAT, multi: bool = False) -> List[Terminal]:
    return [(name, dtype, True, False, multi) for name in names]


def _output(name: str, dtype: str) -> Terminal:
    return (name, dtype, False, True, False)


BUILTIN_TERMINALS: Dict[Tuple[str, str], List[Terminal]] = {
    ("math", "Add"): _inputs("input", multi=True) + [_output("result", FLOAT)],
    ("math", "Sum"): _inputs("input", multi=True) + [_output("result", FLOAT)],
    ("math", "Multiply"): _inputs("input", multi=True) + [_output("result", FLOAT)],
    ("math", "Power"): _inputs("base", "exponent", multi=True) + [_output("result", FLOAT)],
    ("math", "Subtract"): _inputs("minuend", "subtrahend", multi=True) + [_output("result", FLOAT)],
    ("math", "Divide"): _inputs("dividend", "divisor", multi=True) + [_output("result", FLOAT)],
    ("math", "Root"): _inputs("radicand", "degree") + [_output("result", FLOAT)],
    ("matplotlib", "Plot"): _inputs("x", "y", dtype=ARRAY, multi=True),
    ("numpy", "Range"): _inputs("start", "stop", "step") + _inputs("type", dtype=STR) + [_output("range", ARRAY)],
    ("numpy", "Trig"): _inputs("input", dtype=ARRAY) + _inputs("operation", dtype=STR) + [_output("array", ARRAY)],
    ("shell", "Command"): _inputs("command", dtype=STR) + [_output("stdout", STR), _output("stderr", STR),
                                                           _output("returncode", INT)],
    ("types", "Float"): [_output("float", FLOAT)],
    ("types", "Integer"): [_output("int", INT)],
    ("types", "String"): [_output("string", STR)],
    ("types", "Boolean"): [_output("bool", BOOL)],
}


def _terminal(name: str, dtype, is_in, is_out, multi) -> dict:
    return {"name": str(name), "dtype": _dtype_text(dtype), "in": bool(is_in), "out": bool(is_out),
            "multiinput": bool(multi)}


def _dtype_text(dtype) -> str:
    """As Nodeworks saves it: ``str(type)`` ("<class 'float'>"), "None" for none."""
    if dtype is None:
        return "None"
    return dtype if isinstance(dtype, str) else str(dtype)


def _doc(obj) -> str:
    text = (getattr(obj, "__doc__", None) or "").strip()
    return text.splitlines()[0][:300] if text else ""


def builtin_library() -> List[dict]:
    """The built-in groups, each node with its terminals."""
    nodes = []
    for path in builtin_paths():
        terminals = BUILTIN_TERMINALS.get(path, [])
        nodes.append({"path": list(path), "source": "builtin", "doc": _doc(_BUILTINS[path]),
                      "terminals": [_terminal(*terminal) for terminal in terminals]})
    return nodes


def _plugin_terminals(cls) -> List[dict]:
    try:
        terminals = cls().terminals
        items = [(name, getattr(t, "opts", None) or {}) for name, t in terminals.items()]
    except Exception:  # a class that cannot be built without Nodeworks' GUI: its declared options
        declared = getattr(cls, "terminalOpts", None)
        items = list(declared.items()) if isinstance(declared, dict) else []
    return [_terminal(name, opts.get("dtype"), opts.get("in"), opts.get("out"), opts.get("multiinput"))
            for name, opts in items if isinstance(opts, dict)]


def plugin_library(folders: List[str]) -> List[dict]:
    nodes = []
    for path in plugins.available(folders):
        found = plugins.lookup(path, folders)
        cls = getattr(found, "node_class", None)
        if cls is None:
            continue
        nodes.append({"path": list(path), "source": "plugin", "doc": _doc(cls), "terminals": _plugin_terminals(cls)})
    return nodes


def build_library(folders: Optional[List[str]] = None) -> dict:
    """``{"nodes": [...]}``: plug-ins first (they win over a built-in of the same path), then built-ins."""
    nodes, seen = [], set()
    for node in plugin_library(list(folders or [])) + builtin_library():
        key = tuple(node["path"])
        if key not in seen:
            seen.add(key)
            nodes.append(node)
    return {"nodes": nodes}


def library_digest(library: dict) -> str:
    return hashlib.sha256(json.dumps(library, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


class LibraryReporter(threading.Thread):
    """Sends the library at start and whenever it changes; gives up quietly on a server without the call."""

    def __init__(self, client: Client, folders: List[str], *, recheck_s: float = RECHECK_S, retry_max_s: float = 60.0,
                 stopped: Optional[threading.Event] = None):
        super().__init__(name="nodeworks-library", daemon=True)
        self.client = client  # its own: never shared with the loop's calls
        self.folders = list(folders or [])
        self.recheck_s = recheck_s
        self.backoff = Backoff(retry_max_s)
        self.sent_digest = ""
        self.stopped = stopped or threading.Event()  # the runner's: set when it stops

    def run(self) -> None:
        while not self.stopped.is_set():
            if not self.report_if_changed():
                return
            pause = self.recheck_s if not self.backoff.failures else max(0.0, self.backoff.next_at - time.monotonic())
            self.stopped.wait(pause)

    def stop(self) -> None:
        self.stopped.set()

    def report_if_changed(self) -> bool:
        """False: the server does not take libraries, stop asking."""
        try:
            library = build_library(self.folders)
        except Exception as exc:  # a broken plug-in folder must not stop the runner
            log.warning("the node library could not be built: %s", exc)
            return True
        digest = library_digest(library)
        if digest == self.sent_digest:
            return True
        try:
            self.client.post(LIBRARY_PATH, library, resend_safe=True)  # the same library again: "changed": false
        except Unreachable as exc:
            if not self.backoff.failures:
                log.info("node library not reported yet (%s); trying again", exc)
            self.backoff.failed()
            return True
        except ClientError as exc:
            if exc.status in (404, 405):
                log.info("this server does not take node libraries (%s): not reported", exc)
                return False
            log.warning("node library refused (%s); it is sent again only when it changes", exc)
        self.backoff.succeeded()
        self.sent_digest = digest
        log.info("node library reported: %d node paths", len(library["nodes"]))
        return True


def start_reporting(client: Client, folders: List[str], *, stopped: Optional[threading.Event] = None) -> LibraryReporter:
    """Starts the reporter thread; it ends when ``stopped`` is set (the runner's heartbeats' event)."""
    reporter = LibraryReporter(client, folders, stopped=stopped)
    reporter.start()
    return reporter
