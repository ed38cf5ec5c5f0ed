"""A warm worker of the local executor: runs tasks one after another in the same process.

Started by the pool as ``python -m nodeworks_runner.executors.local_worker``. Reads one JSON request
per line on stdin (``{"task": ..., "workdir": ..., "log": ...}``) and answers one JSON line
(``{"pid": ..., "result": {...}}``) on the stdout it started with. While a task runs, file
descriptors 1 and 2 point at the task's log file, so everything the node prints (also from C code
and child processes) is its log. SIGTERM during a task cancels it (``TaskCancelled`` is raised in
the node); between tasks SIGTERM is ignored. EOF on stdin ends the worker.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def _apply_env(changes: dict) -> dict:
    saved = {}
    for key, value in changes.items():
        saved[key] = os.environ.get(key)
        os.environ[key] = "" if value is None else str(value)
    return saved


def _restore_env(saved: dict) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def main() -> int:
    control = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    quiet = os.open(os.devnull, os.O_WRONLY)
    idle_err = os.dup(2)
    os.dup2(quiet, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides when tasks stop

    from nodeworks_runner.execute import TaskCancelled, arm_cancel, install_cancel_handler, run_task
    from nodeworks_runner.executors.base import CANCELLED, TaskResult
    from nodeworks_runner.nodes import builtin_paths

    install_cancel_handler()  # SIGTERM cancels the running node; between tasks it is ignored
    builtin_paths()  # warm: the node library is imported before the first task
    try:
        import numpy  # noqa: F401  (warm: the common heavy import)
    except ImportError:
        pass
    control.write(json.dumps({"pid": os.getpid(), "ready": True}) + "\n")

    home = os.getcwd()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        task = request["task"]
        workdir = request["workdir"]
        log_fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        saved_env = _apply_env((task.get("requirements") or {}).get("env") or {})
        try:
            os.chdir(workdir)
            arm_cancel(True)
            try:
                result = run_task(task, workdir)
            finally:
                arm_cancel(False)
        except TaskCancelled as exc:
            result = TaskResult(CANCELLED, {}, str(exc), [])
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(quiet, 1)
            os.dup2(idle_err, 2)
            os.chdir(home)
            _restore_env(saved_env)
        try:
            answer = json.dumps({"pid": os.getpid(), "result": result.to_json()}, allow_nan=False)
        except (TypeError, ValueError) as exc:
            answer = json.dumps({"pid": os.getpid(), "result": {
                "state": "failed", "outputs": {}, "error": "outputs are not JSON: %s" % exc, "artifacts": []}})
        control.write(answer + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
