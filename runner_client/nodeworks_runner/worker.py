"""The runner loop. Read :meth:`Runner.run` top to bottom:

    long-poll lease -> start up to --concurrency tasks -> heartbeat -> stream logs
    -> collect finished tasks (spool) -> upload artifacts -> report results in batches
    (leasing the freed slots in the same call; run the tasks the server hands back)

The long-poll lease runs in a helper thread (:class:`Leaser`) so that a waiting lease call never
delays heartbeats, logs or results; everything else happens in the one loop thread.

Leasing in the results call: a ``results`` call carries ``lease: {max_tasks, executors}`` with the
slots free once those results are in, and the server fills them in ``next`` (successors first), so
a runner that keeps its slots full makes one call per batch, not a ``results`` and a ``lease`` call.
While results wait to be reported, the long-poll leaves the free slots to that call; it leases
what is still free afterwards (when the queue had less than asked) and while delivery is failing.
Slots are counted under one lock, a task being always in exactly one of: the long-poll's answer,
``pending``, ``running``, ``reported``; a lease call in flight holds the slots it asked for.

Signals: the first SIGTERM/SIGINT (or a heartbeat answer ``shutdown``) drains: lease nothing new,
finish the running tasks, report them, exit. A second one stops the running tasks now and reports
them as failed ("stopped by runner shutdown"), so the server's retry policy decides what happens.

Failures: an unreachable server (network, 5xx) is retried with back-off, per activity; a finished
result is spooled to disk first and resent until the server answers for it (see spool.py). A
heartbeat answer ``cancel`` stops the task and reports it cancelled; ``lost`` stops it and reports
nothing (another runner may already hold it).
"""

from __future__ import annotations

import datetime
import logging
import os
import queue
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

from nodeworks_runner import values
from nodeworks_runner.config import RunnerConfig
from nodeworks_runner.executors import create_executor
from nodeworks_runner.executors.base import CANCELLED, FAILED, SUCCEEDED, Executor, Handle, NoCapacity, TaskResult
from nodeworks_runner.http import Client, ClientError, Stale, Unreachable, backoff_delay
from nodeworks_runner.spool import Journal, Spool

log = logging.getLogger("nodeworks_runner")

TICK_S = 0.02  # the loop's pace while tasks run
IDLE_TICK_S = 0.1
RESULT_BATCH = 100
MAX_LEASE_TASKS = 1000  # the protocol's cap on max_tasks (the server may cap lower)
LOG_CHUNK_CHARS = 1024 * 1024
FAST_CANCEL_GRACE_S = 2.0  # grace on the second signal


def utcnow_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _parse_iso(text: str) -> Optional[float]:
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except (TypeError, ValueError):
        return None


class Backoff:
    """When an activity may try again after failures (exponential, with jitter, capped)."""

    def __init__(self, cap: float):
        self.cap = cap
        self.failures = 0
        self.next_at = 0.0

    def ready(self) -> bool:
        return time.monotonic() >= self.next_at

    def failed(self) -> float:
        delay = backoff_delay(self.failures, self.cap)
        self.failures += 1
        self.next_at = time.monotonic() + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self.next_at = 0.0


class TaskRun:
    """A task this runner holds a lease for, from lease to reported result."""

    def __init__(self, task: dict):
        self.task = task
        self.lease_id = str(task["lease_id"])
        requirements = task.get("requirements") or {}
        self.executor_name = requirements.get("executor") or "local"
        self.walltime_s = requirements.get("walltime_s")
        self.handle: Optional[Handle] = None
        self.workdir: Optional[Path] = None
        self.started = ""
        self.started_at = 0.0
        self.log_offset = 0  # bytes the server has
        self.log_buffer = ""  # text not yet sent
        self.stop_reason = ""  # "cancel" (server), "walltime", "shutdown", "lost"
        self.not_before = 0.0  # monotonic time before which it is not started again

    @property
    def label(self) -> str:
        node = self.task.get("node") or {}
        return "task %s (%s, run %s, attempt %s)" % (
            self.task.get("task_id"), node.get("uniquename") or "?", self.task.get("run_id"), self.task.get("attempt"))


class Leaser(threading.Thread):
    """Long-polls ``lease`` whenever the loop has free slots that no results call is about to lease;
    hands tasks over through a queue."""

    def __init__(self, runner: "Runner"):
        super().__init__(name="nodeworks-leaser", daemon=True)
        self.runner = runner
        self.tasks: "queue.Queue[dict]" = queue.Queue()
        self.wake = threading.Event()
        self.stopped = threading.Event()
        self.backoff = Backoff(runner.config.retry_max_s)
        self.in_flight = False
        self.last_empty_generation = -1  # for --once: a lease that found nothing, started at this generation

    def run(self) -> None:
        runner = self.runner
        while not self.stopped.is_set():
            # Held for this call until its answer is queued (none while draining or results are due).
            free = runner.reserve_slots_for_lease() if self.backoff.ready() else 0
            if free <= 0:
                self.wake.wait(0.2 if runner.free_slots() > 0 else 1.0)
                self.wake.clear()
                continue
            generation = runner.generation
            body = {
                "max_tasks": free,
                "wait_s": runner.lease_wait_s(),
                "executors": runner.offered_executors(),
                "last_finished": runner.take_last_finished(),
            }
            self.in_flight = True
            tasks: List[dict] = []
            try:
                answer = runner.client.post("/api/v1/runners/lease", body, timeout=body["wait_s"] + 30)
                tasks = list((answer or {}).get("tasks") or [])
            except Unreachable as exc:
                runner.restore_last_finished(body["last_finished"])
                log.warning("lease failed (%s); retrying in %.1fs", exc, self.backoff.failed())
                continue
            except ClientError as exc:
                runner.fatal(exc)
                return
            except Stale as exc:  # not expected for lease
                log.warning("lease answered 409: %s", exc)
                self.backoff.failed()
                continue
            finally:
                runner.lease_answered(tasks)  # queued for the loop; the reservation ends
                self.in_flight = False
            self.backoff.succeeded()
            if tasks:
                runner.wake_loop.set()
            else:
                self.last_empty_generation = generation
                # retry_after_s: the server had no thread left to wait in and answered at once.
                pause = retry_after_s(answer) or (0.5 if body["wait_s"] < 1.0 else 0.0)  # --once: pace it
                if pause:
                    self.wake.wait(pause)
                    self.wake.clear()


def retry_after_s(answer) -> float:
    """The `retry_after_s` of a lease answer (bounded to a minute), 0 when absent or not a number."""
    try:
        return max(0.0, min(60.0, float((answer or {}).get("retry_after_s") or 0)))
    except (TypeError, ValueError, AttributeError):
        return 0.0


class Runner:
    def __init__(self, config: RunnerConfig, client: Optional[Client] = None):
        self.config = config
        self.client = client or Client(config.url, config.token, ca_bundle=config.ca_bundle,
                                       timeout=config.http_timeout_s, proxy=config.proxy,
                                       retry_max_s=config.retry_max_s)
        self.executors: Dict[str, Executor] = {}
        self.pending: List[TaskRun] = []  # leased, not started
        self.running: Dict[str, TaskRun] = {}  # lease id -> started, not finished
        self.reported: Dict[str, TaskRun] = {}  # finished, result in the spool, not yet answered
        self.spool = Spool(config.spool_dir)
        self.journal = Journal(Path(config.state_dir) / "journal")
        self.draining = False
        self.stopping_now = False
        self.exit_code = 0
        self.generation = 0  # bumped on every change of work, for --once
        self.wake_loop = threading.Event()
        self._last_finished: List[int] = []
        self._lock = threading.RLock()  # pending / running / reported / leasing, read by the Leaser thread
        self.leasing = 0  # slots held by the lease call in flight
        self.lease_with_results = True  # send `lease` in results calls (off if the server refuses it)
        self._signals = 0
        self._fatal: Optional[Exception] = None
        self.heartbeat_backoff = Backoff(config.retry_max_s)
        self.results_backoff = Backoff(config.retry_max_s)
        self.next_heartbeat = 0.0
        self.next_log_flush = 0.0
        self.lease_ttl_hint: Optional[float] = None
        self.once = False
        self.leaser = Leaser(self)

    # ================================================================ the loop

    def run(self, once: bool = False) -> int:
        self.once = once
        self.set_up()
        self.leaser.start()
        while True:
            self.take_leased_tasks()  # from the long-poll thread (and successors from results)
            self.start_tasks()  # up to --concurrency
            self.heartbeat_if_due()  # extends leases; answers cancel / lost / shutdown
            self.stream_logs_if_due()
            self.collect_finished()  # finished tasks -> spool (with their log tail and artifacts)
            self.deliver_results()  # logs, artifacts, then results in batches; successors come back
            if self.time_to_exit():
                break
            self.wait_a_tick()
        self.tear_down()
        return self.exit_code

    # ================================================================ set-up and tear-down

    def set_up(self) -> None:
        for folder in (self.config.work_dir, self.config.state_dir, self.config.spool_dir):
            Path(folder).mkdir(parents=True, exist_ok=True)
        for name in self.config.executors:
            try:
                self.executors[name] = create_executor(name, self.config)
            except Exception as exc:  # e.g. no docker/podman/sbatch on this host
                log.error("executor %r is not available here and will not be offered: %s", name, exc)
        if not self.executors:
            raise SystemExit("no executor is available (configured: %s)" % ", ".join(self.config.executors))
        self.install_signal_handlers()
        self.recover_after_restart()
        log.info("runner %r serving %s with executors %s, concurrency %d", self.config.name, self.config.url,
                 ", ".join(self.executors), self.config.concurrency)

    def recover_after_restart(self) -> None:
        """Spooled results are resent; slurm jobs re-adopted; tasks of a crashed process reported late."""
        adopted = set()
        for name, executor in self.executors.items():
            try:
                handles = executor.adopt(self.config.state_dir)
            except Exception as exc:
                log.error("executor %s could not re-adopt its tasks: %s", name, exc)
                handles = []
            for handle in handles:
                if not handle.task:
                    continue
                run = TaskRun(handle.task)
                run.handle, run.started, run.started_at = handle, utcnow_iso(), time.monotonic()
                entry = self.journal.get(run.lease_id)
                run.workdir = Path(entry["workdir"]) if entry else None
                self.running[run.lease_id] = run
                adopted.add(run.lease_id)
                log.info("re-adopted %s", run.label)
        for entry in self.journal.load_all():
            if entry["lease_id"] in adopted:
                continue
            if self.spool.get(entry["lease_id"]) is not None:  # crashed between spooling and this clean-up
                self.journal.remove(entry["lease_id"])
                continue
            self.report_orphan(entry)
        for entry in self.spool.pending():
            log.info("resending the spooled result of lease %s (%s)", entry["lease_id"], entry.get("state"))

    def report_orphan(self, entry: dict) -> None:
        """A task started before a crash: its result, if its process wrote one, is reported (late)."""
        task, workdir = entry["task"], Path(entry["workdir"])
        self.stop_leftover_process(entry)
        result_file = workdir / "result.json"
        if result_file.exists():
            result = TaskResult.read(result_file)
            log.info("found the late result of lease %s from before a restart; reporting it", entry["lease_id"])
            self.spool.new_entry(task=task, state=result.state, outputs=result.outputs, error=result.error,
                                 started="", finished=utcnow_iso(), artifacts=result.artifacts, log_offset=0,
                                 log_data="", workdir=str(workdir), late=True)
        else:
            log.info("lease %s was interrupted by a restart; the server will re-queue it", entry["lease_id"])
        self.journal.remove(entry["lease_id"])

    @staticmethod
    def stop_leftover_process(entry: dict) -> None:
        pid = (entry.get("info") or {}).get("pid")
        if not pid:
            return
        try:
            with open("/proc/%d/cmdline" % int(pid), "rb") as handle:
                if b"nodeworks_runner" not in handle.read():
                    return  # the pid was reused by something else
            os.killpg(int(pid), signal.SIGTERM)
            log.info("stopped the leftover process group %s of lease %s", pid, entry["lease_id"])
        except (OSError, ValueError):
            pass

    def tear_down(self) -> None:
        self.leaser.stopped.set()
        self.leaser.wake.set()
        for executor in self.executors.values():
            try:
                executor.close()
            except Exception as exc:
                log.warning("closing executor %s: %s", executor.name, exc)
        left = len(self.spool.pending())
        if left:
            log.warning("%d result(s) could not be delivered and stay spooled in %s; they are resent on the next "
                        "start", left, self.config.spool_dir)
        log.info("runner %r stopped", self.config.name)

    def install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)

    def on_signal(self, signum, frame) -> None:
        self._signals += 1
        if self._signals == 1:
            self.draining = True
            log.info("signal %d: finishing running tasks, leasing nothing new (again to stop them now)", signum)
        else:
            self.stopping_now = True
            log.info("signal %d again: stopping running tasks now", signum)
        self.wake_loop.set()

    def fatal(self, exc: Exception) -> None:
        """The server refuses us for good (bad token, protocol version): stop."""
        log.error("the server refused this runner: %s", exc)
        self._fatal = exc
        self.exit_code = 3
        self.draining = True
        self.wake_loop.set()

    # ================================================================ capacity and leasing

    def offered_executors(self) -> List[str]:
        return sorted(self.executors)

    def free_slots(self) -> int:
        with self._lock:
            held = len(self.pending) + len(self.running) + self.leaser.tasks.qsize() + self.leasing
        return max(0, int(self.config.concurrency) - held)

    def results_due(self) -> bool:
        """Results wait to be reported, and the results call will lease the free slots."""
        return self.lease_with_results and bool(self.reported) and self.results_backoff.failures == 0

    def reserve_slots_for_lease(self) -> int:
        """The slots the long-poll may ask for, held until :meth:`lease_answered`."""
        with self._lock:
            if self.draining or self.results_due():
                return 0
            self.leasing = min(self.free_slots(), MAX_LEASE_TASKS)
            return self.leasing

    def lease_answered(self, tasks: List[dict]) -> None:
        with self._lock:
            for task in tasks:
                self.leaser.tasks.put(task)
            self.leasing = 0

    def slots_to_lease_with_results(self) -> int:
        """``max_tasks`` of the ``lease`` in a results call: the free slots, none when draining."""
        if self.draining or self.stopping_now:
            return 0
        return min(self.free_slots(), MAX_LEASE_TASKS)

    def lease_wait_s(self) -> float:
        if self.once:
            return 0.0
        return max(0.0, min(30.0, float(self.config.lease_wait_s)))

    def take_last_finished(self) -> List[int]:
        with self._lock:
            finished, self._last_finished = self._last_finished, []
        return finished[-1000:]

    def restore_last_finished(self, ids: List[int]) -> None:
        with self._lock:
            self._last_finished = ids + self._last_finished

    def take_leased_tasks(self) -> None:
        while True:
            with self._lock:  # from the queue to pending in one step: free_slots() never misses it
                try:
                    task = self.leaser.tasks.get_nowait()
                except queue.Empty:
                    return
                self.accept_task(task)

    def accept_task(self, task: dict) -> None:
        run = TaskRun(task)
        with self._lock:
            if run.lease_id in self.running or any(p.lease_id == run.lease_id for p in self.pending):
                return
            self.pending.append(run)
        self.generation += 1
        self.note_ttl(task.get("expires_at"))
        log.info("leased %s", run.label)

    def note_ttl(self, expires_at) -> None:
        """Heartbeats come at least three times per lease period (read from the expiry the server gives)."""
        at = _parse_iso(expires_at) if expires_at else None
        if at is None:
            return
        ttl = at - time.time()
        if ttl > 0:
            self.lease_ttl_hint = ttl if self.lease_ttl_hint is None else min(self.lease_ttl_hint, max(ttl, 0.5))

    def heartbeat_period(self) -> float:
        period = float(self.config.heartbeat_s)
        if self.lease_ttl_hint:
            period = min(period, max(0.2, self.lease_ttl_hint / 3.0))
        return period

    # ================================================================ starting tasks

    def start_tasks(self) -> None:
        if self.stopping_now:
            return
        now = time.monotonic()
        for run in list(self.pending):
            if len(self.running) >= max(1, int(self.config.concurrency)):
                return
            if run.not_before > now:
                continue  # its executor was full, or its inputs could not be fetched: later
            self.start_one(run)

    def start_one(self, run: TaskRun) -> None:
        """Starts a pending task: it moves to ``running``, or to ``reported`` (failed), or waits in ``pending``."""
        run.started, run.started_at = utcnow_iso(), time.monotonic()
        executor = self.executors.get(run.executor_name)
        if executor is None:
            self.finish_without_running(run, FAILED, "runner %r does not offer the %r executor (it offers %s)" % (
                self.config.name, run.executor_name, ", ".join(self.offered_executors())))
            return
        run.workdir = self.workdir_for(run)
        try:
            run.workdir.mkdir(parents=True, exist_ok=True)
            self.download_artifact_inputs(run)
        except Unreachable as exc:
            log.warning("cannot fetch the inputs of %s yet (%s); will retry", run.label, exc)
            run.not_before = time.monotonic() + 2.0
            return
        except (ClientError, Stale, OSError, ValueError) as exc:
            self.finish_without_running(run, FAILED, "cannot fetch an input artifact: %s" % exc)
            return
        try:
            run.handle = executor.start(run.task, run.workdir)
        except NoCapacity as exc:
            log.info("%s waits: executor %s is full (%s)", run.label, run.executor_name, exc)
            run.not_before = time.monotonic() + 1.0
            return
        except Exception as exc:
            log.exception("executor %s could not start %s", run.executor_name, run.label)
            self.finish_without_running(run, FAILED, "executor %r could not start the task on runner %r: %s" % (
                run.executor_name, self.config.name, exc))
            return
        run.handle.task = run.task
        with self._lock:
            self.pending.remove(run)
            self.running[run.lease_id] = run
        try:
            info = run.handle.info()
        except Exception:
            info = {}
        self.journal.started(run.task, workdir=str(run.workdir), executor=run.executor_name, info=info)
        self.next_heartbeat = 0.0  # tell the server at once that it runs (leased -> running)
        log.info("started %s on %s", run.label, run.executor_name)

    def workdir_for(self, run: TaskRun) -> Path:
        base = self.config.shared_dir if run.executor_name == "slurm" else self.config.work_dir
        node = (run.task.get("node") or {}).get("uniquename") or "node"
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(node))[:60]
        return Path(base) / ("run-%s" % run.task.get("run_id")) / (
            "%s-t%s-a%s-%s" % (safe, run.task.get("task_id"), run.task.get("attempt"), run.lease_id[:8]))

    def download_artifact_inputs(self, run: TaskRun) -> None:
        """Upstream artifacts named in the inputs are fetched into the work dir; their refs get a ``path``."""
        folder = run.workdir / "inputs"
        for ref in values.artifact_references(run.task.get("inputs") or {}):
            if ref.get("path") and os.path.exists(ref["path"]):
                continue
            folder.mkdir(exist_ok=True)
            name = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(ref.get("name") or "artifact"))
            target = folder / ("%s-%s" % (str(ref["id"])[:8], name))
            self.client.download("/api/v1/runners/artifacts/%s" % ref["id"], str(target))
            ref["path"] = str(target)

    def finish_without_running(self, run: TaskRun, state: str, error: str) -> None:
        log.warning("%s: %s", run.label, error)
        self.spool.new_entry(task=run.task, state=state, outputs={}, error=error, started=run.started,
                             finished=utcnow_iso(), artifacts=[], log_offset=0, log_data=error + "\n",
                             workdir=str(run.workdir or ""))
        with self._lock:
            if run in self.pending:
                self.pending.remove(run)
            self.reported[run.lease_id] = run
        self.generation += 1

    # ================================================================ heartbeats

    def held_leases(self) -> List[str]:
        return [r.lease_id for r in self.pending] + list(self.running) + list(self.reported)

    def heartbeat_if_due(self) -> None:
        now = time.monotonic()
        if now < self.next_heartbeat or not self.heartbeat_backoff.ready():
            return
        leases = self.held_leases()
        self.next_heartbeat = now + self.heartbeat_period()
        if not leases:
            return
        running = {}
        for lease, run in self.running.items():
            try:
                running[lease] = run.handle.info() if run.handle else {}
            except Exception:
                running[lease] = {}
        try:
            answer = self.client.post("/api/v1/runners/heartbeat", {"lease_ids": leases, "running": running},
                                      timeout=max(5.0, self.heartbeat_period() * 2))
        except Stale as exc:  # every lease named is stale
            answer = exc.body or {"leases": {lease: "lost" for lease in leases}}
        except Unreachable as exc:
            log.warning("heartbeat failed (%s); retrying in %.1fs", exc, self.heartbeat_backoff.failed())
            return
        except ClientError as exc:
            if exc.status in (401, 403, 426):
                self.fatal(exc)
            else:
                log.error("heartbeat refused: %s", exc)
            return
        self.heartbeat_backoff.succeeded()
        for lease, state in ((answer or {}).get("leases") or {}).items():
            if state == "cancel":
                self.on_cancel(lease)
            elif state == "lost":
                self.on_lost(lease)
        if (answer or {}).get("shutdown") and not self.draining:
            log.info("the server asks this runner to shut down: finishing running tasks")
            self.draining = True

    def on_cancel(self, lease: str) -> None:
        """The run or task was cancelled: stop the process and report ``cancelled``."""
        for run in list(self.pending):
            if run.lease_id == lease:
                self.finish_without_running(run, CANCELLED, "cancelled before it started")
                return
        run = self.running.get(lease)
        if run is not None and not run.stop_reason:
            log.info("cancel %s", run.label)
            run.stop_reason = "cancel"
            run.handle.cancel(self.config.cancel_grace_s)

    def on_lost(self, lease: str) -> None:
        """The lease is no longer ours (expired, re-queued): stop the work, report nothing."""
        for run in list(self.pending):
            if run.lease_id == lease:
                with self._lock:
                    self.pending.remove(run)
                log.warning("lost the lease of %s before it started", run.label)
        run = self.running.get(lease)
        if run is not None:
            log.warning("lost the lease of %s: stopping it without reporting", run.label)
            run.stop_reason = "lost"
            run.handle.cancel(self.config.cancel_grace_s)
        if lease in self.reported:
            log.warning("lost the lease of %s before its result was delivered", self.reported[lease].label)
            self.drop_spooled(lease)

    # ================================================================ logs

    def stream_logs_if_due(self) -> None:
        now = time.monotonic()
        if now < self.next_log_flush:
            return
        self.next_log_flush = now + float(self.config.log_interval_s)
        for run in list(self.running.values()):
            if run.stop_reason == "lost":
                continue
            run.log_buffer += run.handle.read_log()
            if run.log_buffer:
                self.send_log(run.lease_id, run)

    def send_log(self, lease_id: str, holder) -> bool:
        """Sends ``holder.log_buffer`` from ``holder.log_offset``; True when all of it is stored."""
        while holder.log_buffer:
            chunk = holder.log_buffer[:LOG_CHUNK_CHARS]
            try:
                answer = self.client.post("/api/v1/runners/logs",
                                          {"lease_id": lease_id, "offset": holder.log_offset, "data": chunk})
            except Stale:
                holder.log_buffer = ""  # the lease moved on: these lines have nowhere to go
                return True
            except Unreachable as exc:
                log.debug("log upload for %s failed: %s", lease_id, exc)
                return False
            except ClientError as exc:
                log.warning("log chunk of lease %s refused (%s); dropping it", lease_id, exc)
                holder.log_buffer = ""
                return True
            holder.log_offset = int((answer or {}).get("next_offset", holder.log_offset + len(chunk.encode("utf-8"))))
            holder.log_buffer = holder.log_buffer[len(chunk):]
        return True

    # ================================================================ finished tasks

    def collect_finished(self) -> None:
        for lease, run in list(self.running.items()):
            if self.stopping_now and not run.stop_reason:
                run.stop_reason = "shutdown"
                run.handle.cancel(min(self.config.cancel_grace_s, FAST_CANCEL_GRACE_S))
            if run.walltime_s and not run.stop_reason and time.monotonic() - run.started_at > float(run.walltime_s):
                log.warning("%s exceeded its walltime of %ss: stopping it", run.label, run.walltime_s)
                run.stop_reason = "walltime"
                run.handle.cancel(self.config.cancel_grace_s)
            result = run.handle.poll()
            if result is None:
                continue
            self.generation += 1
            if run.stop_reason == "lost":
                with self._lock:
                    del self.running[lease]
                self.journal.remove(lease)
                self.clean_workdir(run.workdir)
                continue
            result = self.final_result(run, result)
            log.info("%s %s%s", run.label, result.state, (": " + result.error.splitlines()[0]) if result.error else "")
            run.log_buffer += run.handle.read_log()
            self.spool.new_entry(task=run.task, state=result.state, outputs=result.outputs, error=result.error,
                                 started=run.started, finished=utcnow_iso(), artifacts=result.artifacts,
                                 log_offset=run.log_offset, log_data=run.log_buffer, workdir=str(run.workdir))
            self.journal.remove(lease)
            with self._lock:  # one step: the slot is free for the results call's `lease`, not the long-poll
                del self.running[lease]
                self.reported[lease] = run

    def final_result(self, run: TaskRun, result: TaskResult) -> TaskResult:
        if run.stop_reason == "cancel":
            return TaskResult(CANCELLED, {}, "cancelled on request", [])
        if run.stop_reason == "walltime" and result.state != SUCCEEDED:
            return TaskResult(FAILED, {}, "stopped: exceeded the walltime of %s s" % run.walltime_s, [])
        if run.stop_reason == "shutdown" and result.state != SUCCEEDED:
            return TaskResult(FAILED, {}, "stopped: runner %r was shut down while the task ran" % self.config.name,
                              [])
        return result

    # ================================================================ delivering results

    def deliver_results(self) -> None:
        if not self.results_backoff.ready():
            return
        batch = []
        for entry in self.spool.pending():
            try:
                ready = self.prepare_entry(entry)
            except Unreachable as exc:
                log.warning("cannot deliver the result of lease %s yet (%s); retrying in %.1fs", entry["lease_id"],
                            exc, self.results_backoff.failed())
                return
            if ready:
                batch.append(entry)
        for start in range(0, len(batch), RESULT_BATCH):
            if not self.report_batch(batch[start:start + RESULT_BATCH]):
                return

    def prepare_entry(self, entry: dict) -> bool:
        """Sends the log tail and uploads artifacts (recording progress in the spool). False: drop it."""
        lease = entry["lease_id"]
        holder = _LogTail(entry)
        if holder.log_buffer and not self.send_log(lease, holder):
            raise Unreachable("log upload failed")
        if entry["log"] != {"offset": holder.log_offset, "data": holder.log_buffer}:
            entry["log"] = {"offset": holder.log_offset, "data": holder.log_buffer}
            self.spool.save(entry)
        for artifact in entry["artifacts"]:
            name, path, artifact_id = artifact
            if artifact_id:
                continue
            try:
                answer = self.client.upload("/api/v1/runners/artifacts", {"lease_id": lease, "name": name}, "file",
                                            path, name, content_type=_content_type(name),
                                            timeout=max(60.0, self.config.http_timeout_s))
            except Stale:
                log.warning("lease %s is not current any more: its result is dropped", lease)
                self.drop_spooled(lease)
                return False
            except (ClientError, OSError) as exc:
                # Too large, unreadable...: the task fails with the reason instead of losing its result.
                if entry["state"] == SUCCEEDED:
                    entry["state"], entry["error"] = FAILED, "artifact %r could not be uploaded: %s" % (name, exc)
                else:
                    entry["error"] = (entry.get("error") or "") + "\nartifact %r not uploaded: %s" % (name, exc)
                artifact[2] = "-"
                self.spool.save(entry)
                continue
            artifact[2] = str((answer or {}).get("id"))
            self.spool.save(entry)
        ids = {path: artifact_id for _, path, artifact_id in entry["artifacts"] if artifact_id and artifact_id != "-"}
        for placeholder in list(values.artifact_placeholders(entry["outputs"])):
            path = placeholder.pop("path")
            if path in ids:
                placeholder["id"] = ids[path]
            else:
                placeholder["id"] = None
                placeholder["error"] = "not uploaded"
        return True

    def report_batch(self, entries: List[dict]) -> bool:
        body = {"results": [
            {key: entry[key] for key in ("lease_id", "state", "outputs", "error")}
            for entry in entries
        ]}
        for item, entry in zip(body["results"], entries):
            for key in ("started", "finished"):
                if entry.get(key):
                    item[key] = entry[key]
        if self.lease_with_results:  # fill the free slots in `next` (max_tasks 0 when draining: nothing new)
            body["lease"] = {"max_tasks": self.slots_to_lease_with_results(), "executors": self.offered_executors()}
        try:
            answer = self.client.post("/api/v1/runners/results", body)
        except Stale as exc:
            answer = exc.body or {"results": [{"lease_id": e["lease_id"], "accepted": False,
                                               "reason": "409"} for e in entries]}
            for entry in entries:
                log.warning("result of lease %s%s refused with 409 (the lease is not current)", entry["lease_id"],
                            " (late, from before a restart)" if entry.get("late") else "")
        except Unreachable as exc:
            log.warning("reporting %d result(s) failed (%s); retrying in %.1fs", len(entries), exc,
                        self.results_backoff.failed())
            return False
        except ClientError as exc:
            if exc.status in (401, 403, 426):
                self.fatal(exc)
                return False
            if exc.status == 400 and "lease" in body:
                # Never let the `lease` addition cost a result: resend without it, lease separately from now on.
                log.warning("results with `lease` refused (%s); resending without it", exc)
                self.lease_with_results = False
                return self.report_batch(entries)
            # The server cannot take these as they are: report each as a plain failure instead.
            log.error("results refused (%s); reporting them as failed", exc)
            for entry in entries:
                if entry.get("rewritten"):
                    self.drop_spooled(entry["lease_id"])
                    continue
                entry.update(state=FAILED, outputs={}, error="the server refused the result: %s" % exc,
                             rewritten=True)
                self.spool.save(entry)
            return False
        self.results_backoff.succeeded()
        # The tasks handed back first: pending before the reported slots free up, so the long-poll never counts
        # them as free. Successors (chain affinity), then, with `lease`, other tasks for the free slots.
        for task in (answer or {}).get("next") or []:
            self.accept_task(task)
        answers = {str(a.get("lease_id")): a for a in (answer or {}).get("results") or []}
        for entry in entries:
            verdict = answers.get(entry["lease_id"])
            if verdict is None:
                continue  # not answered: stays spooled, sent again
            if verdict.get("accepted"):
                log.info("result of task %s (%s) accepted%s", entry.get("task_id"), entry.get("state"),
                         " (duplicate)" if verdict.get("duplicate") else "")
                if entry.get("task_id") is not None:
                    with self._lock:
                        self._last_finished.append(int(entry["task_id"]))
            else:
                log.warning("result of lease %s refused: %s", entry["lease_id"], verdict.get("reason") or "")
            self.drop_spooled(entry["lease_id"])
        self.generation += 1
        self.leaser.wake.set()
        return True

    def drop_spooled(self, lease: str) -> None:
        entry = self.spool.get(lease)
        self.spool.remove(lease)
        run = self.reported.pop(lease, None)
        workdir = (run.workdir if run else None) or (entry or {}).get("workdir")
        self.clean_workdir(workdir)

    def clean_workdir(self, workdir) -> None:
        if not workdir or self.config.keep_workdirs:
            return
        path = Path(workdir)
        try:
            inside = Path(self.config.work_dir) in path.parents or Path(self.config.shared_dir) in path.parents
            if inside and path.is_dir():
                shutil.rmtree(str(path), ignore_errors=True)
        except OSError:
            pass

    # ================================================================ pacing and exit

    def time_to_exit(self) -> bool:
        if self._fatal is not None and not self.running:
            return True
        busy = bool(self.pending or self.running or self.leaser.tasks.qsize())
        if self.stopping_now:
            if not self.running:
                self.deliver_results()  # one last try; what is left stays spooled
                return True
            return False
        if self.draining:
            if busy:
                return False
            if self.reported and self.results_backoff.failures < 3:
                return False  # a few tries to deliver before leaving; the spool keeps the rest
            return True
        if self.once:
            idle = not busy and not self.reported and not self.leaser.in_flight
            return idle and self.leaser.last_empty_generation == self.generation
        return False

    def wait_a_tick(self) -> None:
        busy = self.running or self.pending or self.reported
        self.wake_loop.wait(TICK_S if busy else IDLE_TICK_S)
        self.wake_loop.clear()


class _LogTail:
    """The log not yet sent for a spooled result, in the shape ``send_log`` works on."""

    def __init__(self, entry: dict):
        self.log_offset = int((entry.get("log") or {}).get("offset") or 0)
        self.log_buffer = str((entry.get("log") or {}).get("data") or "")


def _content_type(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"
