"""Delivering spooled results: each result's log tail and artifacts first, then the results in
batches, leasing the freed slots in the same call.

Leasing inside results: a ``results`` call carries ``lease: {max_tasks, executors}`` with the
slots free once those results are in (0 while draining), and the server fills them in ``next``,
successors first (chain affinity: a chain's data stays on this host). A runner that keeps its
slots full so makes one call per batch. A server that ignores the key hands back successors only
and the long-poll leases the rest; a server that refuses it (400) gets the batch again without it,
and is never asked again.

A result leaves the spool only once the server has answered for it (accepted, or refused for good);
an unreachable server is retried with back-off.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Dict, List

from nodeworks_runner import values
from nodeworks_runner.config import RunnerConfig
from nodeworks_runner.executors.base import FAILED, SUCCEEDED, Executor
from nodeworks_runner.http import Backoff, Client, ClientError, Stale, Unreachable
from nodeworks_runner.leasing import MAX_LEASE_TASKS
from nodeworks_runner.logs import Logs, SpooledLog
from nodeworks_runner.signals import Shutdown
from nodeworks_runner.slots import Slots
from nodeworks_runner.spool import Spool
from nodeworks_runner.workdirs import clean_workdir

log = logging.getLogger("nodeworks_runner")

RESULT_BATCH = 100
UPLOAD_TIMEOUT_S = 60.0  # at least: a large artifact takes a while


class Delivery:
    def __init__(self, config: RunnerConfig, client: Client, executors: Dict[str, Executor], spool: Spool,
                 slots: Slots, logs: Logs, shutdown: Shutdown):
        self.config = config
        self.client = client
        self.spool = spool
        self.slots = slots
        self.logs = logs
        self.shutdown = shutdown
        self.executors = executors
        self.backoff = Backoff(config.retry_max_s)
        self.lease_with_results = True  # off for good once the server refuses it

    def will_lease(self) -> bool:
        """Results wait to be reported, and the results call will lease the free slots."""
        return self.lease_with_results and bool(self.slots.reported) and self.backoff.failures == 0

    def deliver(self) -> None:
        if not self.backoff.ready():
            return
        batch = []
        for entry in self.spool.pending():
            try:
                ready = self.prepare(entry)
            except Unreachable as exc:
                log.warning("cannot deliver the result of lease %s yet (%s); retrying in %.1fs", entry["lease_id"],
                            exc, self.backoff.failed())
                return
            if ready:
                batch.append(entry)
        for start in range(0, len(batch), RESULT_BATCH):
            if not self.report(batch[start:start + RESULT_BATCH]):
                return

    # ------------------------------------------------------------ before the result: log tail, artifacts

    def prepare(self, entry: dict) -> bool:
        """Sends the log tail and uploads artifacts (recording progress in the spool). False: drop it."""
        lease = entry["lease_id"]
        tail = SpooledLog(entry)
        if tail.log_buffer and not self.logs.send(lease, tail):
            raise Unreachable("log upload failed")
        if entry["log"] != {"offset": tail.log_offset, "data": tail.log_buffer}:
            entry["log"] = {"offset": tail.log_offset, "data": tail.log_buffer}
            self.spool.save(entry)
        for artifact in entry["artifacts"]:
            if not artifact[2] and not self.upload(entry, artifact):
                return False
        fill_artifact_ids(entry)
        return True

    def upload(self, entry: dict, artifact: list) -> bool:
        """Uploads one ``[name, path, id]`` artifact and records its id. False: the lease is gone."""
        name, path, _ = artifact
        lease = entry["lease_id"]
        try:
            answer = self.client.upload("/api/v1/runners/artifacts", {"lease_id": lease, "name": name}, "file",
                                        path, name, content_type=mimetypes.guess_type(name)[0] or
                                        "application/octet-stream",
                                        timeout=max(UPLOAD_TIMEOUT_S, self.config.http_timeout_s))
        except Stale:
            log.warning("lease %s is not current any more: its result is dropped", lease)
            self.drop(lease)
            return False
        except (ClientError, OSError) as exc:
            # Too large, unreadable...: the task fails with the reason instead of losing its result.
            if entry["state"] == SUCCEEDED:
                entry["state"], entry["error"] = FAILED, "artifact %r could not be uploaded: %s" % (name, exc)
            else:
                entry["error"] = (entry.get("error") or "") + "\nartifact %r not uploaded: %s" % (name, exc)
            artifact[2] = "-"
            self.spool.save(entry)
            return True
        artifact[2] = str((answer or {}).get("id"))
        self.spool.save(entry)
        return True

    # ------------------------------------------------------------ the results call

    def report(self, entries: List[dict]) -> bool:
        """One results call for these entries; False when it must be tried again later."""
        body = {"results": [result_item(entry) for entry in entries]}
        if self.lease_with_results:  # fill the free slots in `next` (max_tasks 0 when draining: nothing new)
            body["lease"] = {"max_tasks": self.slots_to_lease(), "executors": sorted(self.executors)}
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
                        self.backoff.failed())
            return False
        except ClientError as exc:
            return self.refused(entries, exc, leased="lease" in body)
        self.backoff.succeeded()
        # The tasks handed back first: pending before the reported slots free up, so the long-poll never counts
        # them as free. Successors (chain affinity), then, with `lease`, other tasks for the free slots.
        for task in (answer or {}).get("next") or []:
            self.slots.accept(task)
        verdicts = {str(a.get("lease_id")): a for a in (answer or {}).get("results") or []}
        for entry in entries:
            verdict = verdicts.get(entry["lease_id"])
            if verdict is None:
                continue  # not answered: stays spooled, sent again
            if verdict.get("accepted"):
                log.info("result of task %s (%s) accepted%s", entry.get("task_id"), entry.get("state"),
                         " (duplicate)" if verdict.get("duplicate") else "")
                if entry.get("task_id") is not None:
                    self.slots.note_finished(int(entry["task_id"]))
            else:
                log.warning("result of lease %s refused: %s", entry["lease_id"], verdict.get("reason") or "")
            self.drop(entry["lease_id"])
        self.slots.generation += 1
        self.slots.freed.set()
        return True

    def refused(self, entries: List[dict], exc: ClientError, *, leased: bool) -> bool:
        """A 4xx for the whole call (not a 409)."""
        if exc.status in (401, 403, 426):
            self.shutdown.refused(exc)
            return False
        if exc.status == 400 and leased:
            # Never let the `lease` addition cost a result: resend without it, lease separately from now on.
            log.warning("results with `lease` refused (%s); resending without it", exc)
            self.lease_with_results = False
            return self.report(entries)
        # The server cannot take these as they are: report each as a plain failure instead.
        log.error("results refused (%s); reporting them as failed", exc)
        for entry in entries:
            if entry.get("rewritten"):
                self.drop(entry["lease_id"])
                continue
            entry.update(state=FAILED, outputs={}, error="the server refused the result: %s" % exc, rewritten=True)
            self.spool.save(entry)
        return False

    def slots_to_lease(self) -> int:
        """``max_tasks`` of the ``lease`` in a results call: the free slots, none when draining."""
        if self.shutdown.draining or self.shutdown.stopping_now:
            return 0
        return min(self.slots.free(), MAX_LEASE_TASKS)

    # ------------------------------------------------------------ leaving the spool

    def drop(self, lease_id: str) -> None:
        """The server has answered for this result (or never will): out of the spool, its slot freed."""
        entry = self.spool.get(lease_id)
        self.spool.remove(lease_id)
        run = self.slots.answered(lease_id)
        clean_workdir(self.config, (run.workdir if run else None) or (entry or {}).get("workdir"))

    def forget(self, lease_id: str) -> None:
        """The lease was lost before its result was delivered: the result has nowhere to go."""
        run = self.slots.reported.get(lease_id)
        if run is not None:
            log.warning("lost the lease of %s before its result was delivered", run.label)
            self.drop(lease_id)


def result_item(entry: dict) -> dict:
    item = {key: entry[key] for key in ("lease_id", "state", "outputs", "error")}
    for key in ("started", "finished"):
        if entry.get(key):
            item[key] = entry[key]
    return item


def fill_artifact_ids(entry: dict) -> None:
    """Each artifact placeholder in the outputs gets its uploaded id (or an error saying it was not)."""
    ids = {path: artifact_id for _, path, artifact_id in entry["artifacts"] if artifact_id and artifact_id != "-"}
    for placeholder in list(values.artifact_placeholders(entry["outputs"])):
        path = placeholder.pop("path")
        if path in ids:
            placeholder["id"] = ids[path]
        else:
            placeholder["id"] = None
            placeholder["error"] = "not uploaded"
