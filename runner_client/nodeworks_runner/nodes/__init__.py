"""The runner's node library: node implementations looked up by the node's ``path``.

Resolution order for a path ``[group, name]``:

1. plug-in files in the ``--node-path`` folders (Nodeworks custom-node modules: ``NAME``,
   ``returnNodes()``, ``Node`` subclasses), so a site may override anything;
2. the built-in groups: ``types``, ``math``, ``numpy``, ``matplotlib``, ``shell``;
3. the real ``nodeworks`` package's own library, when it is importable (best effort, untested here).

An unknown path raises :class:`UnknownNode`, whose message names the path and the runner.

A built-in node is a function ``fn(ctx: NodeContext) -> dict`` of output values, registered with
``@builtin("group", "Name")``; its docstring is its documented rule.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from nodeworks_runner.values import ArtifactFile, cast_dtype

NodeFn = Callable[["NodeContext"], dict]

_BUILTINS: Dict[Tuple[str, ...], NodeFn] = {}
_GROUP_MODULES = (
    "nodeworks_runner.nodes.group_types",
    "nodeworks_runner.nodes.group_math",
    "nodeworks_runner.nodes.group_numpy",
    "nodeworks_runner.nodes.group_matplotlib",
    "nodeworks_runner.nodes.group_shell",
)
_loaded = False


class UnknownNode(LookupError):
    pass


class NodeFailure(Exception):
    """A node's own, expected failure (bad input and the like): reported without a traceback.

    ``outputs`` (optional) are still reported with the failed result.
    """

    def __init__(self, message: str, outputs: Optional[dict] = None):
        super().__init__(message)
        self.outputs = outputs or {}


def builtin(group: str, name: str) -> Callable[[NodeFn], NodeFn]:
    def register(fn: NodeFn) -> NodeFn:
        _BUILTINS[(group, name)] = fn
        fn.node_path = (group, name)
        return fn

    return register


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    import importlib

    for module in _GROUP_MODULES:
        importlib.import_module(module)
    _loaded = True


def builtin_paths() -> List[Tuple[str, ...]]:
    _load_builtins()
    return sorted(_BUILTINS)


class NodeContext:
    """What a node implementation sees: its node object, decoded inputs, a work directory, artifacts."""

    def __init__(self, node: dict, inputs: dict, workdir: Path, *, env: Optional[dict] = None,
                 runner_name: str = ""):
        self.node = node
        self.inputs = inputs
        self.workdir = Path(workdir)
        self.env = dict(env or {})
        self.runner_name = runner_name
        self.artifacts: List[Tuple[str, str]] = []

    @property
    def terminals(self) -> dict:
        return self.node.get("terminals") or {}

    @property
    def name(self) -> str:
        return str(self.node.get("name") or self.node.get("uniquename") or "")

    def opts(self, terminal: str) -> dict:
        return (self.terminals.get(terminal) or {}).get("opts") or {}

    def dtype(self, terminal: str) -> Optional[str]:
        return self.opts(terminal).get("dtype")

    def input(self, terminal: str, default=None):
        """The input's value cast to its terminal dtype (only plain scalars and strings are cast)."""
        value = self.inputs.get(terminal, default)
        if isinstance(value, (str, int, float, bool)):
            return cast_dtype(value, self.dtype(terminal))
        return value

    def output_terminals(self) -> List[str]:
        return [name for name, term in self.terminals.items() if (term.get("opts") or {}).get("out")]

    def input_terminals(self) -> List[str]:
        return [name for name, term in self.terminals.items() if (term.get("opts") or {}).get("in")]

    def add_artifact(self, path, name: str = "", kind: str = "file") -> ArtifactFile:
        """Registers a file to upload as an artifact; the returned object may be used as an output value."""
        path = str(Path(path).resolve())
        name = name or os.path.basename(path)
        self.artifacts.append((name, path))
        return ArtifactFile(id=None, path=path, name=name, kind=kind)

    def log(self, *parts) -> None:
        print(*parts, flush=True)


# ------------------------------------------------------------------ resolution


def resolve(path, *, node_path: Optional[List[str]] = None, runner_name: str = "") -> NodeFn:
    """The implementation of ``path``; raises :class:`UnknownNode` naming the path and the runner."""
    key = tuple(str(part) for part in (path or []))
    from nodeworks_runner.nodes import plugins

    found = plugins.lookup(key, node_path or [])
    if found is not None:
        return found
    _load_builtins()
    if key in _BUILTINS:
        return _BUILTINS[key]
    real = _real_nodeworks_lookup(key)
    if real is not None:
        return real
    shown = "/".join(key) if key else "(empty path)"
    where = ", ".join(node_path or []) or "none given (--node-path)"
    problems = plugins.load_errors(node_path or [])
    detail = ("; plug-in files that failed to load: " + "; ".join(problems)) if problems else ""
    raise UnknownNode(
        "unknown node %r: runner %r has no node at path %s (built-in groups: %s; plug-in folders: %s)%s"
        % (shown, runner_name or "(unnamed)", list(key), ", ".join(sorted({g for g, _ in _BUILTINS})), where, detail)
    )


_REAL_LIBRARY = None


def _real_nodeworks_lookup(key: Tuple[str, ...]) -> Optional[NodeFn]:
    """Best effort: the real Nodeworks node library, when the real package is importable.

    Untested here (nodeworks is not on PyPI). Looks for a ``NodeLibrary`` with
    ``buildDefaultLibrary()`` and a nested ``nodetree`` dict keyed by the path parts.
    """
    global _REAL_LIBRARY
    from nodeworks_runner.compat import real_nodeworks_available

    if not real_nodeworks_available():
        return None
    try:
        if _REAL_LIBRARY is None:
            from nodeworks.nodelibrary import NodeLibrary  # type: ignore

            library = NodeLibrary()
            library.buildDefaultLibrary()
            _REAL_LIBRARY = library
        tree = getattr(_REAL_LIBRARY, "nodetree", None)
        for part in key:
            tree = tree[part] if isinstance(tree, dict) else None
        if isinstance(tree, type):
            from nodeworks_runner.nodes.plugins import class_runner

            return class_runner(tree)
    except Exception as exc:  # pragma: no cover - depends on the real package
        print("nodeworks library lookup failed: %s" % exc, file=sys.stderr)
    return None
