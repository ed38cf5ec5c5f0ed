"""Executors by name. ``container`` and ``slurm`` are imported lazily (only when a runner offers them)."""

from __future__ import annotations

import importlib
from typing import Dict

# name -> "module:Class"
REGISTRY: Dict[str, str] = {
    "local": "nodeworks_runner.executors.local:LocalExecutor",
    "shell": "nodeworks_runner.executors.shell:ShellExecutor",
    "container": "nodeworks_runner.executors.container:ContainerExecutor",
    "slurm": "nodeworks_runner.executors.slurm:SlurmExecutor",
}

KNOWN = tuple(REGISTRY)


def executor_class(name: str):
    """The executor class registered under ``name``; ValueError for an unknown or unavailable one."""
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ValueError("unknown executor %r (known: %s)" % (name, ", ".join(sorted(REGISTRY)))) from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError("executor %r is not available: %s" % (name, exc)) from None
    return getattr(module, class_name)


def create_executor(name: str, config):
    return executor_class(name)(config)
