"""Plug-in nodes: Nodeworks custom-node files found in the ``--node-path`` folders.

A plug-in file is a Python module written for Nodeworks: a module-level ``NAME`` (the group, e.g.
``'my custom nodes'``), a ``returnNodes()`` function returning node classes, and classes with a
``name`` (the node), ``terminalOpts`` and ``process()`` reading and setting ``self.terminals[...]``.
A node class is reached at the path ``[NAME, cls.name]`` (``NAME`` may hold ``/`` for subgroups).

Every ``*.py`` file directly in each folder is a candidate. Files are (re)loaded when new or
changed, so a file dropped into a folder is picked up without restarting the runner. A file that
fails to import is skipped with a message on stderr, and its error is named if its path is wanted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback
from typing import Dict, List, Optional, Tuple

from nodeworks_runner.compat import ensure_nodeworks_importable

_files: Dict[str, Tuple[float, int]] = {}  # path -> (mtime, size) last loaded
_nodes_by_file: Dict[str, Dict[Tuple[str, ...], type]] = {}
_errors: Dict[str, str] = {}


def _scan(folders: List[str]) -> None:
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if not name.endswith(".py") or name.startswith((".", "_")):
                continue
            path = os.path.abspath(os.path.join(folder, name))
            try:
                stat = os.stat(path)
            except OSError:
                continue
            signature = (stat.st_mtime, stat.st_size)
            if _files.get(path) == signature:
                continue
            _files[path] = signature
            _load_file(path)


def _load_file(path: str) -> None:
    ensure_nodeworks_importable()
    module_name = "nodeworks_plugin_%s_%s" % (
        "".join(c if c.isalnum() else "_" for c in os.path.basename(path)[:-3]),
        hashlib.sha1(path.encode("utf-8"), usedforsecurity=False).hexdigest()[:8],  # a module name, not a secret
    )
    _nodes_by_file.pop(path, None)
    _errors.pop(path, None)
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError("cannot load %s" % path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        folder = os.path.dirname(path)
        added = folder not in sys.path
        if added:  # helpers beside the plug-in file import as in Nodeworks
            sys.path.insert(0, folder)
        try:
            spec.loader.exec_module(module)
        finally:
            if added:
                try:
                    sys.path.remove(folder)
                except ValueError:
                    pass
        group = getattr(module, "NAME", None)
        return_nodes = getattr(module, "returnNodes", None)
        if group is None or not callable(return_nodes):
            return  # a helper module, not a node file
        group_parts = tuple(part for part in str(group).split("/") if part) or (str(group),)
        found = {}
        for cls in return_nodes() or []:
            node_name = getattr(cls, "name", None) or getattr(cls, "__name__", "")
            found[group_parts + (str(node_name),)] = cls
        _nodes_by_file[path] = found
    except Exception:
        message = traceback.format_exc(limit=3).strip().splitlines()[-1]
        _errors[path] = "%s: %s" % (path, message)
        print("plug-in file %s failed to load: %s" % (path, message), file=sys.stderr)


def lookup(key: Tuple[str, ...], folders: List[str]):
    """The implementation of ``key`` from a plug-in file, or None."""
    if not folders:
        return None
    _scan(folders)
    wanted = {os.path.abspath(folder) for folder in folders}
    for path, nodes in _nodes_by_file.items():
        if os.path.dirname(path) in wanted and key in nodes:
            return class_runner(nodes[key])
    return None


def load_errors(folders: List[str]) -> List[str]:
    wanted = {os.path.abspath(folder) for folder in folders}
    return [message for path, message in sorted(_errors.items()) if os.path.dirname(path) in wanted]


def available(folders: List[str]) -> List[Tuple[str, ...]]:
    _scan(folders)
    wanted = {os.path.abspath(folder) for folder in folders}
    return sorted(key for path, nodes in _nodes_by_file.items() if os.path.dirname(path) in wanted for key in nodes)


def class_runner(cls):
    """Adapts a Nodeworks node class to the built-in node interface ``fn(ctx) -> outputs``."""

    def run(ctx) -> dict:
        instance = cls()
        terminals = instance.terminals
        _add_missing_terminals(instance, ctx)
        for name, value in ctx.inputs.items():
            terminals[name].value = value
        returned = instance.process()
        outputs: Dict[str, object] = {}
        wanted = set(ctx.output_terminals())
        for name, terminal in terminals.items():
            is_output = name in wanted or _opt(terminal, "out")
            if is_output and name not in ctx.inputs:
                outputs[name] = terminal.value
        if isinstance(returned, dict):
            outputs.update(returned)
        return outputs

    run.node_class = cls
    run.__doc__ = cls.__doc__
    return run


def _opt(terminal, key: str) -> bool:
    opts = getattr(terminal, "opts", None)
    if isinstance(opts, dict):
        return bool(opts.get(key))
    return False


def _add_missing_terminals(instance, ctx) -> None:
    """Terminals in the saved node but not in the class (an older/newer node version) still carry values."""
    terminals = instance.terminals
    for name, saved in ctx.terminals.items():
        if name in terminals:
            continue
        opts = dict((saved or {}).get("opts") or {})
        adder = getattr(instance, "addTerminal", None)
        if callable(adder):
            try:
                adder(name, **opts)
                continue
            except Exception:  # noqa: S110 (a real nodeworks that refuses these options: fall back below)
                pass
        from nodeworks import Terminal  # the compatibility module's, when the real one lacks it

        terminals[name] = Terminal(instance, name, opts)


def reset_cache() -> None:
    """For tests: forget loaded plug-in files."""
    _files.clear()
    _nodes_by_file.clear()
    _errors.clear()


def _debug_known(folders: Optional[List[str]] = None) -> List[str]:
    return ["/".join(key) for key in available(folders or [])]
