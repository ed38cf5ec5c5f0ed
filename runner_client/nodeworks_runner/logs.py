"""Task logs to the server: the running tasks' new lines every ``--log-interval``, and a finished
task's tail (kept in its spool entry) before its result.

The server stores a log by byte offset, so a chunk sent twice (an answer lost on the way) is stored
once.
"""

from __future__ import annotations

import logging
import time
from typing import Iterable

from nodeworks_runner.http import Client, ClientError, Stale, Unreachable
from nodeworks_runner.slots import TaskRun

log = logging.getLogger("nodeworks_runner")

LOG_CHUNK_CHARS = 1024 * 1024


class SpooledLog:
    """The log not yet sent for a spooled result, in the shape :meth:`Logs.send` works on."""

    def __init__(self, entry: dict):
        self.log_offset = int((entry.get("log") or {}).get("offset") or 0)
        self.log_buffer = str((entry.get("log") or {}).get("data") or "")


class Logs:
    def __init__(self, client: Client, interval_s: float):
        self.client = client
        self.interval_s = float(interval_s)
        self.next_flush = 0.0

    def stream_if_due(self, running: Iterable[TaskRun]) -> None:
        now = time.monotonic()
        if now < self.next_flush:
            return
        self.next_flush = now + self.interval_s
        for run in list(running):
            if run.stop_reason == "lost":
                continue
            run.log_buffer += run.handle.read_log()
            if run.log_buffer:
                self.send(run.lease_id, run)

    def send(self, lease_id: str, holder) -> bool:
        """Sends ``holder.log_buffer`` from ``holder.log_offset``; True when all of it is stored (or has
        nowhere to go)."""
        while holder.log_buffer:
            chunk = holder.log_buffer[:LOG_CHUNK_CHARS]
            try:
                answer = self.client.post("/api/v1/runners/logs",
                                          {"lease_id": lease_id, "offset": holder.log_offset, "data": chunk},
                                          resend_safe=True)  # idempotent by offset
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
