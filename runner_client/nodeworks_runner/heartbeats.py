"""Heartbeats: every lease this runner holds is extended, and the server's answer for each says
whether it is still ``ok``, ``cancel``led or ``lost``; the answer may also ask the runner to shut
down.

Heartbeats come every ``--heartbeat`` seconds, and at least three times per lease period (read from
the expiry the server gives with each task), so that a lease never expires while its task is alive.
"""

from __future__ import annotations

import logging
import time
from typing import List, Tuple

from nodeworks_runner.http import Backoff, Client, ClientError, Stale, Unreachable
from nodeworks_runner.signals import Shutdown
from nodeworks_runner.slots import Slots

log = logging.getLogger("nodeworks_runner")

SHORTEST_PERIOD_S = 0.2


class Heartbeats:
    def __init__(self, client: Client, slots: Slots, shutdown: Shutdown, *, period_s: float, retry_max_s: float):
        self.client = client
        self.slots = slots
        self.shutdown = shutdown
        self.period_s = float(period_s)
        self.backoff = Backoff(retry_max_s)
        self.next_at = 0.0
        self._answers: List[Tuple[str, str]] = []

    def period(self) -> float:
        if self.slots.shortest_lease_s:
            return min(self.period_s, max(SHORTEST_PERIOD_S, self.slots.shortest_lease_s / 3.0))
        return self.period_s

    def beat_now(self) -> None:
        """A task started: the server hears at once that it runs (leased -> running)."""
        self.next_at = 0.0

    def beat_if_due(self) -> None:
        now = time.monotonic()
        if now < self.next_at or not self.backoff.ready():
            return
        self.next_at = now + self.period()
        self.beat()

    def beat(self) -> None:
        leases, running = self.slots.held_leases()
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
                                      timeout=max(5.0, self.period() * 2))
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
        for lease, state in ((answer or {}).get("leases") or {}).items():
            if state in ("cancel", "lost"):
                self._answers.append((lease, state))
        if (answer or {}).get("shutdown"):
            self.shutdown.drain("the server asks this runner to shut down: finishing running tasks")

    def answers(self) -> List[Tuple[str, str]]:
        """``(lease id, "cancel" | "lost")`` answered since the last call, for the loop to act on."""
        answers, self._answers = self._answers, []
        return answers
