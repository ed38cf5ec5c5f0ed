"""The long-poll ``lease`` call, on its own thread so that a call waiting for work never delays
the loop.

It leases the free slots that no results call is about to lease (a results call carries
``lease: {max_tasks, executors}`` and the server fills the freed slots in its answer), so it waits
for work only when the queue had less than the slots, while delivery is failing, or when the server
does not lease inside results. Nothing is leased while draining.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, List

from nodeworks_runner.http import Backoff, Client, ClientError, Stale, Unreachable
from nodeworks_runner.signals import Shutdown
from nodeworks_runner.slots import Slots

log = logging.getLogger("nodeworks_runner")

MAX_LEASE_TASKS = 1000  # the protocol's cap on max_tasks (the server may cap lower)
LONGEST_WAIT_S = 30.0  # the server caps a long-poll at this


class Leaser(threading.Thread):
    def __init__(self, client: Client, slots: Slots, shutdown: Shutdown, *, executors: List[str], wait_s: float,
                 retry_max_s: float, results_will_lease: Callable[[], bool]):
        super().__init__(name="nodeworks-leaser", daemon=True)
        self.client = client
        self.slots = slots
        self.shutdown = shutdown
        self.executors = executors
        self.wait_s = max(0.0, min(LONGEST_WAIT_S, float(wait_s)))  # 0 for --once: take what is queued now
        self.results_will_lease = results_will_lease
        self.backoff = Backoff(retry_max_s)
        self.stopped = threading.Event()
        self.in_flight = False
        self.last_empty_generation = -1  # for --once: a lease that found nothing, started at this generation

    def stop(self) -> None:
        self.stopped.set()
        self.slots.freed.set()

    def run(self) -> None:
        while not self.stopped.is_set():
            free = self.reserve() if self.backoff.ready() else 0
            if free <= 0:
                self.pause(0.2 if self.slots.free() > 0 else 1.0)
                continue
            generation = self.slots.generation
            answer = self.lease(free)
            if self.stopped.is_set() or answer is None:
                continue
            if answer.get("shutdown"):
                # An idle runner holds no lease, so no heartbeat answer would ever tell it.
                self.shutdown.drain("the server asks this runner to shut down")
            if answer.get("tasks"):
                self.shutdown.wake_loop.set()
                continue
            self.last_empty_generation = generation
            # retry_after_s: the server had no thread left to wait in and answered at once.
            self.pause(retry_after_s(answer) or (0.5 if self.wait_s < 1.0 else 0.0))  # --once: pace it

    def reserve(self) -> int:
        """Slots held for this call until its answer is queued (none while draining or results are due)."""
        with self.slots.lock:
            if self.shutdown.draining or self.results_will_lease():
                return 0
            return self.slots.reserve_for_lease(MAX_LEASE_TASKS)

    def lease(self, free: int):
        """One lease call; its tasks are queued for the loop. Its answer, or None when it failed."""
        body = {
            "max_tasks": free,
            "wait_s": self.wait_s,
            "executors": self.executors,
            "last_finished": self.slots.take_last_finished(),
        }
        self.in_flight = True
        tasks: List[dict] = []
        try:
            answer = self.client.post("/api/v1/runners/lease", body, timeout=self.wait_s + 30)
            tasks = list((answer or {}).get("tasks") or [])
        except Unreachable as exc:
            self.slots.restore_last_finished(body["last_finished"])
            log.warning("lease failed (%s); retrying in %.1fs", exc, self.backoff.failed())
            return None
        except ClientError as exc:
            self.shutdown.refused(exc)
            self.stopped.set()
            return None
        except Stale as exc:  # not expected for lease
            log.warning("lease answered 409: %s", exc)
            self.backoff.failed()
            return None
        finally:
            self.slots.lease_answered(tasks)  # queued for the loop; the reservation ends
            self.in_flight = False
        self.backoff.succeeded()
        return answer if isinstance(answer, dict) else {}

    def pause(self, seconds: float) -> None:
        if seconds:
            self.slots.freed.wait(seconds)
            self.slots.freed.clear()


def retry_after_s(answer) -> float:
    """The `retry_after_s` of a lease answer (bounded to a minute), 0 when absent or not a number."""
    try:
        return max(0.0, min(60.0, float((answer or {}).get("retry_after_s") or 0)))
    except (TypeError, ValueError, AttributeError):
        return 0.0
