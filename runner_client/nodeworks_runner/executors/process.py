"""Helpers shared by executors that run the entry point as a child process (shell, container, ...)."""

from __future__ import annotations

import codecs
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List, Optional

from nodeworks_runner.executors.base import CANCELLED, FAILED, Handle, TaskResult
from nodeworks_runner.nodes.group_shell import (
    group_alive,
    kill_process_group,
    registered_process_groups,
)

ENTRY_MODULE = "nodeworks_runner.execute"
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # .../nodeworks_runner


def package_path_dir(state_dir) -> str:
    """A folder holding only a link to this package, for PYTHONPATH of other interpreters.

    (The package's own parent may be a whole site-packages, whose compiled modules would clash
    with another interpreter's.)
    """
    target = Path(state_dir) / "pythonpath"
    link = target / "nodeworks_runner"
    target.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        try:
            tmp = target / (".link-%d" % os.getpid())
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            os.symlink(str(PACKAGE_DIR), str(tmp))
            os.replace(str(tmp), str(link))
        except OSError:
            if not link.exists():
                shutil.copytree(str(PACKAGE_DIR), str(link), ignore=shutil.ignore_patterns("__pycache__"))
    return str(target)


def looks_like_path(environment: str) -> bool:
    return environment.startswith(("/", ".", "~")) or os.sep in environment


def interpreter_for_path(environment: str) -> str:
    """A Python interpreter path, or a virtualenv/conda prefix folder (its ``bin/python``)."""
    path = os.path.expanduser(environment)
    if os.path.isdir(path):
        for name in ("bin/python", "bin/python3", "python.exe"):
            candidate = os.path.join(path, name)
            if os.path.exists(candidate):
                return candidate
        raise ValueError("environment %r is a folder without bin/python" % environment)
    if not os.path.exists(path):
        raise ValueError("environment interpreter %r does not exist" % environment)
    return path


def entry_argv(config, environment: Optional[str]) -> List[str]:
    """The argv prefix that runs Python in the node's environment (before ``-m module ...``).

    No environment: the runner's configured interpreter. A path: that interpreter (or a folder's
    ``bin/python``). Otherwise a conda environment name: ``conda run --no-capture-output -n ENV python``.
    """
    environment = (environment or "").strip()
    if not environment:
        return [config.python]
    if looks_like_path(environment):
        return [interpreter_for_path(environment)]
    return [config.conda_command, "run", "--no-capture-output", "-n", environment, "python"]


_conda_cache = {}


def resolve_interpreter(config, environment: Optional[str]) -> str:
    """One interpreter path for the environment (conda names are resolved once by asking conda)."""
    environment = (environment or "").strip()
    if not environment:
        return config.python
    if looks_like_path(environment):
        return interpreter_for_path(environment)
    key = (config.conda_command, environment)
    if key not in _conda_cache:
        argv = entry_argv(config, environment) + ["-c", "import sys; print(sys.executable)"]
        try:
            out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ValueError("cannot find the Python of conda environment %r: %s" % (environment, exc)) from None
        _conda_cache[key] = out.stdout.decode().strip().splitlines()[-1]
    return _conda_cache[key]


def child_environment(config, task: dict, interpreter_is_ours: bool) -> dict:
    """The environment of a node process: ours, plus the node's plain ``env`` settings."""
    # Node code is the workflow author's, not the runner's: it must never see the runner's credentials.
    env = {key: value for key, value in os.environ.items() if key != "NODEWORKS_RUNNER_TOKEN"}
    requirements = task.get("requirements") or {}
    for key, value in (requirements.get("env") or {}).items():
        env[str(key)] = "" if value is None else str(value)
    env["PYTHONUNBUFFERED"] = "1"
    env["NODEWORKS_CANCEL_GRACE_S"] = str(config.cancel_grace_s)
    env["NODEWORKS_TASK_ID"] = str(task.get("task_id", ""))
    env["NODEWORKS_RUN_ID"] = str(task.get("run_id", ""))
    if not interpreter_is_ours:
        extra = package_path_dir(config.state_dir)
        env["PYTHONPATH"] = extra + ((os.pathsep + env["PYTHONPATH"]) if env.get("PYTHONPATH") else "")
    return env


def write_task_file(config, task: dict, workdir: Path) -> Path:
    """task.json for the entry point: the lease payload plus node_path, runner_name, workdir, inline_limit."""
    data = dict(task)
    data["node_path"] = [os.path.abspath(p) for p in config.node_path]
    data["runner_name"] = config.name
    data["workdir"] = str(workdir)
    data["inline_limit"] = config.inline_limit_bytes
    path = Path(workdir) / "task.json"
    tmp = path.with_suffix(".json.tmp")
    with open(str(tmp), "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(str(tmp), str(path))
    return path


class LogFileReader:
    """Reads new text from a growing log file, never splitting a UTF-8 character."""

    def __init__(self, path):
        self.path = str(path)
        self.offset = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def read(self, final: bool = False) -> str:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read(4 * 1024 * 1024)
        except OSError:
            data = b""
        self.offset += len(data)
        return self.decoder.decode(data, final=final)


class ProcessHandle(Handle):
    """A task run by one child process in its own process group, writing result.json and a log file."""

    def __init__(self, process: subprocess.Popen, workdir: Path, *, log_path: Path, result_path: Path,
                 label: str = "node process"):
        self.process = process
        self.workdir = Path(workdir)
        self.result_path = Path(result_path)
        self.log = LogFileReader(log_path)
        self.label = label
        self.cancelled = False
        self._result: Optional[TaskResult] = None
        self._killer: Optional[threading.Thread] = None

    def poll(self) -> Optional[TaskResult]:
        if self._result is not None:
            return self._result
        code = self.process.poll()
        if code is None:
            return None
        if self.cancelled:
            self._result = TaskResult(CANCELLED, {}, "cancelled", [])
        else:
            self._result = TaskResult.read(
                self.result_path,
                missing_error="%s exited with %s and wrote no result" % (self.label, describe_exit(code)),
            )
            if code != 0 and self._result.state != FAILED and not self.result_path.exists():
                self._result = TaskResult(FAILED, {}, "%s exited with %s" % (self.label, describe_exit(code)))
        self._reap_children()
        return self._result

    def read_log(self) -> str:
        return self.log.read(final=self._result is not None)

    def info(self) -> dict:
        return {"pid": self.process.pid}

    def cancel(self, grace_s: float) -> None:
        if self.cancelled or self._result is not None:
            return
        self.cancelled = True
        pgid = self.process.pid  # started with start_new_session: its pid is its group
        kill_process_group(pgid, signal.SIGTERM)
        for child in registered_process_groups(self.workdir):
            kill_process_group(child, signal.SIGTERM)
        self._killer = threading.Thread(target=self._escalate, args=(pgid, grace_s), daemon=True)
        self._killer.start()

    def _escalate(self, pgid: int, grace_s: float) -> None:
        deadline = time.monotonic() + max(0.0, grace_s)
        while time.monotonic() < deadline:
            groups = [pgid] + registered_process_groups(self.workdir)
            if not any(group_alive(g) for g in groups):
                return
            time.sleep(0.05)
        for group in [pgid] + registered_process_groups(self.workdir):
            kill_process_group(group, signal.SIGKILL)

    def _reap_children(self) -> None:
        """Child process groups the node registered die with the task (a cancelled one is escalating)."""
        if self.cancelled:
            return
        for child in registered_process_groups(self.workdir):
            if group_alive(child):
                kill_process_group(child, signal.SIGKILL)


def describe_exit(code: int) -> str:
    if code is None:
        return "no status"
    if code < 0:
        try:
            return "signal %s" % signal.Signals(-code).name
        except ValueError:
            return "signal %d" % -code
    return "status %d" % code


def python_is_ours(interpreter: str) -> bool:
    """The very interpreter running the runner (a virtualenv's python links to another, with other paths)."""
    return os.path.abspath(interpreter) == os.path.abspath(sys.executable)
