"""Running leased tasks on the executors: start them, stop them, collect their results.

A pending task starts once a slot and its executor have room: its work directory is made and the
upstream artifacts named in its inputs are downloaded first. A task is stopped when the server
cancels it or takes its lease back, when it passes its walltime, or on a second signal. A finished
task's result goes to the spool (see spool.py) with its log tail and artifacts, ready for delivery;
a task whose lease was lost is dropped without a result.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Callable, Dict

from nodeworks_runner import values
from nodeworks_runner.config import RunnerConfig
from nodeworks_runner.executors.base import CANCELLED, FAILED, SUCCEEDED, Executor, NoCapacity, TaskResult
from nodeworks_runner.executors.inline import InlineHandle, run_inline, runs_inline
from nodeworks_runner.http import Client, ClientError, Stale, Unreachable
from nodeworks_runner.signals import Shutdown
from nodeworks_runner.slots import Slots, TaskRun
from nodeworks_runner.spool import Journal, Spool, utcnow_iso
from nodeworks_runner.workdirs import clean_workdir, safe_name, workdir_for

log = logging.getLogger("nodeworks_runner")

FAST_CANCEL_GRACE_S = 2.0  # grace on the second signal
INPUTS_RETRY_S = 2.0  # an unreachable server: fetch the inputs again after this
EXECUTOR_FULL_RETRY_S = 1.0


class Tasks:
    def __init__(self, config: RunnerConfig, client: Client, executors: Dict[str, Executor], slots: Slots,
                 spool: Spool, journal: Journal, shutdown: Shutdown, *, on_started: Callable[[], None]):
        self.config = config
        self.client = client
        self.executors = executors
        self.slots = slots
        self.spool = spool
        self.journal = journal
        self.shutdown = shutdown
        self.on_started = on_started  # the server hears at once that a task runs (leased -> running)

    # ------------------------------------------------------------ starting

    def start_pending(self) -> None:
        """Up to --concurrency tasks run; a task its executor has no room for waits its turn. A task
        that runs in the runner process (executors/inline.py) ends before its turn is over, so it
        takes no slot from the others, and the chain links waiting for it start in the same pass."""
        if self.shutdown.stopping_now:
            return
        progress = True
        while progress:
            progress = False
            now = time.monotonic()
            for run in list(self.slots.pending):
                if run.blocked or run.not_before > now:
                    continue
                if self.runs_inline(run):
                    self.start_inline(run)
                    progress = progress or bool(self.slots.followers(run.lease_id))
                    self.release_followers(run, run.handle.poll())
                elif self.slots.may_start_more():
                    self.start(run)

    def runs_inline(self, run: TaskRun) -> bool:
        if run.inline is None:
            run.inline = runs_inline(run.task, offered=list(self.executors), node_path=self.config.node_path)
        return run.inline

    def start_inline(self, run: TaskRun) -> None:
        """No journal entry: the task has ended before anything could crash in between, and a result
        lost with the process is a lease that expires and is run again, as for any task."""
        run.started, run.started_at = utcnow_iso(), time.monotonic()
        run.workdir = workdir_for(self.config, run)  # made only if an output is spilled to a file
        result, printed = run_inline(run.task, run.workdir, inline_limit=self.config.inline_limit_bytes)
        run.handle = InlineHandle(result, printed, utcnow_iso())
        if not result.artifacts:  # nothing was spilled: no folder to clean up later
            run.workdir = None
        run.handle.task = run.task
        self.slots.started(run)

    def start(self, run: TaskRun) -> None:
        """The task moves to ``running``, or to ``reported`` (failed), or waits in ``pending``."""
        run.started, run.started_at = utcnow_iso(), time.monotonic()
        executor = self.executors.get(run.executor_name)
        if executor is None:
            self.finish_without_running(run, FAILED, "runner %r does not offer the %r executor (it offers %s)" % (
                self.config.name, run.executor_name, ", ".join(sorted(self.executors))))
            return
        run.workdir = workdir_for(self.config, run)
        try:
            run.workdir.mkdir(parents=True, exist_ok=True)
            self.download_artifact_inputs(run)
        except Unreachable as exc:
            log.warning("cannot fetch the inputs of %s yet (%s); will retry", run.label, exc)
            run.not_before = time.monotonic() + INPUTS_RETRY_S
            return
        except (ClientError, Stale, OSError, ValueError) as exc:
            self.finish_without_running(run, FAILED, "cannot fetch an input artifact: %s" % exc)
            return
        try:
            run.handle = executor.start(run.task, run.workdir)
        except NoCapacity as exc:
            log.info("%s waits: executor %s is full (%s)", run.label, run.executor_name, exc)
            run.not_before = time.monotonic() + EXECUTOR_FULL_RETRY_S
            return
        except Exception as exc:
            log.exception("executor %s could not start %s", run.executor_name, run.label)
            self.finish_without_running(run, FAILED, "executor %r could not start the task on runner %r: %s" % (
                run.executor_name, self.config.name, exc))
            return
        run.handle.task = run.task
        self.slots.started(run)
        try:
            info = run.handle.info()
        except Exception:
            info = {}
        self.journal.started(run.task, workdir=str(run.workdir), executor=run.executor_name, info=info)
        self.on_started()
        log.debug("started %s on %s", run.label, run.executor_name)

    # ------------------------------------------------------------ chain links (the server's segments)

    def release_followers(self, run: TaskRun, result: TaskResult) -> None:
        """The chain links waiting for this task: started with its outputs when it succeeded (after its
        result is answered for, if its outputs name artifacts to upload first); dropped otherwise, as
        the server takes their leases back when it hears of the parent."""
        followers = self.slots.followers(run.lease_id)
        if not followers:
            return
        if result.state != SUCCEEDED:
            self.drop_followers(run.lease_id, "its upstream task %s" % result.state)
            return
        if any(True for _ in values.artifact_placeholders(result.outputs)):
            for follower in followers:
                follower.waits_for_answer = True
            return
        for follower in followers:
            self.unblock(follower, result.outputs)

    def parent_answered(self, entry: dict, accepted: bool) -> None:
        """Delivery answered for a result: links waiting for its artifacts' ids start, or go if refused."""
        waiting = [run for run in self.slots.followers(entry["lease_id"]) if run.waits_for_answer]
        if not waiting:
            return
        if not accepted:
            self.drop_followers(entry["lease_id"], "the server did not accept its upstream task's result")
            return
        for follower in waiting:
            self.unblock(follower, entry.get("outputs") or {})
        self.shutdown.wake_loop.set()

    def unblock(self, run: TaskRun, parent_outputs: dict) -> None:
        inputs = dict(run.task.get("inputs") or {})
        for terminal, position, source in (run.task.get("after") or {}).get("fill") or []:
            value = parent_outputs.get(source)
            if position is None:
                inputs[terminal] = value
            else:
                items = list(inputs.get(terminal) or [])
                items.extend([None] * (int(position) + 1 - len(items)))
                items[int(position)] = value
                inputs[terminal] = items
        run.task["inputs"] = inputs
        run.blocked = run.waits_for_answer = False

    def drop_followers(self, lease_id: str, why: str) -> None:
        for follower in self.slots.followers(lease_id):
            log.info("%s not run: %s", follower.label, why)
            self.slots.forget(follower)
            self.drop_followers(follower.lease_id, why)

    def download_artifact_inputs(self, run: TaskRun) -> None:
        """Upstream artifacts named in the inputs are fetched into the work dir; their refs get a ``path``."""
        folder = run.workdir / "inputs"
        for ref in values.artifact_references(run.task.get("inputs") or {}):
            if ref.get("path") and os.path.exists(ref["path"]):
                continue
            folder.mkdir(exist_ok=True)
            target = folder / ("%s-%s" % (str(ref["id"])[:8], safe_name(ref.get("name") or "artifact")))
            self.client.download("/api/v1/runners/artifacts/%s" % ref["id"], str(target))
            ref["path"] = str(target)

    def finish_without_running(self, run: TaskRun, state: str, error: str) -> None:
        log.warning("%s: %s", run.label, error)
        self.spool.new_entry(task=run.task, state=state, outputs={}, error=error, started=run.started,
                             finished=utcnow_iso(), artifacts=[], log_offset=0, log_data=error + "\n",
                             workdir=str(run.workdir or ""))
        self.slots.finished(run)
        self.drop_followers(run.lease_id, "its upstream task %s" % state)

    # ------------------------------------------------------------ stopping

    def cancel(self, lease_id: str) -> None:
        """The run or task was cancelled: stop the process and report ``cancelled``."""
        waiting = self.slots.find_pending(lease_id)
        if waiting is not None:
            self.finish_without_running(waiting, CANCELLED, "cancelled before it started")
            return
        run = self.slots.running.get(lease_id)
        if run is not None and not run.stop_reason:
            log.info("cancel %s", run.label)
            run.stop_reason = "cancel"
            run.handle.cancel(self.config.cancel_grace_s)

    def lose(self, lease_id: str) -> None:
        """The lease is no longer ours (expired, re-queued): stop the work, report nothing."""
        waiting = self.slots.find_pending(lease_id)
        if waiting is not None:
            self.slots.forget(waiting)
            log.warning("lost the lease of %s before it started", waiting.label)
        run = self.slots.running.get(lease_id)
        if run is not None:
            log.warning("lost the lease of %s: stopping it without reporting", run.label)
            run.stop_reason = "lost"
            run.handle.cancel(self.config.cancel_grace_s)

    # ------------------------------------------------------------ collecting

    def collect_finished(self) -> None:
        """Finished tasks go to the spool (with their log tail and artifacts); stops what must stop.

        Those found together are spooled together (one file, one fsync: spool.py); each leaves the
        journal and its slot moves to ``reported`` only once that write is done."""
        spooled = []
        for lease, run in list(self.slots.running.items()):
            self.stop_if_due(run)
            result = run.handle.poll()
            if result is None:
                continue
            if run.stop_reason == "lost":
                self.journal.remove(lease)
                self.slots.forget(run)
                clean_workdir(self.config, run.workdir)
                continue
            result = self.final_result(run, result)
            self.slots.note_run_time((run.handle.ended_monotonic or time.monotonic()) - run.started_at)
            # A success per task only with -v (a summary line comes every few seconds); anything else always.
            log.log(logging.DEBUG if result.state == SUCCEEDED and not result.error else logging.INFO, "%s %s%s",
                    run.label, result.state, (": " + result.error.splitlines()[0]) if result.error else "")
            run.log_buffer += run.handle.read_log()
            spooled.append((run, self.spool.new_entry(
                task=run.task, state=result.state, outputs=result.outputs, error=result.error, started=run.started,
                finished=run.handle.finished_at or utcnow_iso(), artifacts=result.artifacts, log_offset=run.log_offset,
                log_data=run.log_buffer,
                workdir=str(run.workdir or ""), save=False)))
        if not spooled:
            return
        self.spool.save_many([entry for _, entry in spooled])
        for run, entry in spooled:
            if not run.inline:  # an inline task has no journal entry
                self.journal.remove(run.lease_id)  # only once spooled: a crash in between is found by recovery
            self.slots.finished(run)
            self.release_followers(run, TaskResult(entry["state"], entry["outputs"], entry["error"], []))

    def stop_if_due(self, run: TaskRun) -> None:
        if self.shutdown.stopping_now and not run.stop_reason:
            run.stop_reason = "shutdown"
            run.handle.cancel(min(self.config.cancel_grace_s, FAST_CANCEL_GRACE_S))
        if run.walltime_s and not run.stop_reason and time.monotonic() - run.started_at > float(run.walltime_s):
            log.warning("%s exceeded its walltime of %ss: stopping it", run.label, run.walltime_s)
            run.stop_reason = "walltime"
            run.handle.cancel(self.config.cancel_grace_s)

    def final_result(self, run: TaskRun, result: TaskResult) -> TaskResult:
        if run.stop_reason == "cancel":
            return TaskResult(CANCELLED, {}, "cancelled on request", [])
        if run.stop_reason == "walltime" and result.state != SUCCEEDED:
            return TaskResult(FAILED, {}, "stopped: exceeded the walltime of %s s" % run.walltime_s, [])
        if run.stop_reason == "shutdown" and result.state != SUCCEEDED:
            return TaskResult(FAILED, {}, "stopped: runner %r was shut down while the task ran" % self.config.name,
                              [])
        return result
