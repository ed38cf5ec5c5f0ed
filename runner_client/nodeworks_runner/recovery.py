"""After a restart (a crash, kill -9, a reboot): pick up what the last process left.

* Results in the spool are resent by delivery as they are (nothing to do here but say so).
* SLURM jobs still queued or running are re-adopted: they take their slots again.
* A task started before the crash (still in the journal) whose process wrote its ``result.json`` is
  reported late: the server accepts it if the lease is still current, else answers 409 and it is
  dropped. Without a result it is left to the server, which re-queues it when the lease expires. A
  leftover process of such a task is stopped.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Dict, Set

from nodeworks_runner.config import RunnerConfig
from nodeworks_runner.executors.base import Executor, TaskResult
from nodeworks_runner.slots import Slots, TaskRun
from nodeworks_runner.spool import Journal, Spool, utcnow_iso

log = logging.getLogger("nodeworks_runner")


def recover(config: RunnerConfig, executors: Dict[str, Executor], slots: Slots, spool: Spool,
            journal: Journal) -> None:
    adopted = readopt_jobs(config, executors, slots, journal)
    for entry in journal.load_all():
        if entry["lease_id"] in adopted:
            continue
        if spool.get(entry["lease_id"]) is not None:  # crashed between spooling and this clean-up
            journal.remove(entry["lease_id"])
            continue
        report_orphan(entry, spool, journal)
    for entry in spool.pending():
        log.info("resending the spooled result of lease %s (%s)", entry["lease_id"], entry.get("state"))


def readopt_jobs(config: RunnerConfig, executors: Dict[str, Executor], slots: Slots, journal: Journal) -> Set[str]:
    """Tasks an executor still watches (SLURM jobs) are running again; their lease ids."""
    adopted = set()
    for name, executor in executors.items():
        try:
            handles = executor.adopt(config.state_dir)
        except Exception as exc:
            log.error("executor %s could not re-adopt its tasks: %s", name, exc)
            handles = []
        for handle in handles:
            if not handle.task:
                continue
            run = TaskRun(handle.task)
            run.handle, run.started, run.started_at = handle, utcnow_iso(), time.monotonic()
            entry = journal.get(run.lease_id)
            run.workdir = Path(entry["workdir"]) if entry else None
            slots.adopt(run)
            adopted.add(run.lease_id)
            log.info("re-adopted %s", run.label)
    return adopted


def report_orphan(entry: dict, spool: Spool, journal: Journal) -> None:
    """A task started before a crash: its result, if its process wrote one, is reported (late)."""
    task, workdir = entry["task"], Path(entry["workdir"])
    stop_leftover_process(entry)
    result_file = workdir / "result.json"
    if result_file.exists():
        result = TaskResult.read(result_file)
        log.info("found the late result of lease %s from before a restart; reporting it", entry["lease_id"])
        spool.new_entry(task=task, state=result.state, outputs=result.outputs, error=result.error,
                        started="", finished=utcnow_iso(), artifacts=result.artifacts, log_offset=0,
                        log_data="", workdir=str(workdir), late=True)
    else:
        log.info("lease %s was interrupted by a restart; the server will re-queue it", entry["lease_id"])
    journal.remove(entry["lease_id"])


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
