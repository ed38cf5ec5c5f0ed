"""Heartbeats: every lease this runner holds is extended, and the server's answer for each says
whether it is still ``ok``, ``cancel``led or ``lost``; the answer may also ask the runner to shut
down.

They run on their own thread with their own HTTP client, so that nothing the loop does (an artifact
upload or download, a slow results call, a log upload) can hold them back: a lease must never expire
because its runner was busy talking to the server about something else. The loop acts on the
answers (stopping a cancelled or lost task is the loop's job); a shutdown request drains at once.

Heartbeats come every ``--heartbeat`` seconds, and at least three times per lease period (read from
the expiry the server gives with each task), and ``ANNOUNCE_AFTER_S`` after a task starts, so the
server hears soon that it runs (leased -> running). A task that ends before that is not announced
at all: its result carries ``started`` and the server accepts results of leased tasks, so the
heartbeat would only have cost a call (for no-op tasks it cost the server more than the result).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import List, Optional, Set, Tuple

from nodeworks_runner.http import Backoff, Client, ClientError, Stale, Unreachable
from nodeworks_runner.signals import Shutdown
from nodeworks_runner.slots import Slots

log = logging.getLogger("nodeworks_runner")

SHORTEST_PERIOD_S = 0.2
SHORTEST_GAP_S = 0.02  # many tasks starting at once: one heartbeat names them all
ANNOUNCE_AFTER_S = 1.0  # a task still running this long after its start is announced (leased -> running)


class Heartbeats(threading.Thread):
    def __init__(self, client: Client, slots: Slots, shutdown: Shutdown, *, period_s: float, retry_max_s: float):
        super().__init__(name="nodeworks-heartbeats", daemon=True)
        self.client = client  # its own: never shared with the loop's calls
        self.slots = slots
        self.shutdown = shutdown
        self.period_s = float(period_s)
        self.backoff = Backoff(retry_max_s)
        self.idle = True  # no lease held at the last look
        self.asked = threading.Event()
        self.stopped = threading.Event()
        self.announce_at: Optional[float] = None  # a task started: say so then, if it still runs
        self.announced: Set[str] = set()  # running leases the server has heard about
        self._announce_lock = threading.Lock()
        self._answers: "queue.Queue[Tuple[str, str]]" = queue.Queue()

    def run(self) -> None:
        next_beat = 0.0
        while not self.stopped.is_set():
            now = time.monotonic()
            announce = self.announce_at
            if self.backoff.ready() and (now >= next_beat or (announce is not None and announce <= now)):
                with self._announce_lock:  # a task started just now keeps its own announcement
                    if self.announce_at == announce:
                        self.announce_at = None
                if now >= next_beat or self.unannounced():
                    self.beat()
                    next_beat = time.monotonic() + self.pause_s()
            wake_at = next_beat if self.announce_at is None else min(next_beat, self.announce_at)
            if not self.backoff.ready():
                wake_at = max(wake_at, self.backoff.next_at)
            self.asked.wait(max(SHORTEST_GAP_S, wake_at - time.monotonic()))
            self.asked.clear()

    def stop(self) -> None:
        self.stopped.set()
        self.asked.set()
        self.join(SHORTEST_PERIOD_S * 5)  # a heartbeat in flight may finish; one stuck is not waited for

    def period(self) -> float:
        if self.slots.shortest_lease_s:
            return min(self.period_s, max(SHORTEST_PERIOD_S, self.slots.shortest_lease_s / 3.0))
        return self.period_s

    def pause_s(self) -> float:
        if self.backoff.failures:
            return max(0.0, self.backoff.next_at - time.monotonic())
        if self.idle:  # the first lease is extended soon, even if its task waits to start (inputs, a full executor)
            return SHORTEST_PERIOD_S
        return self.period()

    def beat_now(self) -> None:
        """A task started: the server hears that it runs (leased -> running) if it still does in a moment."""
        with self._announce_lock:
            if self.announce_at is not None:
                return
            self.announce_at = time.monotonic() + ANNOUNCE_AFTER_S
        self.asked.set()

    def unannounced(self) -> bool:
        _, running = self.slots.held_leases()
        return any(lease not in self.announced for lease in running)

    def beat(self) -> None:
        self.idle = not self.slots.holds_any()
        # A lease younger than a period is named at the next beat, still well before it expires
        # (a period is at most a third of a lease): at most two periods old by then.
        leases, running = self.slots.held_leases(older_than_s=self.period())
        if not leases:
            return
        info = {}
        for lease, run in running.items():
            try:
                info[lease] = run.handle.info() if run.handle else {}
            except Exception:
                info[lease] = {}
        try:
            answer = self.client.post("/api/v1/runners/heartbeat", {"lease_ids": leases, "running": info},
                                      timeout=max(5.0, self.period() * 2), resend_safe=True)  # extends, twice too
        except Stale as exc:  # every lease named is stale
            answer = exc.body or {"leases": {lease: "lost" for lease in leases}}
        except Unreachable as exc:
            log.warning("heartbeat failed (%s); retrying in %.1fs", exc, self.backoff.failed())
            return
        except ClientError as exc:
            if exc.status in (401, 403, 426):
                self.shutdown.refused(exc)
            else:
                log.error("heartbeat refused: %s", exc)
            return
        self.backoff.succeeded()
        self.announced = set(info)
        for lease, state in ((answer or {}).get("leases") or {}).items():
            if state in ("cancel", "lost"):
                self._answers.put((lease, state))
        if (answer or {}).get("shutdown"):
            self.shutdown.drain("the server asks this runner to shut down: finishing running tasks")

    def answers(self) -> List[Tuple[str, str]]:
        """``(lease id, "cancel" | "lost")`` answered since the last call, for the loop to act on."""
        answers = []
        while True:
            try:
                answers.append(self._answers.get_nowait())
            except queue.Empty:
                return answers
