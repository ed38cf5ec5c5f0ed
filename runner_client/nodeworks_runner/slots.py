"""The runner's ``--concurrency`` slots and the tasks holding them.

A task holds a slot from its lease until the server has answered for its result, and is always in
exactly one of these places:

    leased    in a lease answer of the long-poll thread, not yet taken by the loop
    pending   taken, not started (its executor was full, or its inputs could not be fetched yet)
    running   started
    reported  finished, its result in the spool, not yet answered for

A lease call in flight holds the slots it asked for, so the long-poll, the results call and the
loop never lease more tasks than there are slots. One lock keeps the count right across the loop,
the long-poll thread and the heartbeat thread.

Prefetch (``--prefetch N``): while tasks finish quickly (the recent ones took under
``QUICK_TASK_S`` on average), up to N tasks more than ``--concurrency`` are leased, so the next
task is already here when a slot frees instead of one round trip later (Celery's prefetch does the
same). They wait in ``pending``, where heartbeats extend their leases and a cancel reaches them; a
draining runner runs them (they are short by that rule) rather than hand them back, which would
count as a lost lease. Long tasks never prefetch: the next task would wait a whole task behind one
runner while another could run it.
"""

from __future__ import annotations

import collections
import datetime
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from nodeworks_runner.executors.base import Handle

log = logging.getLogger("nodeworks_runner")

LAST_FINISHED_KEPT = 1000
QUICK_TASK_S = 1.0  # prefetch only while the recent tasks ran this long or less, on average
RECENT_TASKS = 20
# Automatic prefetch (the default): enough tasks to keep the slots busy for this long at the recent
# pace, at least --concurrency and at most MAX_PREFETCH. Tasks of a millisecond or less (built-in
# nodes run in the runner process: executors/inline.py) then come hundreds per call instead of a
# few, and one results call answers for all of them; a task of a second prefetches --concurrency.
PREFETCH_WORK_S = 0.1
MAX_PREFETCH = 500


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
        self.leased_at = time.monotonic()
        self.inline: Optional[bool] = None  # runs in the runner process (executors/inline.py); decided once
        # A chain link (the server's segments): it starts once the task holding this lease has succeeded here.
        self.after: Optional[str] = str((task.get("after") or {}).get("lease_id") or "") or None
        self.blocked = self.after is not None
        self.waits_for_answer = False  # its parent's outputs hold artifacts: their ids come with the answer

    @property
    def label(self) -> str:
        node = self.task.get("node") or {}
        return "task %s (%s, run %s, attempt %s)" % (
            self.task.get("task_id"), node.get("uniquename") or "?", self.task.get("run_id"), self.task.get("attempt"))

    def lease_seconds_left(self) -> Optional[float]:
        """From the expiry the server gave with the task (None if it gave none)."""
        expires_at = self.task.get("expires_at")
        if not expires_at:
            return None
        try:
            at = datetime.datetime.fromisoformat(str(expires_at).replace("Z", "+00:00")).timestamp()
        except (TypeError, ValueError):
            return None
        return at - time.time()


class Slots:
    def __init__(self, concurrency: int, prefetch: int = 0, *, auto_prefetch: bool = False):
        self.concurrency = int(concurrency)
        self.prefetch = max(0, int(prefetch))
        self.auto_prefetch = auto_prefetch and self.prefetch > 0
        self.recent_s: "collections.deque[float]" = collections.deque(maxlen=RECENT_TASKS)  # run times
        self.tally: "collections.Counter[str]" = collections.Counter()  # for the summary log line
        self.lock = threading.RLock()
        self.leased: "queue.Queue[dict]" = queue.Queue()
        self.pending: List[TaskRun] = []
        self._pending_leases: set = set()  # the lease ids in `pending`: hundreds are leased at once
        self.running: Dict[str, TaskRun] = {}  # lease id -> run
        self.reported: Dict[str, TaskRun] = {}
        self.leasing = 0  # slots held by the lease call in flight
        self.generation = 0  # bumped on every change of work (for --once: "nothing changed since")
        self.freed = threading.Event()  # results were answered for: the long-poll may lease again
        self.shortest_lease_s: Optional[float] = None  # the shortest lease time the server has given
        self._last_finished: List[int] = []
        self._waiting_on: Dict[str, List[TaskRun]] = {}  # a lease -> the chain links that wait for its task

    # ------------------------------------------------------------ counting

    def capacity(self) -> int:
        """Tasks this runner may hold before their results: the slots, plus the prefetch while tasks are quick."""
        recent = self.recent_s
        if not (self.prefetch and recent):
            return self.concurrency
        average = sum(recent) / len(recent)
        if average > QUICK_TASK_S:
            return self.concurrency
        if not self.auto_prefetch:
            return self.concurrency + self.prefetch
        paced = int(max(1, self.concurrency) * PREFETCH_WORK_S / max(average, 1e-6))
        return self.concurrency + max(self.prefetch, min(MAX_PREFETCH, paced))

    def free(self) -> int:
        with self.lock:
            held = len(self.pending) + len(self.running) + self.leased.qsize() + self.leasing
        return max(0, self.capacity() - held)

    def note_run_time(self, seconds: float) -> None:
        self.recent_s.append(max(0.0, seconds))

    def may_start_more(self) -> bool:
        return len(self.running) < max(1, self.concurrency)

    def busy(self) -> bool:
        """Tasks leased, waiting or running (not counting results waiting for their answer)."""
        return bool(self.pending or self.running or self.leased.qsize())

    def held_leases(self, *, older_than_s: float = 0.0) -> Tuple[List[str], Dict[str, TaskRun]]:
        """The leases this runner holds, and the running tasks among them: what a heartbeat names.

        With `older_than_s`, a lease taken more recently is left out unless its task runs: its expiry
        is still far (the server gave a whole lease period), and naming hundreds of prefetched tasks
        that will be done in a moment made the server extend hundreds of leases for nothing."""
        cutoff = time.monotonic() - older_than_s
        with self.lock:
            waiting = list(self.pending) + list(self.reported.values())
            leases = [run.lease_id for run in waiting if run.leased_at <= cutoff] + list(self.running)
            return leases, dict(self.running)

    def holds_any(self) -> bool:
        with self.lock:
            return bool(self.pending or self.running or self.reported)

    # ------------------------------------------------------------ leasing

    def reserve_for_lease(self, most: int) -> int:
        """The slots a lease call may ask for, held until :meth:`lease_answered`."""
        with self.lock:
            self.leasing = min(self.free(), most)
            return self.leasing

    def lease_answered(self, tasks: List[dict]) -> None:
        with self.lock:  # queued and unreserved in one step: free() never counts them twice or not at all
            for task in tasks:
                self.leased.put(task)
            self.leasing = 0

    def take_leased(self) -> None:
        """The long-poll's tasks become pending."""
        while True:
            with self.lock:  # from the queue to pending in one step: free() never misses it
                try:
                    task = self.leased.get_nowait()
                except queue.Empty:
                    return
                self.accept(task)

    def accept(self, task: dict) -> None:
        """A leased task waits for a slot to start in (a lease answered twice is taken once)."""
        run = TaskRun(task)
        with self.lock:
            if run.lease_id in self.running or run.lease_id in self._pending_leases:
                return
            self.pending.append(run)
            self._pending_leases.add(run.lease_id)
            if run.after is not None:
                self._waiting_on.setdefault(run.after, []).append(run)
        self.generation += 1
        self._note_lease_time(run)
        self.tally["leased"] += 1
        log.debug("leased %s", run.label)  # per task: -v; the loop logs a summary (worker.py)

    def _note_lease_time(self, run: TaskRun) -> None:
        left = run.lease_seconds_left()
        if left is not None and left > 0:
            self.shortest_lease_s = left if self.shortest_lease_s is None else min(self.shortest_lease_s,
                                                                                    max(left, 0.5))

    # ------------------------------------------------------------ moving a task on

    def adopt(self, run: TaskRun) -> None:
        """A task still running from before a restart (a SLURM job) takes a slot again."""
        with self.lock:
            self.running[run.lease_id] = run

    def started(self, run: TaskRun) -> None:
        with self.lock:
            self.pending.remove(run)
            self._pending_leases.discard(run.lease_id)
            self.running[run.lease_id] = run

    def finished(self, run: TaskRun) -> None:
        """Its result is spooled: the slot stays held until the server answers for it."""
        with self.lock:  # one step: the slot is free for the results call's `lease`, not the long-poll
            if run.lease_id in self._pending_leases:
                self.pending.remove(run)
                self._pending_leases.discard(run.lease_id)
            self.running.pop(run.lease_id, None)
            self.reported[run.lease_id] = run
        self.generation += 1

    def forget(self, run: TaskRun) -> None:
        """The lease is gone (lost) before the task was reported: nothing will be reported for it."""
        with self.lock:
            if run.lease_id in self._pending_leases:
                self.pending.remove(run)
                self._pending_leases.discard(run.lease_id)
            self.running.pop(run.lease_id, None)
        self.generation += 1

    def answered(self, lease_id: str) -> Optional[TaskRun]:
        """The server answered for this lease's result (or it was dropped): its slot is free."""
        with self.lock:
            return self.reported.pop(lease_id, None)

    def find_pending(self, lease_id: str) -> Optional[TaskRun]:
        with self.lock:
            return next((run for run in self.pending if run.lease_id == lease_id), None)

    def followers(self, lease_id: str) -> List[TaskRun]:
        """The chain links still waiting for this lease's task (see TaskRun.after)."""
        with self.lock:
            waiting = [run for run in self._waiting_on.get(lease_id, ()) if run.blocked and run.lease_id in self._pending_leases]
            if not waiting:
                self._waiting_on.pop(lease_id, None)
            return waiting

    # ------------------------------------------------------------ lease hints

    def note_finished(self, task_id: int) -> None:
        """An accepted result: the next lease call names it, so the server may prefer its successors here."""
        with self.lock:
            self._last_finished.append(task_id)

    def take_last_finished(self) -> List[int]:
        with self.lock:
            finished, self._last_finished = self._last_finished, []
        return finished[-LAST_FINISHED_KEPT:]

    def restore_last_finished(self, ids: List[int]) -> None:
        with self.lock:
            self._last_finished = ids + self._last_finished
