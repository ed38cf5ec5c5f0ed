"""The runner loop: read :meth:`Runner.run` top to bottom.

Each step is a small piece with one job, in its own module:

    slots.py       the --concurrency slots and the tasks holding them (leased, pending, running, reported)
    leasing.py     the long-poll ``lease`` call, on its own thread
    tasks.py       start tasks (inputs downloaded first), stop them, collect their results into the spool
    heartbeats.py  extend the leases, on their own thread and HTTP client; the answers say cancel / lost
    logs.py        stream the running tasks' logs
    delivery.py    the spool to the server: log tails, artifacts, results in batches (leasing the freed slots)
    recovery.py    after a restart: re-adopt SLURM jobs, report tasks that finished while the runner was down
    signals.py     first SIGTERM drains, a second stops now
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Dict, Optional

from nodeworks_runner import library
from nodeworks_runner.config import RunnerConfig
from nodeworks_runner.delivery import Delivery
from nodeworks_runner.executors import create_executor
from nodeworks_runner.executors.base import Executor
from nodeworks_runner.heartbeats import Heartbeats
from nodeworks_runner.http import Client
from nodeworks_runner.leasing import Leaser
from nodeworks_runner.logs import Logs
from nodeworks_runner.recovery import recover
from nodeworks_runner.signals import Shutdown
from nodeworks_runner.slots import Slots
from nodeworks_runner.spool import Journal, Spool
from nodeworks_runner.tasks import Tasks

log = logging.getLogger("nodeworks_runner")

TICK_S = 0.02  # the loop's pace while tasks run (a local task ending wakes it at once)
SUMMARY_EVERY_S = 10.0  # the INFO line counting tasks (per task: -v)
IDLE_TICK_S = 0.1
DELIVERY_TRIES_WHEN_DRAINING = 3  # before leaving; the spool keeps the rest for the next start


def connect(config: RunnerConfig) -> Client:
    return Client(config.url, config.token, ca_bundle=config.ca_bundle, timeout=config.http_timeout_s,
                  proxy=config.proxy, retry_max_s=config.retry_max_s)


class Runner:
    def __init__(self, config: RunnerConfig, client: Optional[Client] = None, *, shutdown: Optional[Shutdown] = None):
        self.config = config
        self.client = client or connect(config)
        self.executors: Dict[str, Executor] = {}
        # `nodeworks-runner run` makes (and installs) it first thing: a signal during the imports counts.
        self.shutdown = shutdown or Shutdown(threading.Event())
        self.wake_loop = self.shutdown.wake_loop
        self.slots = Slots(config.concurrency, prefetch=config.prefetch_tasks(), auto_prefetch=config.prefetch < 0)
        self.spool = Spool(config.spool_dir)
        self.journal = Journal(Path(config.state_dir) / "journal")
        self.logs = Logs(self.client, config.log_interval_s)
        self.heartbeats = Heartbeats(connect(config), self.slots, self.shutdown, period_s=config.heartbeat_s,
                                     retry_max_s=config.retry_max_s)
        self.tasks = Tasks(config, self.client, self.executors, self.slots, self.spool, self.journal,
                           self.shutdown, on_started=self.heartbeats.beat_now)
        self.delivery = Delivery(config, self.client, self.executors, self.spool, self.slots, self.logs,
                                 self.shutdown, server_ok_at=self.server_ok_at)
        self.delivery.on_answered = self.tasks.parent_answered
        self.leaser: Optional[Leaser] = None
        self.once = False
        self.summary_at = 0.0

    def run(self, once: bool = False) -> int:
        self.set_up(once)  # executors, signal handlers, recovery; the long-poll and heartbeat threads start
        while not self.time_to_exit():
            self.slots.take_leased()  # lease: the long-poll thread's tasks (results calls add theirs)
            self.tasks.start_pending()  # execute: up to --concurrency, input artifacts fetched first
            self.act_on_heartbeat_answers()  # heartbeat (own thread): cancel / lost stop a task
            self.logs.stream_if_due(self.slots.running.values())
            self.tasks.collect_finished()  # finished tasks -> the spool (log tail, artifacts)
            self.tasks.start_pending()  # the freed slots run prefetched tasks while the results call is out
            self.delivery.deliver()  # report: log tails, artifacts, results in batches; next tasks come back
            self.log_summary()
            self.wait_a_tick()
        self.tear_down()
        return self.shutdown.exit_code

    # ------------------------------------------------------------ the steps not in their own module

    def set_up(self, once: bool) -> None:
        self.once = once
        # Before anything that takes time (the warm pool, recovery, the threads' first calls): a signal
        # during the set-up drains (or stops) the runner once it is set up, never kills it.
        self.shutdown.install()
        for folder in (self.config.work_dir, self.config.state_dir, self.config.spool_dir):
            Path(folder).mkdir(parents=True, exist_ok=True)
        for name in self.config.executors:
            try:
                self.executors[name] = create_executor(name, self.config)
            except Exception as exc:  # e.g. no docker/podman/sbatch on this host
                log.error("executor %r is not available here and will not be offered: %s", name, exc)
                continue
            self.executors[name].on_finished = self.wake_loop.set
        if not self.executors:
            raise SystemExit("no executor is available (configured: %s)" % ", ".join(self.config.executors))
        recover(self.config, self.executors, self.slots, self.spool, self.journal)
        self.leaser = Leaser(self.client, self.slots, self.shutdown, executors=sorted(self.executors),
                             wait_s=0.0 if once else self.config.lease_wait_s, retry_max_s=self.config.retry_max_s,
                             results_will_lease=self.delivery.will_lease)
        self.leaser.start()
        self.heartbeats.start()
        if not self.shutdown.draining:  # stopped during the set-up: no server call worth making
            library.start_reporting(connect(self.config), self.config.node_path, stopped=self.heartbeats.stopped)
        log.info("runner %r serving %s with executors %s, concurrency %d", self.config.name, self.config.url,
                 ", ".join(self.executors), self.config.concurrency)

    def log_summary(self, *, final: bool = False) -> None:
        """One INFO line for the tasks of the last few seconds (and when the runner goes idle), instead of
        four per task: at hundreds of tasks per second those lines cost a large share of a no-op task."""
        tally = self.slots.tally
        if not tally:
            return
        now = time.monotonic()
        if not self.summary_at:
            self.summary_at = now
        idle = not self.slots.busy() and not self.slots.reported
        if not (final or idle or now - self.summary_at >= SUMMARY_EVERY_S):
            return
        counted = dict(tally)
        tally.clear()
        leased = counted.pop("leased", 0)
        results = ", ".join("%d %s" % (n, state) for state, n in sorted(counted.items()))
        log.info("leased %d task(s), results accepted: %s (%.1fs)", leased, results or "none", now - self.summary_at)
        self.summary_at = 0.0 if idle else now

    def act_on_heartbeat_answers(self) -> None:
        for lease_id, answer in self.heartbeats.answers():
            if answer == "cancel":
                self.tasks.cancel(lease_id)
            else:
                self.tasks.lose(lease_id)
                self.delivery.forget(lease_id)

    def server_ok_at(self) -> float:
        """When the server last answered a call of this runner (its heartbeats have their own client)."""
        return max(self.client.last_ok_at, self.heartbeats.client.last_ok_at)

    def time_to_exit(self) -> bool:
        shutdown, slots = self.shutdown, self.slots
        if shutdown.refusal is not None and not slots.running:
            return True
        if shutdown.stopping_now:
            if slots.running:
                return False
            self.delivery.deliver()  # one last try; what is left stays spooled
            return True
        if shutdown.draining:
            delivering = slots.reported and self.delivery.backoff.failures < DELIVERY_TRIES_WHEN_DRAINING
            return not slots.busy() and not delivering
        if self.once and self.server_unreachable_too_long():
            return not slots.running  # the running tasks finish into the spool, sent on the next start
        if self.once:
            # The spool counts too: results recovered from a previous start are in no slot, and an
            # empty lease answer must not end the run before they are sent.
            idle = not slots.busy() and not slots.reported and not self.delivery.spool.entries and not self.leaser.in_flight
            return idle and self.leaser.last_empty_generation == slots.generation
        return False

    def server_unreachable_too_long(self) -> bool:
        """--once (for cron) gives up after --retry-attempts failed tries in a row; the long-running mode never."""
        failures = max(self.leaser.backoff.failures, self.delivery.backoff.failures, self.heartbeats.backoff.failures)
        if failures < max(1, self.config.retry_attempts):
            return False
        self.shutdown.gave_up("the server at %s could not be reached %d times in a row (--retry-attempts %d)"
                              % (self.config.url, failures, self.config.retry_attempts))
        return True

    def wait_a_tick(self) -> None:
        busy = self.slots.running or self.slots.pending or self.slots.reported
        self.wake_loop.wait(TICK_S if busy else IDLE_TICK_S)
        self.wake_loop.clear()

    def tear_down(self) -> None:
        self.log_summary(final=True)
        self.leaser.stop()
        self.heartbeats.stop()
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
