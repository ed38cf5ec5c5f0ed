"""The ``local`` executor: a warm pool of worker processes, started once and reused.

Each worker (``nodeworks_runner.executors.local_worker``) is a long-lived interpreter in its own
process group that runs one task at a time in-process, so a small node costs a pipe round trip,
not an interpreter start. Workers are keyed by interpreter: a node whose
``requirements.environment`` names another Python (or a conda environment, resolved once to its
interpreter) gets workers of that interpreter. A worker that dies (a crash, ``os._exit``, the OOM
killer) fails its task with a message and is replaced. Cancel sends SIGTERM to the worker, which
raises ``TaskCancelled`` inside the node and stops the commands it started; if the worker has not
answered after the grace period it is killed with its commands' process groups and replaced.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import signal
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

from nodeworks_runner.executors.base import CANCELLED, FAILED, Executor, Handle, TaskResult
from nodeworks_runner.executors.parent_death import dies_with_this_process
from nodeworks_runner.executors.process import (
    LogFileReader,
    child_environment,
    describe_exit,
    python_is_ours,
    resolve_interpreter,
)
from nodeworks_runner.nodes.group_shell import group_alive, kill_process_group, registered_process_groups


class Worker:
    def __init__(self, interpreter: str, env: dict):
        self.interpreter = interpreter
        self.process = subprocess.Popen(
            [interpreter, "-m", "nodeworks_runner.executors.local_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # between tasks, worker complaints go to the runner's stderr
            env=env,
            start_new_session=True,
            close_fds=True,
            preexec_fn=dies_with_this_process(signal.SIGTERM),  # a killed runner cancels its task (parent_death.py)
        )
        self.pid = self.process.pid
        self.handle: Optional["LocalHandle"] = None
        self.ready = threading.Event()
        self.dead = False
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, name="local-worker-%d" % self.pid, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        stream = self.process.stdout
        for raw in iter(stream.readline, b""):
            try:
                message = json.loads(raw.decode("utf-8"))
            except ValueError:
                continue
            if message.get("ready"):
                self.ready.set()
                continue
            with self.lock:
                handle, self.handle = self.handle, None
            if handle is not None:
                handle._finish(TaskResult.from_json(message.get("result") or {}))
        code = self.process.wait()
        with self.lock:
            self.dead = True
            handle, self.handle = self.handle, None
        self.ready.set()
        if handle is not None:
            if handle.cancelled:
                handle._finish(TaskResult(CANCELLED, {}, "cancelled", []))
            else:
                handle._finish(TaskResult(
                    FAILED, {}, "the local worker process %d died (%s) while running the task; it was replaced"
                    % (self.pid, describe_exit(code)), []))

    @property
    def busy(self) -> bool:
        return self.handle is not None

    def submit(self, handle: "LocalHandle", request: dict) -> None:
        with self.lock:
            if self.dead:
                raise OSError("worker %d is dead" % self.pid)
            self.handle = handle
        data = (json.dumps(request) + "\n").encode("utf-8")
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except (OSError, ValueError):
            with self.lock:
                self.handle = None
            raise

    def stop(self, timeout: float = 2.0) -> None:
        try:
            self.process.stdin.close()
        except (OSError, ValueError):
            pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_process_group(self.pid, signal.SIGKILL)
            self.process.wait()


def _nothing() -> None:
    pass


class LocalHandle(Handle):
    def __init__(self, pool: "LocalExecutor", worker: Worker, workdir: pathlib.Path, log_path: pathlib.Path):
        self.pool = pool
        self.worker = worker
        self.workdir = pathlib.Path(workdir)
        self.log = LogFileReader(log_path)
        self.cancelled = False
        self._done = threading.Event()
        self._result: Optional[TaskResult] = None

    def _finish(self, result: TaskResult) -> None:
        if self.cancelled and result.state != CANCELLED:
            result = TaskResult(CANCELLED, {}, "cancelled", [])
        self._result = result
        self.finished_at = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.ended_monotonic = time.monotonic()
        self._done.set()
        getattr(self.pool, "on_finished", _nothing)()

    def poll(self) -> Optional[TaskResult]:
        return self._result if self._done.is_set() else None

    def wait(self, timeout: Optional[float] = None) -> Optional[TaskResult]:
        self._done.wait(timeout)
        return self.poll()

    def read_log(self) -> str:
        return self.log.read(final=self._done.is_set())

    def info(self) -> dict:
        return {"pid": self.worker.pid}

    def cancel(self, grace_s: float) -> None:
        if self.cancelled or self._done.is_set():
            return
        self.cancelled = True
        kill_process_group(self.worker.pid, signal.SIGTERM)
        threading.Thread(target=self._escalate, args=(grace_s,), daemon=True).start()

    def _escalate(self, grace_s: float) -> None:
        if self._done.wait(max(0.0, grace_s)):
            # The worker answered; commands the node started in their own groups die too.
            for group in registered_process_groups(self.workdir):
                if group_alive(group):
                    kill_process_group(group, signal.SIGKILL)
            return
        for group in [self.worker.pid] + registered_process_groups(self.workdir):
            kill_process_group(group, signal.SIGKILL)


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, config):
        super().__init__(config)
        self.size = max(1, int(config.concurrency))
        self.workers: Dict[str, List[Worker]] = {}
        self.lock = threading.Lock()
        self.closed = False
        # Warm: the default interpreter's workers start now, not with the first task.
        for _ in range(self.size):
            self._spawn(self.config.python)

    def _spawn(self, interpreter: str) -> Worker:
        env = child_environment(self.config, {}, python_is_ours(interpreter))
        worker = Worker(interpreter, env)
        self.workers.setdefault(interpreter, []).append(worker)
        return worker

    def _take(self, interpreter: str) -> Worker:
        with self.lock:
            workers = self.workers.setdefault(interpreter, [])
            workers[:] = [w for w in workers if not w.dead]
            for worker in workers:
                if not worker.busy and not worker.dead:
                    return worker
            # All busy (or dying after a cancel): one more; the loop bounds concurrency.
            worker = self._spawn(interpreter)
            while len(self.workers[interpreter]) > self.size + 2:
                idle = [w for w in self.workers[interpreter] if not w.busy and w is not worker]
                if not idle:
                    break
                idle[0].stop(timeout=0.5)
                self.workers[interpreter].remove(idle[0])
            return worker

    def start(self, task: dict, workdir: pathlib.Path) -> Handle:
        if self.closed:
            raise RuntimeError("the local executor is closed")
        workdir = pathlib.Path(workdir)
        interpreter = resolve_interpreter(self.config, (task.get("requirements") or {}).get("environment"))
        log_path = workdir / "log.txt"
        request_task = dict(task)
        request_task["node_path"] = [str(pathlib.Path(p).resolve()) for p in self.config.node_path]
        request_task["runner_name"] = self.config.name
        request_task["workdir"] = str(workdir)
        request_task["inline_limit"] = self.config.inline_limit_bytes
        request = {"task": request_task, "workdir": str(workdir), "log": str(log_path)}
        for _attempt in range(3):
            worker = self._take(interpreter)
            handle = LocalHandle(self, worker, workdir, log_path)
            handle.task = task
            try:
                worker.submit(handle, request)
                return handle
            except OSError:
                continue  # the worker died just now: the next one
        raise RuntimeError("no local worker could take the task")

    def worker_pids(self) -> List[int]:
        return [w.pid for ws in self.workers.values() for w in ws if not w.dead]

    def wait_ready(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        for workers in list(self.workers.values()):
            for worker in workers:
                if not worker.ready.wait(max(0.0, deadline - time.monotonic())):
                    return False
        return True

    def close(self) -> None:
        self.closed = True
        with self.lock:
            workers = [w for ws in self.workers.values() for w in ws]
            self.workers = {}
        for worker in workers:
            if worker.busy:
                kill_process_group(worker.pid, signal.SIGKILL)
            worker.stop(timeout=2.0)


def _self_test() -> None:  # pragma: no cover - manual check: python -m nodeworks_runner.executors.local
    from nodeworks_runner.config import RunnerConfig

    pool = LocalExecutor(RunnerConfig(concurrency=1))
    pool.wait_ready()
    print("workers:", pool.worker_pids(), file=sys.stderr)
    pool.close()


if __name__ == "__main__":  # pragma: no cover
    _self_test()
