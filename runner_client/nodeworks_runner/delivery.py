"""Delivering spooled results: each result's log tail and artifacts first, then the results in
batches, leasing the freed slots in the same call.

Leasing inside results: a ``results`` call carries ``lease: {max_tasks, executors}`` with the
slots free once those results are in (0 while draining), and the server fills them in ``next``,
successors first (chain affinity: a chain's data stays on this host). A runner that keeps its
slots full so makes one call per batch. A server that ignores the key hands back successors only
and the long-poll leases the rest; a server that refuses the key itself (a 400 naming ``lease``)
gets the batch again without it, and is asked again only after a while.

A result leaves the spool only once the server has answered for it (accepted, or refused for good);
an unreachable server is retried with back-off. One result never blocks the others: a batch is
capped by count and by bytes, and a batch the server refuses as a whole (400, 413, 500) is split in
halves until the result(s) it refuses are found; the rest is delivered. A result refused on its
own is reported again as a plain failure naming the reason, and dropped (logged loudly) if even
that is refused: never resent for ever. A 500 counts against one result only while the server
otherwise answers (a heartbeat or another call got through since), so an outage costs nothing.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import time
from typing import Callable, Dict, Iterator, List

from nodeworks_runner import values
from nodeworks_runner.config import RunnerConfig
from nodeworks_runner.executors.base import FAILED, SUCCEEDED, Executor
from nodeworks_runner.http import Backoff, Client, ClientError, HttpError, Stale, Unreachable, backoff_delay
from nodeworks_runner.leasing import MAX_LEASE_TASKS
from nodeworks_runner.logs import Logs, SpooledLog
from nodeworks_runner.signals import Shutdown
from nodeworks_runner.slots import Slots
from nodeworks_runner.spool import Spool
from nodeworks_runner.workdirs import clean_workdir

log = logging.getLogger("nodeworks_runner")

RESULT_BATCH = 500
UPLOAD_TIMEOUT_S = 60.0  # at least: a large artifact takes a while
TRIES_OF_A_RESULT = 5  # 500s for one result alone (while the server otherwise works) before it is given up
LEASE_REPROBE_S = 300.0  # after a 400 about `lease`, results carry it again after this long
REFUSED_STATUSES = (400, 413, 422)  # the server cannot take what was sent (anything else keeps it spooled)
SERVER_ERROR = 500  # an error of the server on what it was sent (an outage is 502-504, 429 or no answer)


class Delivery:
    def __init__(self, config: RunnerConfig, client: Client, executors: Dict[str, Executor], spool: Spool,
                 slots: Slots, logs: Logs, shutdown: Shutdown, *, server_ok_at: Callable[[], float]):
        self.config = config
        self.client = client
        self.spool = spool
        self.slots = slots
        self.logs = logs
        self.shutdown = shutdown
        self.executors = executors
        self.backoff = Backoff(config.retry_max_s)
        self.lease_with_results = True  # off for a while when the server refuses the `lease` key
        self.lease_reprobe_at = 0.0
        self.server_ok_at = server_ok_at  # when the server last answered any call of this runner
        self.held_back: Dict[str, float] = {}  # lease id -> not before (a result the server erred on alone)
        self.last_try: Dict[str, float] = {}  # lease id -> when its last 500 alone was counted
        # Told of each result answered for (accepted or not): chain links may wait for that (tasks.py).
        self.on_answered: Callable[[dict, bool], None] = lambda entry, accepted: None

    def will_lease(self) -> bool:
        """Results wait to be reported, and the results call will lease the free slots."""
        return self.lease_with_results and bool(self.slots.reported) and self.backoff.failures == 0

    def deliver(self) -> None:
        if not self.backoff.ready():
            return
        now = time.monotonic()
        ready = []
        for entry in self.spool.pending():
            if self.held_back.get(entry["lease_id"], 0.0) > now:
                continue
            try:
                prepared = self.prepare(entry)
            except Unreachable as exc:
                log.warning("cannot deliver the result of lease %s yet (%s); retrying in %.1fs", entry["lease_id"],
                            exc, self.backoff.failed())
                return
            if prepared:
                ready.append(entry)
        for batch in self.batches(ready):
            if not self.report(batch):
                return

    def batches(self, entries: List[dict]) -> Iterator[List[dict]]:
        """At most RESULT_BATCH results and ``results_max_bytes`` per call (a larger result goes alone)."""
        batch: List[dict] = []
        size = 0
        for entry in entries:
            try:
                item_size = len(json.dumps(result_item(entry), allow_nan=False).encode("utf-8")) + 1
            except (TypeError, ValueError) as exc:
                self.give_up(entry, "the result is not valid JSON (%s)" % exc)
                continue
            if batch and (len(batch) >= RESULT_BATCH or size + item_size > self.config.results_max_bytes):
                yield batch
                batch, size = [], 0
            batch.append(entry)
            size += item_size
        if batch:
            yield batch

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

    def report(self, entries: List[dict], *, lease: bool = True) -> bool:
        """One results call for these entries; False when delivery must wait (the server is unreachable)."""
        body = {"results": [result_item(entry) for entry in entries]}
        if not self.lease_with_results and time.monotonic() >= self.lease_reprobe_at:
            self.lease_with_results = True  # the server may have been upgraded (or the 400 was a fluke)
        if lease and self.lease_with_results:  # fill the free slots in `next` (max_tasks 0 when draining: nothing new)
            body["lease"] = {"max_tasks": self.slots_to_lease(), "executors": sorted(self.executors)}
            if self.config.segment_max > 0 and body["lease"]["max_tasks"] > 0:
                body["lease"]["segment_max"] = int(self.config.segment_max)
        try:
            answer = self.client.post("/api/v1/runners/results", body)
        except Stale as exc:
            answer = exc.body or {"results": [{"lease_id": e["lease_id"], "accepted": False,
                                               "reason": "409"} for e in entries]}
            for entry in entries:
                log.warning("result of lease %s%s refused with 409 (the lease is not current)", entry["lease_id"],
                            " (late, from before a restart)" if entry.get("late") else "")
        except Unreachable as exc:
            if exc.status == SERVER_ERROR and self.server_works_since(entries):
                return self.refused(entries, exc)
            log.warning("reporting %d result(s) failed (%s); retrying in %.1fs", len(entries), exc,
                        self.backoff.failed())
            return False
        except ClientError as exc:
            if exc.status in (401, 403, 426):
                self.shutdown.refused(exc)
                return False
            if exc.status == 400 and "lease" in body and about_lease(exc.body):
                # Never let the `lease` addition cost a result: resend without it, lease separately for a while.
                log.warning("results with `lease` refused (%s); resending without it, leasing separately for %ds",
                            exc, LEASE_REPROBE_S)
                self.lease_with_results = False
                self.lease_reprobe_at = time.monotonic() + LEASE_REPROBE_S
                return self.report(entries, lease=False)
            if exc.status in REFUSED_STATUSES:
                return self.refused(entries, exc)
            # Not about what was sent (a wrong URL, a proxy's answer...): keep everything, try again later.
            log.error("reporting %d result(s) failed (%s); retrying in %.1fs", len(entries), exc, self.backoff.failed())
            return False
        self.backoff.succeeded()
        self.answered(entries, answer)
        return True

    def answered(self, entries: List[dict], answer) -> None:
        # The tasks handed back first: pending before the reported slots free up, so the long-poll never counts
        # them as free. Successors (chain affinity), then, with `lease`, other tasks for the free slots.
        handed = (answer or {}).get("next") or []
        for task in handed:
            self.slots.accept(task)
        if handed:
            self.shutdown.wake_loop.set()  # start them now, not at the loop's next tick
        verdicts = {str(a.get("lease_id")): a for a in (answer or {}).get("results") or []}
        for entry in entries:
            verdict = verdicts.get(entry["lease_id"])
            if verdict is None:
                continue  # not answered: stays spooled, sent again
            if verdict.get("accepted"):
                self.slots.tally[str(entry.get("state"))] += 1
                log.debug("result of task %s (%s) accepted%s", entry.get("task_id"), entry.get("state"),
                          " (duplicate)" if verdict.get("duplicate") else "")
                if entry.get("task_id") is not None:
                    self.slots.note_finished(int(entry["task_id"]))
            elif is_stale(verdict):
                log.warning("result of lease %s refused: %s", entry["lease_id"], verdict.get("reason") or "")
            else:  # refused for what it holds: sending it again would be refused again
                log.error("result of lease %s (task %s) REFUSED by the server and dropped: %s", entry["lease_id"],
                          entry.get("task_id"), verdict.get("reason") or verdict.get("error") or verdict)
            self.drop(entry["lease_id"])
            self.on_answered(entry, bool(verdict.get("accepted")))
        self.slots.generation += 1
        self.slots.freed.set()

    def refused(self, entries: List[dict], exc: HttpError) -> bool:
        """The server refused the whole call (400, 413, 500...): halves until the refused result(s) are found."""
        if len(entries) > 1:
            half = len(entries) // 2
            log.warning("a batch of %d results was refused (%s); splitting it so that the others get through",
                        len(entries), exc)
            return self.report(entries[:half]) and self.report(entries[half:])
        entry = entries[0]
        lease = entry["lease_id"]
        if exc.status != SERVER_ERROR:  # a 4xx for this result alone: it would be refused as it is every time
            self.give_up(entry, "HTTP %d: %s" % (exc.status, exc))
            return True
        entry["tries"] = int(entry.get("tries") or 0) + 1
        self.last_try[lease] = time.monotonic()
        if entry["tries"] >= TRIES_OF_A_RESULT:
            self.give_up(entry, "HTTP 500 on this result alone, %d times: %s" % (entry["tries"], exc))
            return True
        self.spool.save(entry)
        delay = backoff_delay(entry["tries"], self.config.retry_max_s)
        self.held_back[lease] = time.monotonic() + delay
        log.error("the server failed (500) on the result of lease %s (task %s) alone (try %d of %d): %s; the "
                  "others go on, this one is tried again in %.1fs", lease, entry.get("task_id"), entry["tries"],
                  TRIES_OF_A_RESULT, exc, delay)
        return True

    def give_up(self, entry: dict, why: str) -> None:
        """A result the server refuses on its own: reported as a plain failure instead, or dropped if that was it."""
        lease = entry["lease_id"]
        self.held_back.pop(lease, None)
        self.last_try.pop(lease, None)
        if entry.get("rewritten"):
            log.error("the result of lease %s (task %s) is DROPPED: the server refused even the plain failure "
                      "reported instead (%s). Its task stays leased until the lease expires.", lease,
                      entry.get("task_id"), why)
            self.drop(lease)
            return
        log.error("the result of lease %s (task %s, %s) is REFUSED by the server (%s); reporting the task failed "
                  "instead", lease, entry.get("task_id"), entry.get("state"), why)
        entry.update(state=FAILED, outputs={}, rewritten=True, tries=0,
                     error=printable("runner %r could not deliver this task's result (it was %s): the server refused "
                                     "it: %s" % (self.config.name, entry.get("state"), why)))
        self.spool.save(entry)

    def server_works_since(self, entries: List[dict]) -> bool:
        """Whether the server answered some call since these results were last tried: a 500 is then about them."""
        last = max([self.last_try.get(entry["lease_id"], 0.0) for entry in entries])
        return self.server_ok_at() > last

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
        self.held_back.pop(lease_id, None)
        self.last_try.pop(lease_id, None)
        run = self.slots.answered(lease_id)
        clean_workdir(self.config, (run.workdir if run else None) or (entry or {}).get("workdir"))

    def forget(self, lease_id: str) -> None:
        """The lease was lost before its result was delivered: the result has nowhere to go."""
        run = self.slots.reported.get(lease_id)
        if run is not None:
            log.warning("lost the lease of %s before its result was delivered", run.label)
            self.drop(lease_id)


def about_lease(body) -> bool:
    """A 400 about the `lease` key of a results call rather than about the results it carries."""
    if not isinstance(body, dict):
        return "lease" in str(body or "")
    keys = [str(key) for key in body]
    return not any(key.startswith("results") for key in keys) and (
        any(key == "lease" or key.startswith(("lease.", "lease[")) for key in keys)
        or "lease" in json.dumps(body) or bool(set(keys) & {"max_tasks", "executors"}))


def is_stale(verdict: dict) -> bool:
    """A per-result refusal because the lease is not current (any other reason is about the result)."""
    reason = str(verdict.get("reason") or verdict.get("error") or "").lower()
    return reason == "409" or any(word in reason for word in ("not current", "stale", "expired", "task is ",
                                                              "upstream task"))


def printable(text: str, limit: int = 2000) -> str:
    """Text any server can store: no NUL or other control characters but newlines and tabs, bounded."""
    return "".join(ch if ch >= " " or ch in "\n\t" else "?" for ch in text)[:limit]


def result_item(entry: dict) -> dict:
    item = {key: entry[key] for key in ("lease_id", "state", "outputs", "error")}
    for key in ("started", "finished", "after"):
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
