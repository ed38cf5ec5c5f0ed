"""The life of a task and of its run, in one place: every transition goes through this package.

    pending ──parents succeeded──▶ queued ──claim──▶ leased ──heartbeat (running)──▶ running
                                     ▲                  │                                 │
                                     └─ retry (a failure with retries left), lost lease ──┘
                                        (the reaper), stopped by its runner unasked
    leased | running ──result──▶ succeeded | failed | cancelled     (a child: pending → queued,
                                                                      or → upstream_failed)
    pending | queued ──cancel──▶ cancelled;  leased | running: told "cancel" at the next heartbeat
    failed | cancelled | upstream_failed ──requeue──▶ queued | pending
    a run ends (succeeded | failed | cancelled) when its last task is final (run_end.py)

One module per job, one public surface (this one); callers outside the package import from here:

- queue.py      a new run's tasks enter the queue (run_queued)
- claim.py      queued → leased for a runner's RunnerScope (tasks_claim); fit.py: the tag-fit rule
- payloads.py   what the runner is given for a claimed task
- fence.py      the one rule for "is this lease current?" (lease_current, LeaseNotCurrent)
- leases.py     heartbeats (leased → running, expiry extended), the reaper (lease_reap), and the
                lease clock that extends leases over a database or server outage
- data.py       log chunks and artifacts sent under a lease
- results.py    results: succeed / fail / cancelled, then the successors for the same runner
- outcomes.py   the fenced transitions themselves: succeed, fail and retry, lose, cancelled, cancel
- cancel.py     a run, many runs, the queue, everything
- requeue.py    failed, cancelled or upstream_failed tasks back to the queue
- run_end.py    the one "is the run done?" step (run_finish_if_done)
- locks.py      the one lock order: the run row, then its task rows (run_lock)
- downstream.py the descendants of an ended task end upstream_failed (one recursive statement)
- reuse.py      a ready task whose input digest matches an earlier success takes its outputs (NW-REUSE hooks)

The runners app owns runner rows; it hands their facts in (RunnerScope) and calls these functions.
"""

from workflows.lifecycle import reuse
from workflows.lifecycle.cancel import cancel_all, queue_clear, run_cancel, runs_cancel
from workflows.lifecycle.claim import RunnerScope, successors_queued, tasks_claim
from workflows.lifecycle.data import artifact_for_runner, artifact_store, log_append
from workflows.lifecycle.fence import LeaseNotCurrent, lease_current
from workflows.lifecycle.fit import tags_fit
from workflows.lifecycle.leases import lease_heartbeat, lease_reap, lease_reap_if_due
from workflows.lifecycle.outcomes import Outcome, retry_backoff, task_cancel, task_cancelled, task_fail, task_lose
from workflows.lifecycle.payloads import task_payloads
from workflows.lifecycle.queue import run_queued
from workflows.lifecycle.requeue import REQUEUEABLE_STATES, tasks_requeue
from workflows.lifecycle.results import ResultAnswer, results_report
from workflows.lifecycle.run_end import run_finish_if_done

__all__ = [
    "REQUEUEABLE_STATES",
    "LeaseNotCurrent",
    "Outcome",
    "ResultAnswer",
    "RunnerScope",
    "artifact_for_runner",
    "artifact_store",
    "cancel_all",
    "lease_current",
    "lease_heartbeat",
    "lease_reap",
    "lease_reap_if_due",
    "log_append",
    "queue_clear",
    "results_report",
    "retry_backoff",
    "reuse",
    "run_cancel",
    "run_finish_if_done",
    "run_queued",
    "runs_cancel",
    "successors_queued",
    "tags_fit",
    "task_cancel",
    "task_cancelled",
    "task_fail",
    "task_lose",
    "task_payloads",
    "tasks_claim",
    "tasks_requeue",
]
