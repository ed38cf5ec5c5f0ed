"""The ``slurm`` executor: a task runs as a SLURM batch job.

``start`` submits ``sbatch`` with the runner's ``slurm_partition``, ``slurm_account``, ``slurm_qos``
and ``slurm_extra_args`` (plus ``--cpus-per-task``, ``--mem``, ``--gres=gpu:N`` and ``--time``
from the node's ``cpus``, ``memory_mb``, ``gpus`` and ``walltime_s``). The job runs a fixed,
tiny job script (``nodeworks-job.sh``) whose arguments are the node-execution entry point::

    sbatch [options] nodeworks-job.sh PYTHON -m nodeworks_runner.execute task.json result.json

so no shell text is ever built from workflow data: the interpreter (the node's ``environment``:
an interpreter path, a virtualenv folder or a conda environment name → ``conda run -n ENV
python``; else the runner's ``python``) and the files are separate arguments. The job script
prints ``SLURM_JOB_ID=<id>`` first, runs the entry point, and writes its exit status to
``exit_code``. The task's work directory is in the runner's ``shared_dir`` (the runner loop puts it
there), which the compute nodes must see: the job writes ``result.json`` and its output
``slurm-<id>.out`` (the task log) there, because ``scontrol``/``squeue`` forget finished jobs.

Watching jobs: one :class:`SqueuePoller` per runner process runs ONE ``squeue`` call for all the
jobs it watches, at most once every ``slurm_poll_s`` seconds, in a background thread; ``poll()``
only reads its answers and the job's files, so it never blocks. A job is over when its
``exit_code`` file appears, or when ``squeue`` no longer lists it (or lists it in a final state).

Capacity: at most ``slurm_max_jobs`` jobs of this executor are in flight. ``start`` then raises
:class:`NoCapacity` (nothing was submitted; try again later: the loop keeps the task pending);
:meth:`SlurmExecutor.free_slots` says how many more may start now. An ``sbatch`` refusal because
of a submit limit (``QOSMaxSubmitJobPerUserLimit`` and the like) raises :class:`NoCapacity` too.

Restarts: every job is recorded in ``<state_dir>/slurm/<lease id>.json`` (the lease payload, the
job id and name, the work directory) from just before ``sbatch`` until its result has been read;
``adopt(state_dir)`` returns a handle for each recorded job (a record without a job id, left by a
runner that died while ``sbatch`` ran, is matched by job name), so a restarted runner watches (or,
if its lease was lost, cancels) the jobs of its previous life.

Cancel: ``scancel <id>`` (SLURM sends SIGTERM, then SIGKILL after its own ``KillWait``); the
entry point turns SIGTERM into a ``cancelled`` result; ``poll()`` reports ``cancelled`` once the
job has left the queue.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from nodeworks_runner.executors.base import CANCELLED, FAILED, SUCCEEDED, Executor, Handle, TaskResult
from nodeworks_runner.executors.base import NoCapacity as _BaseNoCapacity
from nodeworks_runner.executors.process import (
    ENTRY_MODULE,
    LogFileReader,
    child_environment,
    entry_argv,
    package_path_dir,
    python_is_ours,
    write_task_file,
)


class NoCapacity(_BaseNoCapacity):
    """``start`` cannot submit now (``slurm_max_jobs`` reached, or a SLURM submit limit): nothing was
    submitted; keep the task and try again later. A subclass of ``base.NoCapacity``, which the loop handles."""


class SlurmError(RuntimeError):
    """``sbatch`` refused the job for a reason that will not go away by waiting."""


JOB_SCRIPT_NAME = "nodeworks-job.sh"
JOB_SCRIPT = """#!/bin/sh
# nodeworks-runner SLURM job: prints its job id, runs its arguments (the node-execution entry
# point) and records their exit status beside the result file.
echo "SLURM_JOB_ID=${SLURM_JOB_ID:-unknown} on $(hostname 2>/dev/null || uname -n)"
"$@"
rc=$?
echo "$rc" > exit_code.tmp && mv -f exit_code.tmp exit_code
exit "$rc"
"""
ACTIVE_STATES = {
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
    "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "SPECIAL_EXIT",
}
# Final states where the node did not end by itself: a result written on the way out (e.g. a
# "cancelled" from SIGTERM at the time limit) is not the node's own.
ABNORMAL_STATES = {"TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "FAILED"}
GONE = "GONE"
SUBMIT_LIMIT = re.compile(r"MaxSubmit|AssocMaxSubmitJob|QOSMaxSubmitJob|Job violates accounting/QOS policy"
                          r"|Resource temporarily unavailable|Socket timed out|Unable to contact slurm controller",
                          re.IGNORECASE)
_ENV_BLOCKED = ("SBATCH_", "SLURM_", "SALLOC_", "SRUN_")
_ENV_SECRETS = ("NODEWORKS_RUNNER_TOKEN",)


def format_walltime(seconds: float) -> str:
    """SLURM's ``--time`` value (``D-HH:MM:SS``), rounded up to whole seconds (at least one minute)."""
    total = max(60, int(math.ceil(float(seconds))))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return "%d-%02d:%02d:%02d" % (days, hours, minutes, secs)


# ------------------------------------------------------------------ the shared squeue poller


class SqueuePoller:
    """One background thread per process asks ``squeue`` about every watched job in ONE call.

    ``state(job_id)`` returns the last known ``(STATE, reason)``, ``(GONE, "")`` when a query that
    started after the job was watched did not list it, or ``None`` when nothing is known yet.
    """

    _instance: Optional["SqueuePoller"] = None  # the process-wide poller (one per process)
    _instance_lock = threading.Lock()

    @classmethod
    def shared(cls, squeue: str = "squeue", interval_s: float = 5.0) -> "SqueuePoller":
        """The process-wide poller; the shortest interval any executor asked for wins."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls(squeue, interval_s)
            else:
                cls._instance.interval_s = min(cls._instance.interval_s, float(interval_s))
            return cls._instance

    def __init__(self, squeue: str = "squeue", interval_s: float = 5.0):
        self.squeue = squeue
        self.interval_s = float(interval_s)
        self.calls = 0  # how many times squeue ran (tests check it)
        self.last_error = ""
        self._watched: Dict[str, float] = {}  # job id -> monotonic time it was watched
        self._states: Dict[str, Tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._last_query = 0.0

    def watch(self, job_id: str) -> None:
        with self._lock:
            self._watched[str(job_id)] = time.monotonic()
            self._states.pop(str(job_id), None)
            if self._thread is None or not self._thread.is_alive():
                self._stopped.clear()
                self._thread = threading.Thread(target=self._run, name="squeue-poller", daemon=True)
                self._thread.start()
        self._wake.set()

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._watched.pop(str(job_id), None)
            self._states.pop(str(job_id), None)

    def state(self, job_id: str) -> Optional[Tuple[str, str]]:
        with self._lock:
            return self._states.get(str(job_id))

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            with self._lock:
                idle = not self._watched
            if idle:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            wait = self._last_query + self.interval_s - time.monotonic()
            if wait > 0:
                self._stopped.wait(wait)
                continue
            self.refresh()

    def refresh(self) -> None:
        """One ``squeue`` call for all watched jobs (also callable directly, e.g. by tests)."""
        with self._lock:
            jobs = sorted(self._watched)
        self._last_query = started = time.monotonic()
        if not jobs:
            return
        argv = [self.squeue, "--noheader", "--states=all", "--format=%i|%T|%r", "--jobs=" + ",".join(jobs)]
        self.calls += 1
        try:
            out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            self.last_error = "%s failed: %s" % (self.squeue, exc)
            return
        stdout = out.stdout.decode(errors="replace")
        stderr = out.stderr.decode(errors="replace")
        if out.returncode != 0 and "Invalid job id" not in stderr:
            self.last_error = "squeue exited with %d: %s" % (out.returncode, stderr.strip()[-300:])
            return  # the controller may be busy: keep what we knew
        self.last_error = ""
        seen: Dict[str, Tuple[str, str]] = {}
        for line in stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) >= 2 and parts[0]:
                seen[parts[0]] = (parts[1].strip().upper(), parts[2].strip() if len(parts) > 2 else "")
        with self._lock:
            for job in jobs:
                if job not in self._watched:
                    continue
                if job in seen:
                    self._states[job] = seen[job]
                elif self._watched[job] <= started:
                    self._states[job] = (GONE, "")


# ------------------------------------------------------------------ executor


class SlurmExecutor(Executor):
    name = "slurm"

    def __init__(self, config):
        super().__init__(config)
        self.sbatch = "sbatch"
        self.scancel = "scancel"
        self.poll_s = max(0.2, float(getattr(config, "slurm_poll_s", 5.0) or 5.0))
        self.max_jobs = max(1, int(getattr(config, "slurm_max_jobs", 100) or 100))
        self.poller = SqueuePoller.shared("squeue", self.poll_s)
        self.records = Path(getattr(config, "state_dir", "") or ".") / "slurm"
        if not shutil.which(self.sbatch):
            # The runner then does not offer this executor (it logs why).
            raise RuntimeError("%r not found on PATH: this host cannot submit SLURM jobs" % self.sbatch)
        self._active: Set["SlurmHandle"] = set()
        self._reserved = 0  # submissions under way
        self._lock = threading.Lock()

    # -------------------------------------------------------------- capacity

    def in_flight(self) -> int:
        with self._lock:
            return len(self._active)

    def free_slots(self) -> int:
        """How many more jobs may be submitted now (``slurm_max_jobs`` minus the jobs in flight)."""
        with self._lock:
            return max(0, self.max_jobs - len(self._active) - self._reserved)

    def _finished(self, handle: "SlurmHandle") -> None:
        with self._lock:
            self._active.discard(handle)

    # -------------------------------------------------------------- submit

    def start(self, task: dict, workdir: Path) -> Handle:
        with self._lock:
            if len(self._active) + self._reserved >= self.max_jobs:
                raise NoCapacity("%d SLURM jobs in flight (slurm_max_jobs=%d)" % (len(self._active), self.max_jobs))
            self._reserved += 1
        try:
            return self._submit(task, workdir)
        finally:
            with self._lock:
                self._reserved -= 1

    def _submit(self, task: dict, workdir: Path) -> Handle:
        workdir = Path(workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        task_file = write_task_file(self.config, task, workdir)
        result_file = workdir / "result.json"
        for stale in (result_file, workdir / "exit_code"):
            if stale.exists():
                stale.unlink()
        script = workdir / JOB_SCRIPT_NAME
        script.write_text(JOB_SCRIPT)
        script.chmod(0o755)
        requirements = task.get("requirements") or {}
        try:
            prefix = entry_argv(self.config, requirements.get("environment"))
        except ValueError as exc:
            raise SlurmError("environment: %s" % exc) from None
        argv = self.sbatch_argv(task, workdir) + [str(script)] + prefix + [
            "-m", ENTRY_MODULE, str(task_file), str(result_file)]
        env = self.job_environment(task, prefix)
        record = self.records / ("%s.json" % _safe(task.get("lease_id") or "task-%d" % int(time.time() * 1000)))
        # Recorded before sbatch runs, so that a runner dying in between finds the job by name on restart.
        self._save_record(record, job_id="", workdir=workdir, task=task, job_name=self.job_name(task))
        try:
            out = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=env, cwd=str(workdir), timeout=120)
        except FileNotFoundError:
            raise SlurmError("%s is not installed on this host" % self.sbatch) from None
        except subprocess.TimeoutExpired:
            raise NoCapacity("sbatch did not answer within 120 s") from None
        except BaseException:
            _unlink(record)
            raise
        stdout = out.stdout.decode(errors="replace").strip()
        stderr = out.stderr.decode(errors="replace").strip()
        job_id = stdout.splitlines()[-1].split(";")[0].strip() if stdout else ""
        if out.returncode != 0 or not re.match(r"^[0-9]+(_[0-9]+)?$", job_id):
            _unlink(record)
            if out.returncode != 0 and SUBMIT_LIMIT.search(stderr):
                raise NoCapacity("sbatch refused the job for now: %s" % stderr[-500:])
            if out.returncode != 0:
                raise SlurmError("sbatch exited with %d: %s" % (out.returncode, stderr[-1000:] or stdout[-1000:]))
            raise SlurmError("sbatch printed no job id: %r %r" % (stdout[-300:], stderr[-300:]))
        handle = SlurmHandle(self, job_id, workdir, record=record, task=task,
                             submitted=" ".join(shlex.quote(a) for a in argv))
        self._save_record(record, job_id=job_id, workdir=workdir, task=task, job_name=self.job_name(task))
        with self._lock:
            self._active.add(handle)
        self.poller.watch(job_id)
        return handle

    @staticmethod
    def job_name(task: dict) -> str:
        return "nodeworks-%s" % _safe(task.get("lease_id") or "task")[:64]

    def sbatch_argv(self, task: dict, workdir: Path) -> List[str]:
        config = self.config
        requirements = task.get("requirements") or {}
        argv = [self.sbatch, "--parsable", "--job-name=" + self.job_name(task),
                "--chdir=%s" % workdir, "--output=%s" % (workdir / "slurm-%j.out"), "--open-mode=append",
                "--comment=nodeworks task %s run %s" % (task.get("task_id", ""), task.get("run_id", ""))]
        for flag, value in (("--partition", getattr(config, "slurm_partition", "")),
                            ("--account", getattr(config, "slurm_account", "")),
                            ("--qos", getattr(config, "slurm_qos", ""))):
            if value:
                argv.append("%s=%s" % (flag, value))
        try:
            cpus = int(math.ceil(float(requirements.get("cpus") or 0)))
            memory = int(requirements.get("memory_mb") or 0)
            gpus = int(requirements.get("gpus") or 0)
            walltime = float(requirements.get("walltime_s") or 0)
        except (TypeError, ValueError) as exc:
            raise SlurmError("bad resource requirement: %s" % exc) from None
        if cpus > 0:
            argv.append("--cpus-per-task=%d" % cpus)
        if memory > 0:
            argv.append("--mem=%dM" % memory)
        if gpus > 0:
            argv.append("--gres=gpu:%d" % gpus)
        if walltime > 0:
            argv.append("--time=%s" % format_walltime(walltime))
        argv += [str(a) for a in (getattr(config, "slurm_extra_args", None) or [])]
        return argv

    def job_environment(self, task: dict, prefix: List[str]) -> dict:
        """sbatch's environment, which the job inherits (``--export=ALL``, SLURM's default).

        The node's ``env`` settings may not set ``SBATCH_*``/``SLURM_*`` (that would change the
        runner's partition, account, ...); the runner's token never reaches a job.
        """
        ours = len(prefix) == 1 and python_is_ours(prefix[0])
        env = child_environment(self.config, task, True)
        if not ours:
            # The package must be importable by another interpreter on the compute node: a link in
            # the shared directory (the runner's state directory may be local to the login node).
            extra = package_path_dir(Path(self.config.shared_dir) / ".nodeworks-runner")
            env["PYTHONPATH"] = extra + ((os.pathsep + env["PYTHONPATH"]) if env.get("PYTHONPATH") else "")
        requested = (task.get("requirements") or {}).get("env") or {}
        for key in requested:
            if str(key).upper().startswith(_ENV_BLOCKED):
                if key in os.environ:
                    env[key] = os.environ[key]
                else:
                    env.pop(key, None)
        for key in _ENV_SECRETS:
            env.pop(key, None)
        env["NODEWORKS_LEASE_ID"] = str(task.get("lease_id", ""))
        return env

    # -------------------------------------------------------------- records and restarts

    def _save_record(self, path: Path, *, job_id: str, workdir: Path, task: dict, job_name: str) -> None:
        data = {"version": 1, "job_id": job_id, "job_name": job_name, "workdir": str(workdir), "task": task,
                "recorded_at": time.time()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.replace(str(tmp), str(path))
        except OSError as exc:
            print("nodeworks-runner: cannot record SLURM job %s in %s: %s" % (job_id or job_name, path, exc),
                  file=sys.stderr)

    def adopt(self, state_dir) -> List[Handle]:
        """Handles of the jobs a previous run of this runner submitted (recorded in ``<state_dir>/slurm``)."""
        folder = Path(state_dir) / "slurm" if state_dir else self.records
        handles: List[Handle] = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                data = json.loads(path.read_text())
                job_id, workdir, task = str(data.get("job_id") or ""), Path(data["workdir"]), dict(data["task"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                print("nodeworks-runner: ignoring unreadable SLURM job record %s: %s" % (path, exc), file=sys.stderr)
                continue
            if not job_id:
                # The runner died while sbatch ran: the job, if it was submitted, is known by its name.
                job_id = self._find_job_by_name(str(data.get("job_name") or self.job_name(task)))
                if not job_id:
                    _unlink(path)
                    continue
            handle = SlurmHandle(self, job_id, workdir, record=path, task=task, adopted=True)
            with self._lock:
                self._active.add(handle)
            self.poller.watch(job_id)
            handles.append(handle)
        return handles

    def _find_job_by_name(self, name: str) -> str:
        try:
            out = subprocess.run(["squeue", "--noheader", "--states=all", "--name=" + name, "--format=%i"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return ""
        ids = out.stdout.decode(errors="replace").split()
        return ids[-1] if out.returncode == 0 and ids else ""

    def close(self) -> None:
        """Jobs keep running in SLURM (they are re-adopted on the next start); only watching stops."""
        with self._lock:
            handles = list(self._active)
        for handle in handles:
            self.poller.forget(handle.job_id)


# ------------------------------------------------------------------ handle


class SlurmHandle(Handle):
    def __init__(self, executor: SlurmExecutor, job_id: str, workdir: Path, *, record: Optional[Path], task: dict,
                 submitted: str = "", adopted: bool = False):
        self.executor = executor
        self.job_id = str(job_id)
        self.workdir = Path(workdir)
        self.record = record
        self.task = task
        self.result_path = self.workdir / "result.json"
        self.exit_path = self.workdir / "exit_code"
        self.log = LogFileReader(self.workdir / ("slurm-%s.out" % self.job_id))
        self.cancelled = False
        self.cancel_sent = 0.0
        self._scancel: Optional[subprocess.Popen] = None
        self._result: Optional[TaskResult] = None
        self._ended_at: Optional[float] = None
        self._ended_state = ""
        if adopted:
            self._notes = ["nodeworks-runner: re-adopted SLURM job %s after a restart\n" % self.job_id]
        else:
            self._notes = ["nodeworks-runner: submitted SLURM job %s: %s\n" % (self.job_id, submitted)]

    # -------------------------------------------------------------- Handle

    def poll(self) -> Optional[TaskResult]:
        if self._result is not None:
            return self._result
        if self._scancel is not None and self._scancel.poll() is not None:
            self._scancel = None
        known = self.executor.poller.state(self.job_id)
        state = known[0] if known else ""
        ended = self.exit_path.exists() or (state and state not in ACTIVE_STATES)
        if not ended:
            if self.cancelled and time.monotonic() - self.cancel_sent > 60 and self._scancel is None:
                self._send_scancel()  # SLURM did not act yet: ask again (once a minute)
            return None
        if self._ended_at is None:
            self._ended_at = time.monotonic()
            self._ended_state = state
        if state and state != GONE:
            self._ended_state = state
        if not self.cancelled and not self.result_path.exists():
            # The job is over but its result file is not visible yet (shared file systems cache
            # directory listings): wait a little before calling it lost.
            if time.monotonic() - self._ended_at < max(2.0 * self.executor.poll_s, 5.0):
                return None
        return self._finish(self._conclude())

    def _conclude(self) -> TaskResult:
        slurm_state = self._ended_state if self._ended_state not in ("", GONE) else ""
        where = "SLURM job %s%s" % (self.job_id, " (%s)" % slurm_state if slurm_state else "")
        if self.cancelled:
            return TaskResult(CANCELLED, {}, "cancelled (scancel %s)" % self.job_id)
        exit_code = _read_int(self.exit_path)
        if not self.result_path.exists():
            how = "exit status %d" % exit_code if exit_code is not None else "no exit status"
            return TaskResult(FAILED, {}, "%s ended with %s and wrote no result; see its log %s"
                              % (where, how, self.log.path))
        result = TaskResult.read(self.result_path)
        if result.state != SUCCEEDED and slurm_state in ABNORMAL_STATES:
            return TaskResult(FAILED, result.outputs, "%s ended in state %s%s" % (
                where, slurm_state, (": " + result.error) if result.error else ""), result.artifacts)
        if result.state == CANCELLED:
            # Nobody here asked: someone cancelled the job outside the runner (or SLURM did).
            return TaskResult(FAILED, result.outputs, "%s was stopped outside the runner: %s" % (
                where, result.error or "cancelled"), result.artifacts)
        return result

    def _finish(self, result: TaskResult) -> TaskResult:
        self._result = result
        self._notes.append("nodeworks-runner: SLURM job %s is over: %s%s\n" % (
            self.job_id, result.state, (" (%s)" % result.error.splitlines()[0]) if result.error else ""))
        self.executor.poller.forget(self.job_id)
        self.executor._finished(self)
        if self.record is not None:
            _unlink(self.record)
        return result

    def read_log(self) -> str:
        text = self.log.read(final=self._result is not None)
        notes, self._notes = self._notes, []
        if notes and self._result is not None:
            return text + "".join(notes)  # the closing note goes after the job's own output
        return "".join(notes) + text

    def cancel(self, grace_s: float) -> None:
        if self.cancelled or self._result is not None:
            return
        self.cancelled = True
        self._notes.append("nodeworks-runner: cancelling SLURM job %s (scancel)\n" % self.job_id)
        self._send_scancel()

    def _send_scancel(self) -> None:
        self.cancel_sent = time.monotonic()
        try:
            self._scancel = subprocess.Popen([self.executor.scancel, self.job_id], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=True)
        except OSError as exc:
            self._notes.append("nodeworks-runner: cannot run %s: %s\n" % (self.executor.scancel, exc))

    def info(self) -> dict:
        return {"slurm_job_id": self.job_id}


def _read_int(path: Path) -> Optional[int]:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _safe(text) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", str(text))[:100]
