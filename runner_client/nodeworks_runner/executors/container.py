"""The ``container`` executor: a task runs inside a container, through the ``docker`` or ``podman`` command line.

What runs in the container:

* a ``["shell", "Command"]`` node runs its ``command`` directly in the image (an argument list as
  is, a string through ``/bin/sh -c``): no Python is needed in the image. Its outputs are the
  container's ``stdout``, ``stderr`` and ``returncode``, with the shell node's rules (a non-zero
  status fails the task unless the input ``check`` is false; outputs are kept up to 1 MB each).
* any other node runs the node-execution entry point (``python -m nodeworks_runner.execute``)
  inside the container, with this package mounted read-only. The interpreter is, in this order:
  the node's ``requirements.environment`` (an interpreter path *inside the image*, or a conda
  environment name run as ``conda run -n ENV python``), the runner setting ``container_python``
  (an interpreter inside the image, e.g. ``python3``), else the runner's own interpreter mounted
  read-only at the same paths, with the host's library folders (``/lib``, ``/lib64``, ...) —
  best effort, meant for minimal images that have no Python (nor their own ``/lib``) at all.

The image is the node's ``requirements.image``, else the runner's ``container_image_default``.
The network is the runner's ``container_network`` (default ``none``); nothing in a workflow can
change it. The task's work directory is mounted read-write at its own path and is the working
directory, so paths in task.json/result.json mean the same inside and outside. Only the node's
``requirements.env`` settings (plus a few ``NODEWORKS_*``/``PYTHON*`` variables) enter the
container: the runner's own environment (and its token) never does. ``cpus``/``memory_mb`` become
``--cpus``/``--memory``, ``gpus`` ``--gpus`` (docker) or ``--device nvidia.com/gpu=all`` (podman),
``walltime_s`` a time limit enforced by the runner.

The container is named after the lease id (``nodeworks-<lease id>``); cancel runs
``<command> stop -t <grace> <name>`` and kills the client (and removes the container) if it is
still there some seconds later. The log is the container's stdout and stderr (``log.txt``).

Every command line is an argument list: workflow data (image, env values, the command) is never
pasted into a shell string.

Runner settings read here (``RunnerConfig``): ``container_command``, ``container_global_args``,
``container_image_default``, ``container_network``, ``cancel_grace_s``, ``state_dir``, ``python``,
and optionally ``container_python``, ``container_user``, ``container_extra_args``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from nodeworks_runner.executors.base import CANCELLED, FAILED, SUCCEEDED, Executor, Handle, TaskResult
from nodeworks_runner.executors.parent_death import dies_with_this_process
from nodeworks_runner.executors.process import (
    ENTRY_MODULE,
    PACKAGE_DIR,
    LogFileReader,
    describe_exit,
    looks_like_path,
    python_is_ours,
    write_task_file,
)

try:
    from nodeworks_runner.nodes.group_shell import OUTPUT_LIMIT
except ImportError:  # pragma: no cover
    OUTPUT_LIMIT = 1024 * 1024

COMMAND_PATH = ("shell", "Command")
ENGINE_ERROR = 125  # docker/podman: the engine itself failed (bad image, bad flag, ...)
IN_CONTAINER_PACKAGE_ROOT = "/opt/nodeworks-runner"
STOP_EXTRA_S = 15.0  # after `stop -t grace`, how long before the client is killed and the container removed
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class ContainerTaskError(ValueError):
    """A task that cannot run in a container as asked (no image, bad env name, ...): it fails at once."""


# ------------------------------------------------------------------ helpers


def container_name(task: dict) -> str:
    lease = str(task.get("lease_id") or task.get("task_id") or "task-%d" % int(time.time() * 1000))
    return "nodeworks-" + _NAME_UNSAFE.sub("-", lease)[:100]


def parse_command(value) -> List[str]:
    """The argv of a Command node's ``command`` input (the same rule as the shell group's node)."""
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], (list, tuple)):
        value = value[0]  # a multiinput list of one argv
    if isinstance(value, str):
        if not value.strip():
            raise ContainerTaskError("input 'command' is empty")
        return ["/bin/sh", "-c", value]
    if isinstance(value, (list, tuple)) and value:
        return [str(part) for part in value]
    raise ContainerTaskError("input 'command' must be an argument list or a string, got %r" % (value,))


def _truthy(value, default=True) -> bool:
    if value is None:
        return default
    return str(value).strip().lower() not in ("false", "0", "no", "off", "")


def _artifact_paths(value) -> List[str]:
    """Local files of downloaded upstream artifacts inside a wire value (to mount them read-only)."""
    found = []
    if isinstance(value, list):
        for item in value:
            found.extend(_artifact_paths(item))
    elif isinstance(value, dict):
        if value.get("$nw") == "artifact":
            if value.get("path"):
                found.append(str(value["path"]))
        else:
            for item in value.values():
                found.extend(_artifact_paths(item))
    return found


_prefix_cache: Dict[str, Tuple[str, str]] = {}


def interpreter_prefixes(python: str) -> Tuple[str, str]:
    """``(sys.base_prefix, sys.prefix)`` of an interpreter (asked once; ours without asking)."""
    if python_is_ours(python):
        return sys.base_prefix, sys.prefix
    if python not in _prefix_cache:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.base_prefix); print(sys.prefix)"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=True,
        )
        lines = out.stdout.decode().strip().splitlines()
        _prefix_cache[python] = (lines[-2], lines[-1])
    return _prefix_cache[python]


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _volume(source: str, target: str, mode: str) -> str:
    """A ``--volume`` value; a path with ``:`` or a newline cannot be said in that syntax."""
    for path in (source, target):
        if ":" in path or "\n" in path:
            raise ContainerTaskError("cannot mount %r into a container (':' in the path)" % path)
    return "%s:%s:%s" % (source, target, mode)


def _dedupe_mounts(paths: List[str]) -> List[str]:
    """Existing folders, without those already inside another one of the list."""
    result: List[str] = []
    for path in sorted({os.path.abspath(p) for p in paths if p and os.path.exists(p)}, key=len):
        if not any(_inside(path, kept) for kept in result):
            result.append(path)
    return result


# ------------------------------------------------------------------ executor


class ContainerExecutor(Executor):
    name = "container"

    def __init__(self, config):
        super().__init__(config)
        self.command = str(getattr(config, "container_command", "") or "podman")
        self.global_args = [str(a) for a in (getattr(config, "container_global_args", None) or [])]
        self.network = str(getattr(config, "container_network", "") or "none")
        self.image_default = str(getattr(config, "container_image_default", "") or "")
        self.records = Path(getattr(config, "state_dir", "") or ".") / "containers"
        if not shutil.which(self.command):
            # The runner then does not offer this executor (it logs why).
            raise RuntimeError("container command %r not found on PATH (container_command)" % self.command)

    # The engine's command line, e.g. ["podman", "--runtime=runc", ...].
    def engine(self, *args: str) -> List[str]:
        return [self.command] + self.global_args + list(args)

    @property
    def is_docker(self) -> bool:
        return os.path.basename(self.command).startswith("docker")

    def start(self, task: dict, workdir: Path) -> Handle:
        workdir = Path(workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        name = container_name(task)
        try:
            argv, kind, check = self.build_argv(task, workdir, name)
        except (ContainerTaskError, OSError, subprocess.SubprocessError) as exc:
            return FinishedHandle(TaskResult(FAILED, {}, "container executor: %s" % exc))
        requirements = task.get("requirements") or {}
        walltime = requirements.get("walltime_s")
        try:
            walltime = float(walltime) if walltime else None
        except (TypeError, ValueError):
            walltime = None
        record = self._record(name, workdir)
        handle = ContainerHandle(
            self, argv, name, workdir, kind=kind, check=check, walltime_s=walltime, record=record,
        )
        return handle

    # -------------------------------------------------------------- command line

    def build_argv(self, task: dict, workdir: Path, name: str) -> Tuple[List[str], str, bool]:
        """The full ``<engine> run ...`` argument list, the kind of task ("command"/"python") and ``check``."""
        requirements = task.get("requirements") or {}
        node = task.get("node") or {}
        image = str(requirements.get("image") or self.image_default or "")
        if not image:
            raise ContainerTaskError(
                "no image: the node has no requirements.image and the runner has no container_image_default"
            )
        if image.startswith("-") or any(c.isspace() for c in image):
            raise ContainerTaskError("invalid image name %r" % image)

        argv = self.engine("run", "--rm", "--name", name, "--network=" + self.network)
        argv += ["--label", "nodeworks.lease_id=%s" % task.get("lease_id", ""),
                 "--label", "nodeworks.task_id=%s" % task.get("task_id", "")]
        argv += ["--volume", _volume(str(workdir), str(workdir), "rw"), "--workdir", str(workdir)]
        # "" (default): docker runs as the runner's uid:gid (files in the work dir stay the runner's),
        # podman as the image's user (rootless podman maps it to the runner's account); "-": no --user.
        user = str(getattr(self.config, "container_user", "") or "")
        if not user and self.is_docker and hasattr(os, "getuid"):
            user = "%d:%d" % (os.getuid(), os.getgid())
        if user and user != "-":
            argv += ["--user", user]
        argv += self._resource_args(requirements)

        env: Dict[str, str] = {}
        for key, value in (requirements.get("env") or {}).items():
            key = str(key)
            if not _ENV_NAME.match(key):
                raise ContainerTaskError("invalid environment variable name %r in requirements.env" % key)
            env[key] = "" if value is None else str(value)
        env.update({
            "NODEWORKS_CANCEL_GRACE_S": str(getattr(self.config, "cancel_grace_s", 5.0)),
            "NODEWORKS_TASK_ID": str(task.get("task_id", "")),
            "NODEWORKS_RUN_ID": str(task.get("run_id", "")),
        })

        path = tuple(str(p) for p in (node.get("path") or []))
        if path == COMMAND_PATH:
            from nodeworks_runner import values

            inputs = task.get("inputs") or {}
            command = parse_command(values.decode(inputs.get("command")))
            check = _truthy(values.decode(inputs.get("check")), default=True)
            for mount in _dedupe_mounts([os.path.dirname(p) for p in _artifact_paths(inputs)]):
                if not _inside(mount, str(workdir)):
                    argv += ["--volume", _volume(mount, mount, "ro")]
            argv += self._env_args(env) + [image] + command
            return argv, "command", check

        # A Python node: the entry point in the container.
        task_file = write_task_file(self.config, task, workdir)
        result_file = workdir / "result.json"
        mounts: List[Tuple[str, str]] = []
        environment = str(requirements.get("environment") or "").strip()
        in_image = environment or str(getattr(self.config, "container_python", "") or "")
        if in_image:
            if environment and not looks_like_path(environment):
                prefix = ["conda", "run", "--no-capture-output", "-n", environment, "python"]
            else:
                prefix = [in_image]
            package_root = IN_CONTAINER_PACKAGE_ROOT
            mounts.append((str(PACKAGE_DIR), IN_CONTAINER_PACKAGE_ROOT + "/nodeworks_runner"))
        else:
            python = str(getattr(self.config, "python", "") or sys.executable)
            base_prefix, prefix_dir = interpreter_prefixes(python)
            package_root = str(PACKAGE_DIR.parent)
            host_dirs = [base_prefix, prefix_dir, package_root, os.path.dirname(os.path.abspath(python))]
            host_dirs += [d for d in ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/lib32") if os.path.isdir(d)]
            for d in _dedupe_mounts(host_dirs):
                mounts.append((d, d))
            prefix = [python]
        plugin_dirs = [os.path.abspath(p) for p in (getattr(self.config, "node_path", None) or [])]
        artifact_dirs = [os.path.dirname(p) for p in _artifact_paths(task.get("inputs") or {})]
        covered = [target for _, target in mounts] + [str(workdir)]
        for d in _dedupe_mounts(plugin_dirs + artifact_dirs):
            if not any(_inside(d, c) for c in covered):
                mounts.append((d, d))
        for source, target in mounts:
            argv += ["--volume", _volume(source, target, "ro")]
        env.update({"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": package_root,
                    "HOME": str(workdir)})
        argv += self._env_args(env) + [image] + prefix + ["-m", ENTRY_MODULE, str(task_file), str(result_file)]
        return argv, "python", True

    def _env_args(self, env: Dict[str, str]) -> List[str]:
        args: List[str] = []
        for key, value in env.items():
            args += ["--env", "%s=%s" % (key, value)]
        return args

    def _resource_args(self, requirements: dict) -> List[str]:
        args: List[str] = []
        try:
            cpus = float(requirements.get("cpus") or 0)
            memory = int(requirements.get("memory_mb") or 0)
            gpus = int(requirements.get("gpus") or 0)
        except (TypeError, ValueError) as exc:
            raise ContainerTaskError("bad resource requirement: %s" % exc) from None
        if cpus > 0:
            args += ["--cpus", ("%g" % cpus)]
        if memory > 0:
            args += ["--memory", "%dm" % memory]
        if gpus > 0:
            args += ["--gpus", str(gpus)] if self.is_docker else ["--device", "nvidia.com/gpu=all"]
        args += [str(a) for a in (getattr(self.config, "container_extra_args", None) or [])]
        return args

    # -------------------------------------------------------------- records of started containers

    def _record(self, name: str, workdir: Path) -> Optional[Path]:
        try:
            self.records.mkdir(parents=True, exist_ok=True)
            path = self.records / (name + ".json")
            path.write_text(json.dumps({"name": name, "workdir": str(workdir), "command": self.engine()}))
            return path
        except OSError:
            return None

    def adopt(self, state_dir) -> List[Handle]:
        """Containers left by a runner that died are removed (their leases are lost anyway); none is adopted."""
        folder = Path(state_dir) / "containers" if state_dir else self.records
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                data = json.loads(path.read_text())
                name = str(data["name"])
                subprocess.run(self.engine("rm", "--force", name), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60)
            except (OSError, ValueError, KeyError, subprocess.SubprocessError):
                pass
            try:
                path.unlink()
            except OSError:
                pass
        return []


# ------------------------------------------------------------------ handles


class FinishedHandle(Handle):
    """A task that ended before it started (it could not be started as asked)."""

    def __init__(self, result: TaskResult):
        self.result = result
        self._log = "%s\n" % result.error if result.error else ""

    def poll(self) -> Optional[TaskResult]:
        return self.result

    def read_log(self) -> str:
        text, self._log = self._log, ""
        return text

    def cancel(self, grace_s: float) -> None:
        pass

    def info(self) -> dict:
        return {}


class ContainerHandle(Handle):
    """One ``<engine> run`` client process; its stdout/stderr are the container's."""

    def __init__(self, executor: ContainerExecutor, argv: List[str], name: str, workdir: Path, *, kind: str,
                 check: bool, walltime_s: Optional[float], record: Optional[Path]):
        self.executor = executor
        self.argv = argv
        self.name = name
        self.workdir = workdir
        self.kind = kind
        self.check = check
        self.walltime_s = walltime_s
        self.record = record
        self.log_path = workdir / "log.txt"
        self.result_path = workdir / "result.json"
        self.log = LogFileReader(self.log_path)
        self.cancelled = False
        self.timed_out = False
        self.kill_at: Optional[float] = None
        self.helpers: List[subprocess.Popen] = []
        self._result: Optional[TaskResult] = None
        self._lock = threading.Lock()
        self._out: List[str] = []
        self._err: List[str] = []
        self.started = time.monotonic()
        self._logfile = open(str(self.log_path), "a", encoding="utf-8")
        self._logfile.write("$ %s\n" % " ".join(shlex.quote(a) for a in argv))
        self._logfile.flush()
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, close_fds=True, cwd=str(workdir),
            # A killed runner: the engine's signal proxy passes the SIGTERM to the container (--rm removes it).
            preexec_fn=dies_with_this_process(signal.SIGTERM),
        )
        self._pumps = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self._out), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self._err), daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream, kept: List[str]) -> None:
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        size = 0
        while True:
            raw = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            text = decoder.decode(raw or b"", final=not raw)
            if text:
                with self._lock:
                    try:
                        self._logfile.write(text)
                        self._logfile.flush()
                    except (OSError, ValueError):
                        pass
                if size < OUTPUT_LIMIT:
                    kept.append(text[: OUTPUT_LIMIT - size])
                    size += len(text)
            if not raw:
                break
        stream.close()

    # -------------------------------------------------------------- Handle

    def poll(self) -> Optional[TaskResult]:
        if self._result is not None:
            return self._result
        self.helpers = [h for h in self.helpers if h.poll() is None]
        code = self.process.poll()
        now = time.monotonic()
        if code is None:
            if (self.walltime_s and not self.cancelled and not self.timed_out
                    and now - self.started > self.walltime_s):
                self.timed_out = True
                self._note("walltime of %gs exceeded: stopping the container" % self.walltime_s)
                self._stop(float(getattr(self.executor.config, "cancel_grace_s", 5.0)))
            if self.kill_at is not None and now >= self.kill_at:
                self.kill_at = None
                self._note("the container did not stop: killing the client and removing the container")
                try:
                    self.process.kill()
                except OSError:
                    pass
                self._helper(self.executor.engine("rm", "--force", self.name))
            return None
        for pump in self._pumps:
            pump.join(timeout=5)
        with self._lock:
            self._logfile.close()
        stdout, stderr = "".join(self._out), "".join(self._err)
        if self.cancelled:
            result = TaskResult(CANCELLED, {}, "cancelled")
        elif self.timed_out:
            result = TaskResult(FAILED, {}, "walltime of %gs exceeded (container stopped)" % self.walltime_s)
        elif self.kind == "command":
            result = self._command_result(code, stdout, stderr)
        else:
            result = TaskResult.read(
                self.result_path,
                missing_error="the container exited with %s and wrote no result%s"
                % (describe_exit(code), _tail(stderr)),
            )
            if code == ENGINE_ERROR and not self.result_path.exists():
                result = TaskResult(FAILED, {}, "the container engine failed (status 125)%s" % _tail(stderr))
        if self.cancelled or self.timed_out or code < 0:
            self._helper(self.executor.engine("rm", "--force", self.name))
        if self.record is not None:
            try:
                self.record.unlink()
            except OSError:
                pass
        self._result = result
        return result

    def _command_result(self, code: int, stdout: str, stderr: str) -> TaskResult:
        outputs = {"stdout": stdout, "stderr": stderr, "returncode": code}
        if code == ENGINE_ERROR and stderr.lstrip().startswith(("Error", "docker:", "Unable to find")):
            return TaskResult(FAILED, outputs, "the container engine failed (status 125)%s" % _tail(stderr))
        if code < 0:
            return TaskResult(FAILED, outputs, "the container client ended by %s" % describe_exit(code))
        if code != 0 and self.check:
            return TaskResult(FAILED, outputs, "command exited with status %d" % code)
        return TaskResult(SUCCEEDED, outputs, "")

    def read_log(self) -> str:
        return self.log.read(final=self._result is not None)

    def cancel(self, grace_s: float) -> None:
        if self.cancelled or self._result is not None:
            return
        self.cancelled = True
        self._note("cancelled: stopping container %s" % self.name)
        self._stop(grace_s)

    def _stop(self, grace_s: float) -> None:
        grace = max(0, int(math.ceil(grace_s)))
        self._helper(self.executor.engine("stop", "-t", str(grace), self.name))
        self.kill_at = time.monotonic() + grace + STOP_EXTRA_S

    def info(self) -> dict:
        return {"pid": self.process.pid, "container": self.name}

    # -------------------------------------------------------------- internals

    def _note(self, text: str) -> None:
        with self._lock:
            try:
                self._logfile.write("nodeworks-runner: %s\n" % text)
                self._logfile.flush()
            except (OSError, ValueError):
                pass

    def _helper(self, argv: List[str]) -> None:
        """Starts a short engine command (stop, rm) without waiting for it; poll() reaps it."""
        try:
            self.helpers.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL, close_fds=True))
        except OSError as exc:
            self._note("cannot run %s: %s" % (argv[0], exc))


def _tail(text: str, lines: int = 10) -> str:
    text = (text or "").strip()
    if not text:
        return ""
    return ":\n" + "\n".join(text.splitlines()[-lines:])
